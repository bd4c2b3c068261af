"""The ``pulumi-migrations`` command line: Atlas's ``migrate`` commands over the engine.

Commands: ``hash``, ``validate``, ``status``, ``apply``, ``set``, ``new``, ``manifests``,
``lint`` (``cli_lint.py``). Each one only
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
(with its database drivers: sqlite3, psycopg, PyMySQL), the statement scanner and the
Kubernetes renderer are imported inside the commands that need them, never at module level.
"""

from __future__ import annotations

import argparse
import os
import sys

from .cliargs import (DIALECT_CHOICES, add_dir, add_format, add_lock_timeout, add_pending_options,
                      add_revisions_schema, add_url, load_dir, parse_target, pending_options,
                      required_url, url_or_env, usage)
from .cliout import (_ApplyPrinter, _forget_secrets, _print_error, _print_status,
                     _remember_urls_in, _Scrubbed, _stdout, count_noun, dump_json)
from .cliparse import PROG, Formatter, Parser, VersionAction, int_at_least, label

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up
if TYPE_CHECKING:
    from typing import Callable, NoReturn, Sequence

    from .errors import MigrateError
    from .migdir import MigrationDir
    from .reports import Options
    from .target import Target

_ERROR_FIELDS = ("file", "version", "index", "line", "col", "statement", "db_error", "reason")


# --- the parser -----------------------------------------------------------------------------
# The argument builders run only for the command being parsed (or whose help is shown); the
# flags several commands share are built in cliargs.


def _add_project(p: argparse.ArgumentParser, *, fan_out: bool = False) -> None:
    from .cliproject import add_arguments

    add_arguments(p, fan_out=fan_out)


def _hash_arguments(p: argparse.ArgumentParser) -> None:
    add_dir(p)
    _add_project(p)


def _validate_arguments(p: argparse.ArgumentParser) -> None:
    add_dir(p)
    p.add_argument("--dialect", choices=DIALECT_CHOICES,
                   help="Statement-splitting rules to check the files with; default: the "
                        "--url's (or DATABASE_URL's) dialect, else sqlite.")
    p.add_argument("-u", "--url", metavar="URL",
                   help="Only used to pick the splitting rules; nothing connects. "
                        "[env var: DATABASE_URL]")
    _add_project(p)


def _status_arguments(p: argparse.ArgumentParser) -> None:
    add_url(p)
    add_dir(p)
    add_revisions_schema(p)
    add_pending_options(p)
    add_format(p)
    _add_project(p, fan_out=True)


def _apply_arguments(p: argparse.ArgumentParser) -> None:
    from .reports import TX_MODES

    p.add_argument("amount", metavar="AMOUNT", nargs="?", type=int_at_least(1),
                   help="Apply at most this many pending files.")
    add_url(p)
    add_dir(p)
    add_revisions_schema(p)
    add_pending_options(p)
    p.add_argument("--tx-mode", choices=TX_MODES, default="file",
                   help="One transaction per file, for all files, or none.")
    p.add_argument("--to-version", metavar="VERSION",
                   help="Apply pending files up to and including this version.")
    p.add_argument("--dry-run", action="store_true",
                   help="Print the statements that would run; write nothing.")
    p.add_argument("--resolve-in-doubt", choices=("done", "redo"),
                   help="A statement an interrupted run left in doubt, whose effect the catalog "
                        "cannot show: it completed (done) or must run again (redo).")
    add_format(p)
    _add_project(p, fan_out=True)


def _set_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("version", metavar="VERSION", nargs="?",
                   help="Record every file up to this version as applied and delete later rows; "
                        "omitted: the directory's last version (only when rows exist).")
    add_url(p)
    add_dir(p)
    add_revisions_schema(p)
    add_lock_timeout(p)
    p.add_argument("--allow-partial", action="store_true",
                   help="Record a file that stopped midway as fully applied (finish or undo its "
                        "remaining statements by hand first).")
    p.add_argument("--dry-run", action="store_true",
                   help="Print the rows that would be written and deleted; write nothing.")
    add_format(p)


def _new_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", nargs="?", default="",
                   help="Name part of the file: <version>_<name>.sql.")
    add_dir(p)
    _add_project(p)


