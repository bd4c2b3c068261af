"""The ``pulumi-migrations`` command line: Atlas's ``migrate`` commands over the engine.

Commands: ``hash``, ``validate``, ``status``, ``apply``, ``new``, ``manifests``. Each one only
translates flags into engine calls and results into output::

    pulumi-migrations apply --dir file://migrations --url sqlite://app.db
    pulumi-migrations status --url "$DATABASE_URL" --format json

Exit codes: 0 success (also "No migration files to execute"), 1 a ``MigrateError`` (printed as
one ``error: <message>`` line on stderr), 2 a usage error. Every byte the CLI prints passes a
scrubber that masks the password of any URL it was given (flags, ``DATABASE_URL``).

Start-up is kept cheap: Rich, the engine (SQLAlchemy) and the Kubernetes renderer are imported
inside the commands that need them, never at module level.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Iterator, List, Optional
from urllib.parse import unquote

import typer

from . import __version__
from .errors import ConfigError, MigrateError
from .cliout import (_SECRETS, _ApplyPrinter, _print_error, _print_status, _remember_secret,
                     _remember_urls_in, _Scrubbed, _stdout, parse_duration)
from .target import Target

if TYPE_CHECKING:
    from .migdir import MigrationDir

_ERROR_FIELDS = ("file", "version", "index", "line", "col", "statement", "db_error", "reason")


@contextmanager
def _edge(*, json_output: bool = False) -> Iterator[None]:
    """Turn a ``MigrateError`` into ``error: <message>`` on stderr and exit code 1; with
    ``json_output`` also a JSON object on stdout (``error``, ``type`` and the error's fields),
    so a CI job parsing ``--format json`` gets JSON on failure too."""
    try:
        yield
    except MigrateError as err:
        _print_error(str(err))
        if json_output:
            data = {"error": str(err), "type": type(err).__name__}
            data.update({k: getattr(err, k) for k in _ERROR_FIELDS if getattr(err, k, None) is not None})
            _dump_json(data)
        raise typer.Exit(1) from None


class _UsageConflict(typer.BadParameter):
    """A usage error (exit 2) whose message is shown as is (mutually exclusive flags)."""

    def format_message(self) -> str:
        return self.message


# --- argument helpers -----------------------------------------------------------------------

def _target(url: str) -> Target:
    """Parse ``url`` and remember its password for the scrubber. Raises ConfigError."""
    _remember_urls_in(url)
    target = Target.parse(url)
    _remember_secret(target.password)
    return target


def _load(directory: str, *, unique_versions: bool = True) -> "MigrationDir":
    from .migdir import MigrationDir

    return MigrationDir.load(directory, unique_versions=unique_versions)


def _dump_json(data: Any) -> None:
    _stdout().write(json.dumps(data, indent=2, default=str) + "\n")


ExecOrder = Enum("ExecOrder", {"linear": "linear", "linear_skip": "linear-skip",
                               "non_linear": "non-linear"}, type=str)
TxMode = Enum("TxMode", {"file": "file", "all": "all", "none": "none"}, type=str)
OutputFormat = Enum("OutputFormat", {"text": "text", "json": "json"}, type=str)
Dialect = Enum("Dialect", {"sqlite": "sqlite", "postgres": "postgres", "mysql": "mysql"}, type=str)
_LEX_DIALECT = {"sqlite": "sqlite", "postgres": "postgresql", "mysql": "mysql"}


# --- the app --------------------------------------------------------------------------------

app = typer.Typer(
    name="pulumi-migrations",
    help="Atlas-format versioned SQL migrations: hash, validate, status, apply, new, manifests.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

DirOpt = Annotated[str, typer.Option(
    "--dir", help="Migration directory: a path or file:// URL.", show_default=True)]
UrlOpt = Annotated[str, typer.Option(
    "--url", "-u", envvar="DATABASE_URL", show_default=False,
    help="Database URL (sqlite://, postgres://, mysql://, maria://); password percent-encoded.")]
RevSchemaOpt = Annotated[Optional[str], typer.Option(
    "--revisions-schema", help="Schema (database) of the atlas_schema_revisions table.")]
ExecOrderOpt = Annotated[ExecOrder, typer.Option(
    "--exec-order", help="How to treat files added before the last applied version.")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"pulumi-migrations {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version_callback, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    """Atlas-format versioned SQL migrations."""
    _remember_urls_in(os.environ.get("DATABASE_URL"))


@app.command("hash")
def hash_command(directory: DirOpt = "file://migrations") -> None:
    """Rewrite atlas.sum from the directory's files (like 'atlas migrate hash')."""
    with _edge():
        d = _load(directory, unique_versions=False)
        d.write_sum()
    _stdout().write(f"atlas.sum updated: {len(d.files)} files\n")


@app.command("validate")
def validate_command(
    directory: DirOpt = "file://migrations",
    dialect: Annotated[Optional[Dialect], typer.Option(
        "--dialect", show_default=False,
        help="Statement-splitting rules to check the files with; default: the --url's "
             "(or DATABASE_URL's) dialect, else sqlite.")] = None,
    url: Annotated[Optional[str], typer.Option(
        "--url", "-u", envvar="DATABASE_URL", show_default=False,
        help="Only used to pick the splitting rules; nothing connects.")] = None,
) -> None:
    """Check atlas.sum, file directives, and that every file splits into statements."""
    from . import lex

    with _edge():
        if dialect is not None:
            rules = _LEX_DIALECT[dialect.value]
        elif url:
            rules = _target(url).dialect
        else:
            rules = "sqlite"
        d = _load(directory)
        d.validate()
        options = lex.OPTIONS_BY_DIALECT[rules]
        for f in d.files:
            _ = f.txmode  # raises DirectiveError for a bad atlas:txmode header
            lex.split_statements(f.text(), options, file=f.name)
    _stdout().write(f"ok: {len(d.files)} files (checked with {rules} statement rules)\n")


@app.command("status")
def status_command(
    url: UrlOpt,
    directory: DirOpt = "file://migrations",
    revisions_schema: RevSchemaOpt = None,
    exec_order: ExecOrderOpt = ExecOrder.linear,
    output: FormatOpt = OutputFormat.text,
) -> None:
    """Show which files are applied and which are pending (writes nothing)."""
    with _edge(json_output=output is OutputFormat.json):
        target = _target(url)
        d = _load(directory)
        from . import engine
        from .reports import Options

        options = Options(revisions_schema=revisions_schema, exec_order=exec_order.value)
        report = engine.status(target, d, options)
    if output is OutputFormat.json:
        _dump_json(report.to_dict())
        return
    _print_status(report, d)


@app.command("apply")
def apply_command(
    url: UrlOpt,
    amount: Annotated[Optional[int], typer.Argument(
        min=1, metavar="AMOUNT", show_default=False,
        help="Apply at most this many pending files.")] = None,
    directory: DirOpt = "file://migrations",
    revisions_schema: RevSchemaOpt = None,
    baseline: Annotated[Optional[str], typer.Option(
        "--baseline", help="On a non-empty database, treat this version as already applied.")] = None,
    allow_dirty: Annotated[bool, typer.Option(
        "--allow-dirty", help="Allow the first run on a database that already holds tables.")] = False,
    exec_order: ExecOrderOpt = ExecOrder.linear,
    tx_mode: Annotated[TxMode, typer.Option(
        "--tx-mode", help="One transaction per file, for all files, or none.")] = TxMode.file,
    to_version: Annotated[Optional[str], typer.Option(
        "--to-version", help="Apply pending files up to and including this version.")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the statements that would run; write nothing.")] = False,
    lock_timeout: Annotated[str, typer.Option(
        "--lock-timeout", help="How long to wait for the migration lock (10s, 500ms, 1m, 2.5).")
    ] = "10s",
    allow_changed: Annotated[bool, typer.Option(
        "--allow-changed", help="Proceed although an applied file changed since it ran.")] = False,
    output: FormatOpt = OutputFormat.text,
) -> None:
    """Apply pending migration files (like 'atlas migrate apply')."""
    if baseline and allow_dirty:
        raise _UsageConflict("--baseline and --allow-dirty are mutually exclusive; pass only one")
    if to_version is not None and amount is not None:
        raise _UsageConflict("--to-version and an AMOUNT are mutually exclusive; pass only one")
    try:
        timeout = parse_duration(lock_timeout)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="'--lock-timeout'") from None
    printer: _ApplyPrinter | None = None
    with _edge(json_output=output is OutputFormat.json):
        target = _target(url)
        d = _load(directory)
        from . import engine
        from .reports import Options

        options = Options(revisions_schema=revisions_schema, baseline=baseline,
                          allow_dirty=allow_dirty, exec_order=exec_order.value,
                          tx_mode=tx_mode.value, to_version=to_version, amount=amount,
                          lock_timeout=timeout, allow_changed=allow_changed)
        if output is OutputFormat.json:
            report = engine.apply(target, d, options, dry_run=dry_run)
        else:
            printer = _ApplyPrinter(live=sys.stdout.isatty())
            try:
                report = engine.apply(target, d, options, dry_run=dry_run, logger=printer)
            finally:
                printer.close()
    if output is OutputFormat.json:
        _dump_json(report.to_dict())
    elif printer is not None and not printer.started:
        _stdout().write("No migration files to execute\n")


@app.command("new")
def new_command(
    name: Annotated[str, typer.Argument(help="Name part of the file: <version>_<name>.sql.")] = "",
    directory: DirOpt = "file://migrations",
) -> None:
    """Create an empty migration file named after the current UTC time and re-hash atlas.sum."""
    with _edge():
        path = _dir_path(directory)
        if not path.exists():
            try:
                path.mkdir(parents=True)
            except OSError as err:
                raise ConfigError(f"creating migration directory {path}: {err.strerror}; "
                                  "check the path and its permissions") from None
        d = _load(directory)
        f = d.new_file(name)
    _stdout().write(f"{(d.path or path) / f.name}\n")


def _dir_path(directory: str) -> Path:
    """The filesystem path of a ``--dir`` value (a path or ``file://`` URL), for creating it."""
    if directory.startswith("file://"):
        return Path(unquote(directory[len("file://"):].split("?", 1)[0]))
    return Path(directory)


@app.command("manifests")
def manifests_command(
    name: Annotated[str, typer.Option("--name", help="Name of the AtlasMigration and ConfigMap.")],
    directory: DirOpt = "file://migrations",
    namespace: Annotated[Optional[str], typer.Option("--namespace", "-n")] = None,
    url: Annotated[Optional[str], typer.Option(
        "--url", help="Database URL written into a Secret (prefer --url-secret).")] = None,
    url_secret: Annotated[Optional[str], typer.Option(
        "--url-secret", help="Existing Secret holding the database URL.")] = None,
    url_secret_key: Annotated[str, typer.Option(
        "--url-secret-key", help="Key of the URL in that Secret.")] = "url",
    inline: Annotated[bool, typer.Option(
        "--inline", help="Embed the files in the AtlasMigration instead of a ConfigMap.")] = False,
    label: Annotated[Optional[List[str]], typer.Option(
        "--label", "-l", help="Label k=v for every object (repeatable).")] = None,
    baseline: Annotated[Optional[str], typer.Option("--baseline")] = None,
    exec_order: Annotated[Optional[ExecOrder], typer.Option("--exec-order")] = None,
    revisions_schema: RevSchemaOpt = None,
    backoff_limit: Annotated[Optional[int], typer.Option("--backoff-limit", min=0)] = None,
    allow_down: Annotated[bool, typer.Option(
        "--allow-down", help="Let the operator migrate down when the directory shrinks "
                             "(protectedFlows.migrateDown allow + autoApprove; the operator needs "
                             "both for a ConfigMap or inline directory).")] = False,
) -> None:
    """Print Kubernetes manifests for the Atlas operator (pipe into 'kubectl apply -f -')."""
    if (url is None) == (url_secret is None):
        raise _UsageConflict("pass exactly one of --url and --url-secret")
    labels: dict[str, str] = {}
    for item in label or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r} is not k=v", param_hint="'--label'")
        labels[key] = value
    _remember_urls_in(url)  # error lines are scrubbed; the YAML below is not
    with _edge():
        if url is not None:
            Target.parse(url)  # reject a malformed URL before it lands in YAML
        d = _load(directory)
        d.validate()
        from . import k8s

        objects = k8s.render_manifests(
            d, name=name, namespace=namespace, url=url, url_secret=url_secret,
            url_secret_key=url_secret_key, inline=inline, labels=labels or None,
            baseline=baseline, exec_order=exec_order.value if exec_order else None,
            revisions_schema=revisions_schema, backoff_limit=backoff_limit,
            protected_flows={"migrateDown": {"allow": True, "autoApprove": True}}
            if allow_down else None)
        text = k8s.dump_yaml(objects)
    # The YAML is the product (it may carry the --url the user asked to embed): not scrubbed.
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


# --- entry point ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app with stderr scrubbed of any password in argv."""
    args = sys.argv[1:] if argv is None else list(argv)
    _SECRETS.clear()
    for arg in args:
        _remember_urls_in(arg)
    _remember_urls_in(os.environ.get("DATABASE_URL"))
    real_stderr = sys.stderr
    sys.stderr = _Scrubbed(real_stderr)  # type: ignore[assignment]
    try:
        app(args=args, prog_name="pulumi-migrations")
    finally:
        sys.stderr = real_stderr
