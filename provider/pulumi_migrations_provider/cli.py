"""The ``pulumi-migrations`` command line: Atlas's ``migrate`` commands over the engine.

Commands: ``hash``, ``validate``, ``status``, ``apply``, ``new``, ``manifests``. Each one only
translates flags into engine calls and results into output::

    pulumi-migrations apply --dir file://migrations --url sqlite://app.db
    pulumi-migrations status --url "$DATABASE_URL" --format json

Exit codes: 0 success (also "No migration files to execute"), 1 a ``MigrateError`` (printed as
one ``error: <message>`` line on stderr), 2 a usage error (one line ``error: <what is wrong>;
see 'pulumi-migrations <command> --help'``; no arguments at all print the help, also exit 2).
Every byte the CLI prints on stderr, and the commands' reports on stdout, pass a scrubber that
masks the password of any URL it was given (arguments, ``DATABASE_URL``); the manifests YAML
is the one exception (it carries the ``--url`` it was asked to embed).

Start-up is kept cheap: the parser is the standard library's ``argparse``; Rich, the engine
(SQLAlchemy), the statement scanner and the Kubernetes renderer are imported inside the
commands that need them, never at module level.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import __version__
from .cliout import (_SECRETS, _ApplyPrinter, _print_error, _print_status, _remember_secret,
                     _remember_urls_in, _Scrubbed, _stdout, parse_duration)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Callable, NoReturn, Sequence

    from .errors import MigrateError
    from .migdir import MigrationDir
    from .target import Target

PROG = "pulumi-migrations"
_ERROR_FIELDS = ("file", "version", "index", "line", "col", "statement", "db_error", "reason")
_EXEC_ORDERS = ("linear", "linear-skip", "non-linear")  # reports.EXEC_ORDERS (not imported: cost)
_TX_MODES = ("file", "all", "none")
_FORMATS = ("text", "json")
_LEX_DIALECT = {"sqlite": "sqlite", "postgres": "postgresql", "mysql": "mysql"}


# --- the parser -----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr and exit code 2.

    A command's parser blames an unknown option first: in ``apply --formt json`` argparse would
    otherwise complain that ``json`` is not an AMOUNT.
    """

    command = False          # a subcommand's parser (the root's arguments are not checked)
    argv: list[str] = []     # what the last parse_known_args call was given
    # A command's add_argument calls, deferred until the command is parsed or its help shown:
    # only one of the six is ever needed, and argparse's add_argument is not free.
    deferred: Callable[[_Parser], None] | None = None

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
            message = self.unknown_option() or message
        line = " ".join(message.split())
        sys.stderr.write(f"error: {line}; see '{self.prog} --help'\n")
        raise SystemExit(2)

    def unknown_option(self) -> str | None:
        """``no such option: --x`` for the first option in ``argv`` this parser does not
        know (``--`` ends the options; ``-1`` is a value), else None."""
        for arg in self.argv:
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


def _columns() -> int:
    """The terminal width as ``shutil.get_terminal_size`` finds it (``COLUMNS``, else stdout's
    terminal, else 80), without importing shutil: argparse builds a formatter for every
    ``add_argument`` and the default one imports shutil (+2 ms on every start)."""
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


class _Formatter(argparse.HelpFormatter):
    """Help with aligned columns that shows a flag's default when it has a meaningful one."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=_columns() - 2)

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


class _Version(argparse.Action):
    """``--version``: print ``pulumi-migrations <version>`` and exit 0 as soon as it is seen."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                         nargs=0, help=kwargs.get("help"))

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        sys.stdout.write(f"{PROG} {__version__}\n")
        raise SystemExit(0)


def _int_at_least(minimum: int) -> Callable[[str], int]:
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