def _manifests_arguments(p: argparse.ArgumentParser) -> None:
    from .reports import EXEC_ORDERS

    p.add_argument("--name", required=True,
                   help="Name of the AtlasMigration and ConfigMap. [required]")
    add_dir(p)
    p.add_argument("-n", "--namespace", help="Namespace of every object.")
    p.add_argument("--url", metavar="URL",
                   help="Database URL written into a Secret (prefer --url-secret).")
    p.add_argument("--url-secret", metavar="SECRET",
                   help="Existing Secret holding the database URL.")
    p.add_argument("--url-secret-key", metavar="KEY", default="url",
                   help="Key of the URL in that Secret.")
    p.add_argument("--dev-url", metavar="URL",
                   help="spec.devURL: a dev database for the operator (else it starts one); "
                        "a URL with a password goes into a Secret <name>-dev-url instead.")
    p.add_argument("--dev-url-secret", metavar="SECRET",
                   help="spec.devURLFrom: an existing Secret holding the dev-database URL.")
    p.add_argument("--dev-url-secret-key", metavar="KEY", default="url",
                   help="Key of the dev URL in that Secret.")
    p.add_argument("--inline", action="store_true",
                   help="Embed the files in the AtlasMigration instead of a ConfigMap.")
    p.add_argument("-l", "--label", metavar="K=V", action="append", type=label,
                   help="Label k=v for every object (repeatable).")
    p.add_argument("--baseline", metavar="VERSION",
                   help="spec.baseline: on a non-empty database, the operator treats this version "
                        "as already applied.")
    p.add_argument("--exec-order", choices=EXEC_ORDERS,
                   help="spec.execOrder; omitted: the operator's default (linear).")
    add_revisions_schema(p)
    p.add_argument("--backoff-limit", metavar="N", type=int_at_least(0),
                   help="spec.backoffLimit: how many times the operator retries a failed run.")
    p.add_argument("--allow-down", action="store_true",
                   help="Let the operator migrate down when the directory shrinks "
                        "(protectedFlows.migrateDown allow + autoApprove; the operator needs "
                        "both for a ConfigMap or inline directory).")
    _add_project(p)


def build_parser() -> Parser:
    """The ``pulumi-migrations`` parser: one subcommand per ``_COMMANDS`` row, each with its flags.

    The parsed namespace carries ``handler`` (the command's function) and ``command_parser``
    (for usage errors found after parsing).
    """
    root = Parser(
        prog=PROG, formatter_class=Formatter, allow_abbrev=False,
        description="Atlas-format versioned SQL migrations: hash, validate, status, apply, "
                    "set, new, manifests, lint.",
        epilog="Exit codes: 0 success, 1 an error (one 'error:' line on stderr), "
               "2 a usage error. Run 'pulumi-migrations COMMAND --help' for a command's flags.")
    root.add_argument("--version", action=VersionAction, help="Print the version and exit.")
    sub = root.add_subparsers(title="commands", metavar="COMMAND", dest="command", required=True,
                              prog=PROG)
    for name, handler, arguments, summary, details in _COMMANDS:
        p: Parser = sub.add_parser(
            name, prog=f"{PROG} {name}", help=summary, description=summary + details,
            formatter_class=Formatter, allow_abbrev=False, add_help=False)
        p.command = True
        p.deferred = arguments
        p.set_defaults(handler=handler, command_parser=p)
    return root


# --- helpers --------------------------------------------------------------------------------


#: The remedies of errors.HINTS in the CLI's words (flags), appended to the engine's message.
HINT_WORDS = {
    "baseline_or_allow_dirty": "; pass --baseline VERSION to mark existing migrations as applied, "
                               "or --allow-dirty to apply on top of it",
    "exec_order": ", or pass --exec-order non-linear to run it, or linear-skip to skip it",
    "allow_changed": " (pass --allow-changed once to accept the edit: its new hash is recorded)",
    "lock_timeout": " or raise --lock-timeout",
    "tx_mode_file": " or use --tx-mode file",
    "revisions_schema": "; drop --revisions-schema",
    "resolve_in_doubt": ": rerun with --resolve-in-doubt=done if it did, or "
                        "--resolve-in-doubt=redo to run it again",
    "set_allow_partial": " with pulumi-migrations set {version} --allow-partial",
    "allow_partial": " (--allow-partial records it as fully applied)",
    "config_scheme": "; pass --config file://PATH or a path",
    "config_missing": "; pass --config file://PATH to the atlas.hcl, or run from its directory",
    "env_name": "; pass one of them as --env",
    "var_value": "; pass --var {name}=VALUE",
    "var_unknown": " or drop --var {name}",
}

