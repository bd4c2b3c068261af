"""The CLI's argparse pieces: a parser whose usage errors are one line (exit 2), deferred
command arguments, a help formatter that shows defaults, and the flag value types.

Kept apart from ``cli`` (the commands) so each stays small; nothing here imports more than
``argparse``, ``functools`` (which ``re`` loads anyway) and ``os`` at start-up.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys

from . import __version__
from .durations import parse_duration

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, Callable, NoReturn, Sequence

PROG = "pulumi-migrations"


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr and exit code 2.

    A command's parser blames an unknown option first: in ``apply --formt json`` argparse would
    otherwise complain that ``json`` is not an AMOUNT.
    """

    command = False          # a subcommand's parser (the root's arguments are not checked)
    argv: list[str] = []     # what the last parse_known_args call was given
    # A command's add_argument calls, deferred until the command is parsed or its help shown:
    # only one of the six is ever needed, and argparse's add_argument is not free.
    deferred: Callable[[Parser], None] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A value such as "-1s" is a (negative) value, not an unknown option: argparse's own
        # test takes only "-1" and "-.5", and said "--lock-timeout: expected one argument".
        import re

        self._negative_number_matcher = re.compile(r"^-\.?\d")

    def ready(self) -> None:
        """Add the deferred arguments (``-h/--help`` first), once."""
        add, self.deferred = self.deferred, None
        if add is not None:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                              help="show this help message and exit")
            add(self)

    def parse_known_args(  # type: ignore[override]
            self, args: Sequence[str] | None = None,
            namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        """Remember ``args`` (for ``error``), then parse them as argparse does."""
        self.ready()
        self.argv = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(self.argv, namespace)

    def format_usage(self) -> str:
        """The usage line (with the deferred arguments)."""
        self.ready()
        return super().format_usage()

    def format_help(self) -> str:
        """The help text (with the deferred arguments)."""
        self.ready()
        return super().format_help()

    def error(self, message: str) -> NoReturn:
        """Print ``error: <message>; see '<prog> --help'`` and exit 2 (no usage block)."""
        if self.command:
            message = self.unknown_option(self.argv) or message
        line = " ".join(message.split())
        sys.stderr.write(f"error: {line}; see '{self.prog} --help'\n")
        raise SystemExit(2)

    def unknown_option(self, args: Sequence[str]) -> str | None:
        """``no such option: --x`` for the first option in ``args`` this parser does not
        know (``--`` ends the options; ``-1`` is a value), else None."""
        for arg in args:
            if arg == "--":
                break
            if arg.startswith("--"):
                name = arg.split("=", 1)[0]
            elif arg.startswith("-") and len(arg) > 1 and not arg[1].isdigit() and arg[1] != ".":
                name = arg[:2] if self.knows(arg[:2]) else arg.split("=", 1)[0]  # -uURL, -x
            else:
                continue
            if not self.knows(name):
                return self.no_such_option(name)
        return None

    def knows(self, option: str) -> bool:
        """Whether ``option`` (``--dir``, ``-u``) is one of this parser's option strings."""
        return option in self._option_string_actions

    def no_such_option(self, name: str) -> str:
        """The message for an unknown option ``name``, with the closest known one if any."""
        import difflib

        known = [s for s in self._option_string_actions if s.startswith("--")]
        close = difflib.get_close_matches(name, known, n=1)
        return f"no such option: {name}" + (f" (did you mean {close[0]}?)" if close else "")


@functools.cache
def columns() -> int:
    """The terminal width as ``shutil.get_terminal_size`` finds it (``COLUMNS``, else stdout's
    terminal, else 80), without importing shutil: argparse builds a formatter for every
    ``add_argument`` and the default one imports shutil (+2 ms on every start). Computed once
    per process (``columns.cache_clear()`` forgets it)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    stdout = sys.__stdout__
    if columns <= 0 and stdout is not None:
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns
        except (ValueError, OSError):
            columns = 0
    return columns or 80


class Formatter(argparse.HelpFormatter):
    """Help with aligned columns that shows a flag's default when it has a meaningful one."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=columns() - 2)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        default = action.default
        if (text is not None and action.option_strings and "%(default)" not in text
                and default not in (None, False, "", argparse.SUPPRESS)):
            text += " [default: %(default)s]"
        return text

    def _format_action(self, action: argparse.Action) -> str:
        if isinstance(action, argparse._SubParsersAction):
            # The command list: one line per command, without the bare "COMMAND" header line
            # and at the indent argparse measured them with (else "manifests" wraps).
            return "".join(self._format_action(sub) for sub in action._get_subactions())
        return super()._format_action(action)


class VersionAction(argparse.Action):
    """``--version``: print ``pulumi-migrations <version>`` and exit 0 as soon as it is seen."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                         nargs=0, help=kwargs.get("help"))

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        sys.stdout.write(f"{PROG} {__version__}\n")
        raise SystemExit(0)


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting integers ``>= minimum``."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= {minimum}")
        return value

    return convert


def duration(text: str) -> float:
    """An argparse ``type`` for ``--lock-timeout``: a Go duration or seconds."""
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def label(text: str) -> tuple[str, str]:
    """An argparse ``type`` for ``--label``: ``k=v`` with a non-empty key."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not k=v")
    return key, value