def _duration(text: str) -> float:
    """An argparse ``type`` for ``--lock-timeout``: a Go duration or seconds."""
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _label(text: str) -> tuple[str, str]:
    """An argparse ``type`` for ``--label``: ``k=v`` with a non-empty key."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not k=v")
    return key, value


def _add_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", dest="directory", metavar="DIR", default="file://migrations",
                   help="Migration directory: a path or file:// URL.")


def _add_url(p: argparse.ArgumentParser) -> None:
    p.add_argument("-u", "--url", metavar="URL",
                   help="Database URL (sqlite://, postgres://, mysql://, maria://); password "
                        "percent-encoded. [env var: DATABASE_URL; required]")


def _add_revisions_schema(p: argparse.ArgumentParser) -> None:
    p.add_argument("--revisions-schema", metavar="SCHEMA",
                   help="Schema (database) of the atlas_schema_revisions table.")


def _add_exec_order(p: argparse.ArgumentParser) -> None:
    p.add_argument("--exec-order", choices=_EXEC_ORDERS, default="linear",
                   help="How to treat files added before the last applied version.")


def _add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", dest="output", choices=_FORMATS, default="text",
                   help="Output format.")


def _hash_arguments(p: argparse.ArgumentParser) -> None:
    _add_dir(p)


def _validate_arguments(p: argparse.ArgumentParser) -> None:
    _add_dir(p)
    p.add_argument("--dialect", choices=tuple(_LEX_DIALECT),
                   help="Statement-splitting rules to check the files with; default: the "
                        "--url's (or DATABASE_URL's) dialect, else sqlite.")
    p.add_argument("-u", "--url", metavar="URL",
                   help="Only used to pick the splitting rules; nothing connects. "
                        "[env var: DATABASE_URL]")


def _status_arguments(p: argparse.ArgumentParser) -> None:
    _add_url(p)
    _add_dir(p)
    _add_revisions_schema(p)
    _add_exec_order(p)
    _add_format(p)


def _apply_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("amount", metavar="AMOUNT", nargs="?", type=_int_at_least(1),
                   help="Apply at most this many pending files.")
    _add_url(p)
    _add_dir(p)
    _add_revisions_schema(p)
    p.add_argument("--baseline", metavar="VERSION",
                   help="On a non-empty database, treat this version as already applied.")
    p.add_argument("--allow-dirty", action="store_true",
                   help="Allow the first run on a database that already holds tables.")
    _add_exec_order(p)
    p.add_argument("--tx-mode", choices=_TX_MODES, default="file",
                   help="One transaction per file, for all files, or none.")
    p.add_argument("--to-version", metavar="VERSION",
                   help="Apply pending files up to and including this version.")
    p.add_argument("--dry-run", action="store_true",
                   help="Print the statements that would run; write nothing.")
    p.add_argument("--lock-timeout", metavar="DURATION", type=_duration, default="10s",
                   help="How long to wait for the migration lock (10s, 500ms, 1m, 2.5).")
    p.add_argument("--allow-changed", action="store_true",
                   help="Proceed although an applied file changed since it ran.")
    _add_format(p)


def _new_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", nargs="?", default="",
                   help="Name part of the file: <version>_<name>.sql.")
    _add_dir(p)


def _manifests_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", required=True,
                   help="Name of the AtlasMigration and ConfigMap. [required]")
    _add_dir(p)
    p.add_argument("-n", "--namespace", help="Namespace of every object.")
    p.add_argument("--url", metavar="URL",
                   help="Database URL written into a Secret (prefer --url-secret).")
    p.add_argument("--url-secret", metavar="SECRET",
                   help="Existing Secret holding the database URL.")
    p.add_argument("--url-secret-key", metavar="KEY", default="url",
                   help="Key of the URL in that Secret.")
    p.add_argument("--inline", action="store_true",
                   help="Embed the files in the AtlasMigration instead of a ConfigMap.")
    p.add_argument("-l", "--label", metavar="K=V", action="append", type=_label,
                   help="Label k=v for every object (repeatable).")
    p.add_argument("--baseline", metavar="VERSION",
                   help="spec.baseline: on a non-empty database, the operator treats this version "
                        "as already applied.")
    p.add_argument("--exec-order", choices=_EXEC_ORDERS,
                   help="spec.execOrder; omitted: the operator's default (linear).")
    _add_revisions_schema(p)
    p.add_argument("--backoff-limit", metavar="N", type=_int_at_least(0),
                   help="spec.backoffLimit: how many times the operator retries a failed run.")
    p.add_argument("--allow-down", action="store_true",
                   help="Let the operator migrate down when the directory shrinks "
                        "(protectedFlows.migrateDown allow + autoApprove; the operator needs "
                        "both for a ConfigMap or inline directory).")


def build_parser() -> _Parser:
    """The ``pulumi-migrations`` parser: six subcommands, each with its flags.

    The parsed namespace carries ``handler`` (the command's function) and ``command_parser``
    (for usage errors found after parsing).
    """
    root = _Parser(
        prog=PROG, formatter_class=_Formatter, allow_abbrev=False,
        description="Atlas-format versioned SQL migrations: hash, validate, status, apply, "
                    "new, manifests.",
        epilog="Exit codes: 0 success, 1 an error (one 'error:' line on stderr), "
               "2 a usage error. Run 'pulumi-migrations COMMAND --help' for a command's flags.")
    root.add_argument("--version", action=_Version, help="Print the version and exit.")
    sub = root.add_subparsers(title="commands", metavar="COMMAND", dest="command", required=True,
                              prog=PROG)
    for name, handler, arguments, summary, details in _COMMANDS:
        p: _Parser = sub.add_parser(
            name, prog=f"{PROG} {name}", help=summary, description=summary + details,
            formatter_class=_Formatter, allow_abbrev=False, add_help=False)
        p.command = True
        p.deferred = arguments
        p.set_defaults(handler=handler, command_parser=p)
    return root


# --- helpers --------------------------------------------------------------------------------


def _usage(ns: argparse.Namespace, message: str) -> NoReturn:
    """A usage error found after parsing (conflicting flags): one line, exit 2."""
    parser: argparse.ArgumentParser = ns.command_parser
    parser.error(message)


def _required_url(ns: argparse.Namespace) -> str:
    """``--url``, else a non-empty ``DATABASE_URL``; with neither, a usage error."""
    url = ns.url if ns.url is not None else os.environ.get("DATABASE_URL") or None
    if url is None:
        _usage(ns, "missing option --url/-u (or the DATABASE_URL environment variable)")
    return url


def _target(url: str) -> Target:
    """Parse ``url`` and remember its password for the scrubber. Raises ConfigError."""
    from .target import Target

    _remember_urls_in(url)
    target = Target.parse(url)
    _remember_secret(target.password)
    return target


def _load(directory: str, *, unique_versions: bool = True) -> MigrationDir:
    from .migdir import MigrationDir

    return MigrationDir.load(directory, unique_versions=unique_versions)


def _dump_json(data: Any) -> None:
    import json

    _stdout().write(json.dumps(data, indent=2, default=str) + "\n")


def _fail(err: MigrateError, *, json_output: bool) -> None:
    """Print ``error: <message>`` on stderr; with ``json_output`` also a JSON object on stdout
    (``error``, ``type`` and the error's fields), so a CI job parsing ``--format json`` gets
    JSON on failure too."""
    _print_error(str(err))
    if json_output:
        data = {"error": str(err), "type": type(err).__name__}
        data.update({k: getattr(err, k) for k in _ERROR_FIELDS if getattr(err, k, None) is not None})
        _dump_json(data)


def _dir_path(directory: str) -> Path:
    """The filesystem path of a ``--dir`` value (a path or ``file://`` URL), for creating it."""
    from pathlib import Path
    from urllib.parse import unquote

    if directory.startswith("file://"):
        return Path(unquote(directory[len("file://"):].split("?", 1)[0]))
    return Path(directory)


# --- the commands (each raises MigrateError for _run to print) ------------------------------


def _hash(ns: argparse.Namespace) -> None:
    d = _load(ns.directory, unique_versions=False)
    d.write_sum()
    _stdout().write(f"atlas.sum updated: {len(d.files)} files\n")


def _validate(ns: argparse.Namespace) -> None:
    from . import lex

    url = ns.url if ns.url is not None else os.environ.get("DATABASE_URL") or None
    if ns.dialect is not None:
        rules = _LEX_DIALECT[ns.dialect]
    elif url:
        rules = _target(url).dialect
    else:
        rules = "sqlite"
    d = _load(ns.directory)
    d.validate()
    options = lex.OPTIONS_BY_DIALECT[rules]
    for f in d.files:
        _ = f.txmode  # raises DirectiveError for a bad atlas:txmode header
        lex.split_statements(f.text(), options, file=f.name)
    _stdout().write(f"ok: {len(d.files)} files (checked with {rules} statement rules)\n")


def _status(ns: argparse.Namespace) -> None:
    target = _target(_required_url(ns))
    d = _load(ns.directory)
    from . import engine
    from .reports import Options

    options = Options(revisions_schema=ns.revisions_schema, exec_order=ns.exec_order)
    report = engine.status(target, d, options)
    if ns.output == "json":
        _dump_json(report.to_dict())
    else:
        _print_status(report, d)


def _apply(ns: argparse.Namespace) -> None:
    url = _required_url(ns)
    if ns.baseline and ns.allow_dirty:
        _usage(ns, "--baseline and --allow-dirty are mutually exclusive; pass only one")
    if ns.to_version is not None and ns.amount is not None:
        _usage(ns, "--to-version and an AMOUNT are mutually exclusive; pass only one")
    target = _target(url)
    d = _load(ns.directory)
    from . import engine
    from .reports import Options

    options = Options(revisions_schema=ns.revisions_schema, baseline=ns.baseline,
                      allow_dirty=ns.allow_dirty, exec_order=ns.exec_order,
                      tx_mode=ns.tx_mode, to_version=ns.to_version, amount=ns.amount,
                      lock_timeout=ns.lock_timeout, allow_changed=ns.allow_changed)
    if ns.output == "json":
        report = engine.apply(target, d, options, dry_run=ns.dry_run)
        _dump_json(report.to_dict())
        return
    printer = _ApplyPrinter(live=sys.stdout.isatty())
    try:
        engine.apply(target, d, options, dry_run=ns.dry_run, logger=printer)
    finally:
        printer.close()
    if not printer.started:
        _stdout().write("No migration files to execute\n")


def _new(ns: argparse.Namespace) -> None:
    path = _dir_path(ns.directory)
    if not path.exists():
        try:
            path.mkdir(parents=True)
        except OSError as err:
            from .errors import ConfigError

            raise ConfigError(f"creating migration directory {path}: {err.strerror}; "
                              "check the path and its permissions") from None
    d = _load(ns.directory)
    f = d.new_file(ns.name)
    _stdout().write(f"{(d.path or path) / f.name}\n")


def _manifests(ns: argparse.Namespace) -> None:
    if (ns.url is None) == (ns.url_secret is None):
        _usage(ns, "pass exactly one of --url and --url-secret")
    labels = dict(ns.label or [])
    _remember_urls_in(ns.url)  # error lines are scrubbed; the YAML below is not
    if ns.url is not None:
        from .target import Target

        Target.parse(ns.url)  # reject a malformed URL before it lands in YAML
    d = _load(ns.directory)
    d.validate()
    from . import k8s

    objects = k8s.render_manifests(
        d, name=ns.name, namespace=ns.namespace, url=ns.url, url_secret=ns.url_secret,
        url_secret_key=ns.url_secret_key, inline=ns.inline, labels=labels or None,
        baseline=ns.baseline, exec_order=ns.exec_order, revisions_schema=ns.revisions_schema,
        backoff_limit=ns.backoff_limit,
        protected_flows={"migrateDown": {"allow": True, "autoApprove": True}}
        if ns.allow_down else None)
    text = k8s.dump_yaml(objects)
    # The YAML is the product (it may carry the --url the user asked to embed): not scrubbed.
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


# name, handler, arguments, summary (the command list and its help), more help
_COMMANDS: tuple[tuple[str, Callable[[argparse.Namespace], None],
                       Callable[[argparse.ArgumentParser], None], str, str], ...] = (
    ("hash", _hash, _hash_arguments,
     "Rewrite atlas.sum from the directory's files (like 'atlas migrate hash').", ""),
    ("validate", _validate, _validate_arguments,
     "Check atlas.sum, file directives, and that every file splits into statements.", ""),
    ("status", _status, _status_arguments,
     "Show which files are applied and which are pending (writes nothing).", ""),
    ("apply", _apply, _apply_arguments,
     "Apply pending migration files (like 'atlas migrate apply').", ""),
    ("new", _new, _new_arguments,
     "Create an empty migration file named after the current UTC time and re-hash atlas.sum.", ""),
    ("manifests", _manifests, _manifests_arguments,
     "Print Kubernetes manifests for the Atlas operator (pipe into 'kubectl apply -f -').",
     " Pass exactly one of --url and --url-secret."),
)


# --- entry point ----------------------------------------------------------------------------


def _run(args: list[str]) -> int:
    """Parse ``args`` and run the command; return the exit code (usage errors raise
    ``SystemExit(2)`` from the parser)."""
    root = build_parser()
    if not args:
        root.print_help(sys.stderr)
        return 2
    ns, extras = root.parse_known_args(args)
    if extras:
        parser: _Parser = getattr(ns, "command_parser", root)
        options = [a.split("=", 1)[0] for a in extras if a.startswith("-") and len(a) > 1]
        unknown = [name for name in options if not parser.knows(name)]
        if unknown:  # an option before the command (the command's own are found in error())
            parser.error(parser.no_such_option(unknown[0]))
        plural = "s" if len(extras) > 1 else ""
        parser.error(f"unexpected extra argument{plural}: {' '.join(extras)}")
    from .errors import MigrateError  # after parsing: --version and --help never need it

    try:
        ns.handler(ns)
    except MigrateError as err:
        _fail(err, json_output=getattr(ns, "output", None) == "json")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Console-script entry point: run the CLI with ``argv`` (default ``sys.argv[1:]``) and exit
    with its code, stderr scrubbed of the password of every URL in the arguments and in
    ``DATABASE_URL``."""
    args = sys.argv[1:] if argv is None else [str(a) for a in argv]
    _SECRETS.clear()
    for arg in args:
        _remember_urls_in(arg)
    _remember_urls_in(os.environ.get("DATABASE_URL"))
    real_stderr = sys.stderr
    sys.stderr = _Scrubbed(real_stderr)  # type: ignore[assignment]
    try:
        code = _run(args)
        sys.stdout.flush()  # a closed pipe fails here, not in the interpreter's exit
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        code = 130
    except BrokenPipeError:  # e.g. `pulumi-migrations manifests ... | head`
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        code = 1
    finally:
        sys.stderr = real_stderr
    raise SystemExit(code)


def run() -> NoReturn:
    """The console script (and ``python -m``): ``main()``, then exit without the interpreter's
    teardown. Freeing every module and object at exit costs ~10 ms after a 2,000-file no-op
    (measured, tests/bench/README.md), an eighth of the whole run. Nothing is lost: the engine
    closes its connections and locks before returning, and both streams are flushed here.
    A bug (any other exception) takes the normal path, traceback and all."""
    code = 0
    try:
        main()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