#: The flag of each ``Options`` field an error can be about (``MigrateError.option``).
OPTION_FLAGS = {
    "baseline": "--baseline", "allow_dirty": "--allow-dirty", "exec_order": "--exec-order",
    "tx_mode": "--tx-mode", "to_version": "--to-version", "amount": "AMOUNT",
    "lock_timeout": "--lock-timeout", "revisions_schema": "--revisions-schema",
    "allow_changed": "--allow-changed", "resolve_in_doubt": "--resolve-in-doubt",
    "config": "--config", "env": "--env", "vars": "--var",
}


def _fail(err: MigrateError, *, json_output: bool) -> None:
    """Print ``error: <message>`` on stderr; with ``json_output`` also a JSON object on stdout
    (``error``, ``type``, the flag it is about and the error's fields), so a CI job parsing
    ``--format json`` gets JSON on failure too."""
    message = err.render(HINT_WORDS)
    _print_error(message)
    if json_output:
        data = {"error": message, "type": type(err).__name__}
        if err.option is not None:
            data["option"] = OPTION_FLAGS[err.option]
        data.update({k: getattr(err, k) for k in _ERROR_FIELDS if getattr(err, k, None) is not None})
        dump_json(data)


# --- the commands (each raises MigrateError for _run to print) ------------------------------


def _hash(ns: argparse.Namespace) -> None:
    from .migdir import MigrationDir

    d = MigrationDir.rehash(ns.directory, unique_versions=False)  # under new's directory lock
    _stdout().write(f"atlas.sum updated: {count_noun(len(d.files), 'file')}\n")


def _validate(ns: argparse.Namespace) -> None:
    from . import dialects, lex

    url = url_or_env(ns)
    if ns.dialect is not None:
        dialect = dialects.named(ns.dialect)
    else:
        dialect = dialects.for_target(parse_target(url)) if url else dialects.named("sqlite")
    rules = dialect.name
    d = load_dir(ns.directory)
    d.validate()
    options = dialect.scan_options
    for f in d.files:
        _ = f.txmode  # raises DirectiveError for a bad atlas:txmode header
        lex.split_statements(f.text(), options, file=f.name)
    _stdout().write(f"ok: {count_noun(len(d.files), 'file')} (checked with {rules} statement rules)\n")


def _status(ns: argparse.Namespace) -> None:
    url = required_url(ns)
    target = parse_target(url)
    options = pending_options(ns)
    d = load_dir(ns.directory)
    from . import engine

    report = engine.status(target, d, options)
    if ns.output == "atlas":  # Atlas's document has no findings: nothing to lint
        from .atlasfmt import dumps, status_json

        _stdout().write(dumps(status_json(report, d, url=url, dialect=target.dialect,
                                          directory=ns.directory), ns.output) + "\n")
        return
    from .cli_lint import pending_findings, print_findings

    findings = pending_findings(target, d, report.pending)
    if ns.output == "json":
        dump_json({**report.to_dict(), "findings": [f.to_dict() for f in findings or []]})
    else:
        _print_status(report, d)
        print_findings(findings)


def _apply(ns: argparse.Namespace) -> None:
    url = required_url(ns)
    if ns.to_version is not None and ns.amount is not None:
        usage(ns, "--to-version and an AMOUNT are mutually exclusive; pass only one")
    target = parse_target(url)
    options = pending_options(ns, tx_mode=ns.tx_mode, to_version=ns.to_version, amount=ns.amount,
                               resolve_in_doubt=ns.resolve_in_doubt)
    d = load_dir(ns.directory)
    from . import engine

    findings = None
    # What the dry run would apply, linted (read-only too); Atlas's document has no findings.
    if ns.dry_run and ns.output != "atlas":
        from .cli_lint import pending_findings

        findings = pending_findings(target, d, engine.status(target, d, options).pending)
    if ns.output == "json":
        report = engine.apply(target, d, options, dry_run=ns.dry_run)
        data = report.to_dict()
        if ns.dry_run:
            data["findings"] = [f.to_dict() for f in findings or []]
        dump_json(data)
        return
    if ns.output == "atlas":
        _apply_atlas(ns, url, target, d, options)
        return
    printer = _ApplyPrinter(live=sys.stdout.isatty())
    try:
        report = engine.apply(target, d, options, dry_run=ns.dry_run, logger=printer)
    finally:
        printer.close()
    out = _stdout()
    for i, name in enumerate(report.accepted):
        if i == 0:  # the first hash that differs: this file was edited (the ones before agree)
            out.write(f"{'Would accept' if ns.dry_run else 'Accepted'} the edit of applied file "
                      f"{name} ({'nothing recorded' if ns.dry_run else 'its new hash is recorded'})\n")
        else:  # atlas.sum chains each hash to the files before it: these moved with the first
            out.write(f"{'Would record' if ns.dry_run else 'Recorded'} the new hash of applied file "
                      f"{name} too (atlas.sum chains it to {report.accepted[0]})\n")
    if not printer.started:
        out.write("No migration files to execute\n")
    if ns.dry_run:
        from .cli_lint import print_findings

        print_findings(findings)


