"""The flags several commands share, and what a parsed namespace becomes.

Two halves, both used by ``cli`` (the commands), ``cli_lint`` (``lint``) and ``cliproject``
(the project flags and the fan-out), so that those import this module and never each other:

- option builders: ``add_dir``, ``add_url``, ``add_revisions_schema``, ``add_exec_order``,
  ``add_lock_timeout``, ``add_format`` (with its type ``output_format``),
  ``add_pending_options``;
- readers of the parsed namespace: ``usage`` (a usage error found after parsing, exit 2),
  ``url_or_env``/``required_url``, ``parse_target`` (a ``Target``, its password remembered for
  the scrubber), ``load_dir`` (a ``MigrationDir``) and ``pending_options`` (``Options``).

Imported on every CLI start: at module level only ``argparse``, ``os`` and the two CLI
modules ``cli`` loads anyway (``cliout``, ``cliparse``); ``reports``, ``target``, ``migdir``
and ``atlasfmt`` load inside the functions that need them.
"""

from __future__ import annotations

import argparse
import os

from .cliout import _remember_secret
from .cliparse import duration

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from .migdir import MigrationDir
    from .reports import Options
    from .target import Target

__all__ = ["DIALECT_CHOICES", "add_dir", "add_exec_order", "add_format", "add_lock_timeout",
           "add_pending_options", "add_revisions_schema", "add_url", "load_dir", "output_format",
           "parse_target", "pending_options", "required_url", "url_or_env", "usage"]

#: ``--dialect``'s choices (``validate``, ``lint``): the families ``dialects.named`` knows.
DIALECT_CHOICES = ("sqlite", "postgres", "mysql")
_FORMATS = ("text", "json")


# --- option builders ------------------------------------------------------------------------
# They run only for the command being parsed (or whose help is shown); the ones naming
# reports' choices serve status, apply and manifests, which import reports anyway.


def add_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", dest="directory", metavar="DIR", default="file://migrations",
                   help="Migration directory: a path or file:// URL.")


def add_url(p: argparse.ArgumentParser) -> None:
    p.add_argument("-u", "--url", metavar="URL", action="append",
                   help="Database URL (sqlite://, postgres://, mysql://, maria://); password "
                        "percent-encoded; repeat it to run on several databases. "
                        "[env var: DATABASE_URL; required]")


def add_revisions_schema(p: argparse.ArgumentParser) -> None:
    p.add_argument("--revisions-schema", metavar="SCHEMA",
                   help="Schema (database) of the atlas_schema_revisions table.")


def add_exec_order(p: argparse.ArgumentParser) -> None:
    from .reports import EXEC_ORDERS

    p.add_argument("--exec-order", choices=EXEC_ORDERS, default="linear",
                   help="How to treat files added before the last applied version.")


def output_format(text: str) -> str:
    """``--format``: ``text``, ``json`` (ours), or the Go template ``{{ json . }}`` (Atlas's
    JSON: an ``atlasfmt.AtlasJSON``, equal to ``atlas``); any other template is a usage error
    naming it."""
    if "{{" not in text:
        if text in _FORMATS:
            return text
        raise argparse.ArgumentTypeError(
            f"invalid choice: {text!r} (choose from 'text', 'json', '{{{{ json . }}}}')")
    from .atlasfmt import parse_template
    from .errors import ConfigError

    try:
        return parse_template(text)
    except ConfigError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix("reading --format: ")) from None


def add_lock_timeout(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lock-timeout", metavar="DURATION", type=duration, default="10s",
                   help="How long to wait for the migration lock (10s, 500ms, 1m, 2.5).")


def add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", dest="output", type=output_format, default="text",
                   metavar="FORMAT",
                   help="Output format: text, json, or '{{ json . }}' for Atlas's JSON.")


def add_pending_options(p: argparse.ArgumentParser) -> None:
    """The options that change what is pending: ``status`` takes them too, so it answers
    exactly what ``apply`` with the same options would do."""
    p.add_argument("--baseline", metavar="VERSION",
                   help="On a non-empty database, treat this version as already applied.")
    p.add_argument("--allow-dirty", action="store_true",
                   help="Allow the first run on a database that already holds tables.")
    add_exec_order(p)
    add_lock_timeout(p)
    p.add_argument("--allow-changed", action="store_true",
                   help="Proceed although an applied file changed since it ran.")


# --- readers of the parsed namespace --------------------------------------------------------


def usage(ns: argparse.Namespace, message: str) -> NoReturn:
    """A usage error found after parsing (conflicting flags): one line, exit 2."""
    parser: argparse.ArgumentParser = ns.command_parser
    parser.error(message)


def url_or_env(ns: argparse.Namespace) -> str | None:
    """``--url``, else a non-empty ``DATABASE_URL``, else None."""
    return ns.url if ns.url is not None else os.environ.get("DATABASE_URL") or None


def required_url(ns: argparse.Namespace) -> str:
    """``--url``, else a non-empty ``DATABASE_URL``; with neither, a usage error."""
    url = url_or_env(ns)
    if url is None:
        usage(ns, "missing option --url/-u (or the DATABASE_URL environment variable)")
    return url


def parse_target(url: str) -> Target:
    """Parse ``url`` (an argument or ``DATABASE_URL``, whose URL-looking words ``main`` has
    remembered) and remember its password as parsed for the scrubber. Raises ConfigError."""
    from .target import Target

    target = Target.parse(url)
    for secret in target.secrets:
        _remember_secret(secret)
    return target


def load_dir(directory: str, *, unique_versions: bool = True) -> MigrationDir:
    """The migration directory ``--dir`` names (``MigrationDir.load``: raises ConfigError,
    FileNameError, DuplicateVersionError)."""
    from .migdir import MigrationDir

    return MigrationDir.load(directory, unique_versions=unique_versions)


def pending_options(ns: argparse.Namespace, **more: Any) -> Options:
    """``Options`` from the flags ``add_pending_options`` adds (plus ``more``)."""
    if ns.baseline and ns.allow_dirty:
        usage(ns, "--baseline and --allow-dirty are mutually exclusive; pass only one")
    from .reports import Options

    return Options(revisions_schema=ns.revisions_schema, baseline=ns.baseline,
                   allow_dirty=ns.allow_dirty, exec_order=ns.exec_order,
                   lock_timeout=ns.lock_timeout, allow_changed=ns.allow_changed, **more)