def _apply_atlas(ns: argparse.Namespace, url: str, target: Target, d: MigrationDir,
                 options: Options) -> None:
    """``apply --format '{{ json . }}'``: Atlas's MigrateApply JSON on stdout. As Atlas, a
    failure before anything runs prints nothing there; a failed run prints the JSON with its
    ``Error`` (then the one-line error on stderr, exit 1)."""
    from . import engine
    from .atlasfmt import ApplyLog, apply_json, dumps
    from .errors import MigrateError

    log = ApplyLog()
    try:
        report = engine.apply(target, d, options, dry_run=ns.dry_run, logger=log)
    except MigrateError as err:
        if log.pending:
            log.fail(err)
            _stdout().write(dumps(apply_json(log, d, url=url, dialect=target.dialect,
                                             directory=ns.directory, current=log.current),
                                  ns.output) + "\n")
        raise
    _stdout().write(dumps(apply_json(log, d, url=url, dialect=target.dialect,
                                     directory=ns.directory, current=report.current_version),
                          ns.output) + "\n")


def _set(ns: argparse.Namespace) -> None:
    url = required_url(ns)
    target = parse_target(url)
    d = load_dir(ns.directory)
    from .reports import Options
    from .setrev import set_version

    report = set_version(target, d, ns.version,
                         Options(revisions_schema=ns.revisions_schema, lock_timeout=ns.lock_timeout),
                         dry_run=ns.dry_run, allow_partial=ns.allow_partial)
    if ns.output == "text":
        from .cliout import _print_set

        _print_set(report)
        return
    if ns.output == "json":
        dump_json(report.to_dict())
        return
    from .atlasfmt import dumps, set_json

    _stdout().write(dumps(set_json(report), ns.output) + "\n")


def _new(ns: argparse.Namespace) -> None:
    from .migdir import dir_path

    path = dir_path(ns.directory)  # ConfigError for a URL that is no file:// directory
    if not path.exists():
        try:
            path.mkdir(parents=True)
        except OSError as err:
            from .errors import ConfigError

            raise ConfigError(f"creating migration directory {path}: {err.strerror}; "
                              "check the path and its permissions") from None
    d = load_dir(ns.directory)
    f = d.new_file(ns.name)
    _stdout().write(f"{(d.path or path) / f.name}\n")


def _manifests(ns: argparse.Namespace) -> None:
    if (ns.url is None) == (ns.url_secret is None):
        usage(ns, "pass exactly one of --url and --url-secret")
    labels = dict(ns.label or [])
    if ns.url is not None:  # main() remembered its password: errors are scrubbed, YAML not
        from .target import Target

        Target.parse(ns.url)  # reject a malformed URL before it lands in YAML
    if ns.dev_url is not None and ns.dev_url_secret is not None:
        usage(ns, "pass at most one of --dev-url and --dev-url-secret")
    d = load_dir(ns.directory)
    d.validate()
    from . import k8s

    objects = k8s.render_manifests(
        d, name=ns.name, namespace=ns.namespace, url=ns.url, url_secret=ns.url_secret,
        url_secret_key=ns.url_secret_key, inline=ns.inline, labels=labels or None,
        baseline=ns.baseline, exec_order=ns.exec_order, revisions_schema=ns.revisions_schema,
        backoff_limit=ns.backoff_limit, dev_url=ns.dev_url, dev_url_secret=ns.dev_url_secret,
        dev_url_secret_key=ns.dev_url_secret_key,
        protected_flows={"migrateDown": {"allow": True, "autoApprove": True}}
        if ns.allow_down else None)
    text = k8s.dump_yaml(objects)
    # The YAML is the product (it may carry the --url the user asked to embed): not scrubbed.
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    for kind, obj_name, size in k8s.too_large_for_client_side_apply(objects):
        sys.stderr.write(
            f"warning: the {kind} {obj_name} is {size} bytes as JSON; client-side 'kubectl apply' "
            f"copies it into an annotation limited to {k8s.ANNOTATIONS_MAX_BYTES} bytes and will "
            "fail: use 'kubectl apply --server-side -f -'\n")


def _lint_arguments(p: argparse.ArgumentParser) -> None:
    from .cli_lint import arguments

    arguments(p)


def _lint(ns: argparse.Namespace) -> int:
    from .cli_lint import run

    return run(ns)


# name, handler, arguments, summary (the command list and its help), more help
_COMMANDS: tuple[tuple[str, Callable[[argparse.Namespace], int | None],
                       Callable[[argparse.ArgumentParser], None], str, str], ...] = (
    ("hash", _hash, _hash_arguments,
     "Rewrite atlas.sum from the directory's files (like 'atlas migrate hash').", ""),
    ("validate", _validate, _validate_arguments,
     "Check atlas.sum, file directives, and that every file splits into statements.", ""),
    ("status", _status, _status_arguments,
     "Show which files are applied and which are pending (writes nothing).", ""),
    ("apply", _apply, _apply_arguments,
     "Apply pending migration files (like 'atlas migrate apply').", ""),
    ("set", _set, _set_arguments,
     "Record every file up to VERSION as applied and delete later rows, running nothing "
     "(like 'atlas migrate set').",
     " Refuses while a kept file stopped midway, unless --allow-partial."),
    ("new", _new, _new_arguments,
     "Create an empty migration file named after the current UTC time and re-hash atlas.sum.", ""),
    ("manifests", _manifests, _manifests_arguments,
     "Print Kubernetes manifests for the Atlas operator (pipe into "
     "'kubectl apply --server-side -f -').",
     " Server-side, because client-side apply copies each object into its "
     "last-applied-configuration annotation, which fails above 256 KiB (this command warns "
     "then); server-side apply takes objects up to 1 MiB."
     " Pass exactly one of --url and --url-secret. Every object is labelled "
     "pulumi-migrations/atlas-migration=NAME: add '--prune -l pulumi-migrations/atlas-migration=NAME "
     "--prune-allowlist=core/v1/ConfigMap' to delete the ConfigMap a directory change replaced."),
    ("lint", _lint, _lint_arguments,
     "Report what pending files risk (dropped data, locks, table copies), with Atlas's codes "
     "and, given --url, each table's live size (writes nothing).",
     " Exit 1 when a finding is an error (destructive changes by default)."),
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
        parser: Parser = getattr(ns, "command_parser", root)
        unknown = parser.unknown_option(extras)
        if unknown:  # an option before the command (the command's own are found in error())
            parser.error(unknown)
        plural = "s" if len(extras) > 1 else ""
        parser.error(f"unexpected extra argument{plural}: {' '.join(extras)}")
    from .errors import MigrateError  # after parsing: --version and --help never need it

    try:
        from .cliproject import configure

        configure(ns)  # --env/--config/--var, several --url: fills ns, or becomes the fan-out
        return ns.handler(ns) or 0  # a handler may return 1 (lint's error findings)
    except MigrateError as err:
        _fail(err, json_output=getattr(ns, "output", None) == "json")
        return 1


def _interrupted(stop: KeyboardInterrupt) -> int:
    """One line for an interrupt; the exit code the shell gives a process stopped by that signal
    (130 for SIGINT, 143 for SIGTERM)."""
    from . import interrupts

    return interrupts.report(stop)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Console-script entry point: run the CLI with ``argv`` (default ``sys.argv[1:]``) and exit
    with its code, stderr scrubbed of the password of every URL in the arguments and in
    ``DATABASE_URL``."""
    args = sys.argv[1:] if argv is None else [str(a) for a in argv]
    _forget_secrets()
    for arg in args:
        _remember_urls_in(arg)
    _remember_urls_in(os.environ.get("DATABASE_URL"))
    real_stderr = sys.stderr
    sys.stderr = _Scrubbed(real_stderr)  # type: ignore[assignment]
    try:
        code = _run(args)
        sys.stdout.flush()  # a closed pipe fails here, not in the interpreter's exit
    except KeyboardInterrupt as stop:
        code = _interrupted(stop)
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
    from . import interrupts

    interrupts.install()
    code = 0
    try:
        try:
            main()
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        finally:
            # The work is done (or stopped and recorded): a late Ctrl-C must not turn into a
            # traceback, nor may an interrupt still waiting for its redelivery.
            interrupts.finish()
    except KeyboardInterrupt as stop:  # a signal between main's own handler and here
        code = _interrupted(stop)
    interrupts.finish()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
