"""The CLI's project flags (``--config``, ``--env``, ``--var``), several ``--url``s, and the
fan-out commands they lead to (``status``/``apply`` on every tenant, ``--parallel N``).

Contract:

- ``add_arguments(p, fan_out=...)`` adds the flags to one command's parser; ``configure(ns)``
  runs after parsing, before the command: with ``--env`` it reads the project file
  (``--config``, default ``atlas.hcl`` in the current directory) and fills every setting the
  command line did not give (a flag given always wins), remembering each URL's password for
  the scrubber first. One target: the namespace is filled in and the command runs as usual.
  Several (``for_each``, or ``--url`` repeated): the command becomes the fan-out
  (``status``/``apply`` only; other commands need the instances to agree).
- The fan-out prints, on a terminal, a live line per running tenant and a bar of tenants
  done; otherwise one line per finished tenant; then a summary table (tenant, from -> to,
  files, time, error). ``--format json`` prints one object ``{"tenants": [...], "failed": N}``.
  Exit 1 when any tenant failed, after every tenant ran.
- Imported on every CLI command (not for ``--help``/``--version`` alone): at module level only
  ``argparse`` and the CLI modules ``cli`` has already loaded (``cliargs``, ``cliout``); the
  HCL parser, the engine and Rich load when used.
"""

from __future__ import annotations

import argparse

from .cliargs import load_dir, parse_target, pending_options, usage
from .cliout import _console, _print_error, _remember_urls_in, _stdout, dump_json, print_unpadded

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any

    from .atlashcl import EnvTarget
    from .fanout import Outcome, Tenant

# env settings -> (namespace dest, EnvTarget attribute or options key)
_SETTINGS = (("url", "url"), ("directory", "dir"), ("baseline", "baseline"),
             ("exec_order", "exec_order"), ("revisions_schema", "revisions_schema"),
             ("lock_timeout", "lock_timeout"), ("tx_mode", "tx_mode"))
_FAN_OUT_COMMANDS = ("status", "apply")


def _var(text: str) -> list[tuple[str, str]]:
    from .atlashcl import parse_var

    try:
        return parse_var(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _parallel(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= 1")
    return value


def add_arguments(p: argparse.ArgumentParser, *, fan_out: bool = False) -> None:
    """Add ``-c/--config``, ``--env``, ``--var`` (and for the fan-out commands ``--parallel``)."""
    p.add_argument("-c", "--config", metavar="URL",
                   help="Project file with env blocks (file://atlas.hcl); read with --env. "
                        "[default: atlas.hcl in the current directory]")
    p.add_argument("--env", metavar="NAME",
                   help="Take url, dir and migration settings from this env of the project "
                        "file; flags given here win.")
    p.add_argument("--var", metavar="KEY=VALUE", action="append", type=_var,
                   help="Value of a project-file variable (repeatable, or a=1,b=2; repeat a key "
                        "for a list).")
    if fan_out:
        p.add_argument("--parallel", metavar="N", type=_parallel, default=1,
                       help="With several targets (for_each, or --url repeated): how many run "
                            "at once.")


def _given(parser: argparse.ArgumentParser, argv: list[str], dest: str) -> bool:
    """Whether the command line set ``dest`` (its flag appears in ``argv``)."""
    options = [o for a in parser._actions if a.dest == dest for o in a.option_strings]
    for arg in argv:
        if arg == "--":
            break
        for opt in options:
            if arg == opt or arg.startswith(opt + "=") or (
                    not opt.startswith("--") and arg.startswith(opt) and len(arg) > len(opt)):
                return True
    return False


def configure(ns: argparse.Namespace) -> None:
    """Resolve ``--env``/``--config``/``--var`` and several ``--url``s into ``ns`` (see the
    module docstring). Raises ConfigError (project file); usage errors exit 2."""
    parser: argparse.ArgumentParser | None = getattr(ns, "command_parser", None)
    if parser is None:
        return
    urls = getattr(ns, "url", None)
    if isinstance(urls, list):  # --url is repeatable where fan-out is possible
        ns.url = urls[0] if urls else None
    env = getattr(ns, "env", None)
    if env is None:
        if getattr(ns, "var", None):
            parser.error("--var sets project-file variables: pass --env NAME too")
        if isinstance(urls, list) and len(urls) > 1:
            _become_fan_out(ns, parser, [(None, u, {}) for u in urls])
        return
    from . import atlashcl

    path = atlashcl.config_path(ns.config or "file://atlas.hcl")
    project = atlashcl.load(path, atlashcl.collect_vars(ns.var))
    instances = project.envs(env)
    argv = getattr(parser, "argv", [])
    if isinstance(urls, list) and len(urls) > 1:
        # Several --url flags: they are the targets; the env gives the other settings.
        base = _overrides(ns, parser, argv, instances[0], skip_url=True)
        _become_fan_out(ns, parser, [(None, u, base) for u in urls])
        return
    targets: list[tuple[str | None, str | None, dict[str, Any]]] = []
    seen = []
    for inst in instances:
        _remember_urls_in(inst.url)
        over = _overrides(ns, parser, argv, inst)
        key = sorted((k, repr(v)) for k, v in over.items())
        if key in seen:
            continue  # --url given: every instance is the same target
        seen.append(key)
        targets.append((inst.key, over.get("url", ns.url if hasattr(ns, "url") else None), over))
    if len(targets) == 1:
        for dest, value in targets[0][2].items():
            setattr(ns, dest, value)
        return
    if ns.command not in _FAN_OUT_COMMANDS:
        parser.error(f"env {env!r} has {len(targets)} instances (for_each) that differ in what "
                     f"{ns.command} uses; run status or apply for all of them, or pass the "
                     "settings as flags")
    _become_fan_out(ns, parser, targets)


def _overrides(ns: argparse.Namespace, parser: argparse.ArgumentParser, argv: list[str],
               inst: EnvTarget, *, skip_url: bool = False) -> dict[str, Any]:
    """What ``inst`` sets that the command has and the command line did not give."""
    over: dict[str, Any] = {}
    for dest, name in _SETTINGS:
        if not hasattr(ns, dest) or (skip_url and dest == "url") or _given(parser, argv, dest):
            continue
        value = getattr(inst, name) if name in ("url", "dir") else inst.options.get(name)
        if value is None:
            continue
        if dest == "url" and ns.command == "manifests":
            continue  # the YAML would carry its password: embedding one takes an explicit --url
        over[dest] = value
    fmt = inst.formats.get(ns.command)
    if fmt is not None and hasattr(ns, "output") and not _given(parser, argv, "output"):
        action = next(a for a in parser._actions if a.dest == "output")
        parsed: Any = fmt
        try:  # the --format flag's own check: the env's value is what --format would take
            if callable(action.type):
                parsed = action.type(fmt)
            if action.choices is not None and parsed not in action.choices:
                raise argparse.ArgumentTypeError(f"choose from {', '.join(map(repr, action.choices))}")
        except argparse.ArgumentTypeError as err:
            from .errors import ConfigError

            raise ConfigError(f"reading the project file: env {inst.name!r} format.migrate."
                              f"{ns.command}: the format {fmt!r} is not supported ({err}); "
                              "change or remove it") from None
        over["output"] = parsed
    return over


def _become_fan_out(ns: argparse.Namespace, parser: argparse.ArgumentParser,
                    targets: list[tuple[str | None, str | None, dict[str, Any]]]) -> None:
    if ns.command not in _FAN_OUT_COMMANDS:
        parser.error(f"{ns.command} takes one database; pass one --url")
    ns.fan_out_targets = targets
    ns.handler = _fan_out_command


# --- the fan-out commands ---------------------------------------------------------------------


def _fan_out_command(ns: argparse.Namespace) -> None:
    """``status``/``apply`` on every target of ``ns.fan_out_targets``."""
    import sys

    from . import fanout
    from .errors import FanOutError
    from .migdir import MigrationDir

    if ns.command == "apply" and ns.to_version is not None and ns.amount is not None:
        usage(ns, "--to-version and an AMOUNT are mutually exclusive; pass only one")
    dirs: dict[str, MigrationDir] = {}
    tenants: list[Tenant] = []
    for key, url, over in ns.fan_out_targets:
        one = argparse.Namespace(**vars(ns))
        for dest, value in over.items():
            setattr(one, dest, value)
        if url is None and one.url is None:
            usage(ns, "missing option --url/-u (or url in the env)")
        target = parse_target(url or one.url)
        more = {"tx_mode": one.tx_mode, "to_version": one.to_version, "amount": one.amount} \
            if ns.command == "apply" else {}
        options = pending_options(one, **more)
        d = dirs.get(one.directory)
        if d is None:
            d = dirs[one.directory] = load_dir(one.directory)
        tenants.append(fanout.Tenant(key if key is not None else target.redacted(), target, d,
                                     options))
    json_output = ns.output != "text"  # json (and Atlas's Go-template JSON): one document
    live = not json_output and sys.stdout.isatty()
    from typing import cast

    # Duck-typed fanout.Watch: defined here so that fanout (and the engine) stay out of start-up.
    watch = cast(fanout.Watch, _LiveWatch(len(tenants), ns.command) if live else
                 _LineWatch(ns.command, quiet=json_output))
    try:
        if ns.command == "apply":
            outcomes = fanout.apply_all(tenants, parallel=ns.parallel, dry_run=ns.dry_run,
                                        watch=watch)
        else:
            outcomes = fanout.status_all(tenants, parallel=ns.parallel, watch=watch)
    except fanout.Interrupted as stop:
        _close(watch)
        if not json_output:
            _print_summary(stop.outcomes, ns.command)
        raise
    _close(watch)
    failed = [o.tenant for o in outcomes if o.status == "FAILED"]
    if json_output:
        dump_json({"tenants": [o.to_dict() for o in outcomes], "failed": len(failed)})
    else:
        _print_summary(outcomes, ns.command)
    if failed:
        doing = "applying to" if ns.command == "apply" else "reading the status of"
        names = ", ".join(failed[:5]) + (", ..." if len(failed) > 5 else "")
        message = (f"{doing} {len(outcomes)} tenants: {len(failed)} failed ({names}); the others "
                   "ran; fix the failed ones and rerun the same command")
        if json_output:  # the JSON above is the whole stdout; the line goes to stderr only
            _print_error(message)
            raise SystemExit(1)
        raise FanOutError(message, failed)


def _close(watch: Any) -> None:
    close = getattr(watch, "close", None)
    if close is not None:
        close()


def _summary_line(o: Outcome, command: str) -> str:
    if o.status == "FAILED":
        done = f" (after {len(o.applied)} of {len(o.applied) + len(o.pending)} files)" if o.applied else ""
        return f"tenant {o.tenant}: error{done}: {o.error}"
    if command == "status":
        return (f"tenant {o.tenant}: {o.status} at version {o.from_version or 'none'}, "
                f"{len(o.pending)} pending")
    if o.status == "UP_TO_DATE":
        return f"tenant {o.tenant}: no migration files to execute (version {o.to_version or 'none'})"
    verb = "would migrate" if o.status == "DRY_RUN" else "migrated"
    files = len(o.pending) if o.status == "DRY_RUN" else len(o.applied)
    return (f"tenant {o.tenant}: {verb} to version {o.to_version} from {o.from_version or 'none'} "
            f"({files} {'file' if files == 1 else 'files'}, {o.duration_s:.2f}s)")


class _LineWatch:
    """Not a terminal: one line per finished tenant, in the order they finish."""

    def __init__(self, command: str, *, quiet: bool) -> None:
        import threading

        self.command = command
        self.quiet = quiet
        self.out = _stdout()
        self.lock = threading.Lock()

    def tenant_started(self, tenant: Tenant) -> None:
        pass

    def event(self, tenant: Tenant, event: Any) -> None:
        pass

    def tenant_done(self, tenant: Tenant, outcome: Outcome) -> None:
        if not self.quiet:
            with self.lock:
                self.out.write(_summary_line(outcome, self.command) + "\n")
                self.out.flush()


class _LiveWatch:
    """On a terminal: a bar of tenants done and one live row per running tenant (its file
    bar); each finished tenant leaves one line above the bars."""

    def __init__(self, total: int, command: str) -> None:
        import threading

        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn)

        self.command = command
        self.lock = threading.Lock()
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=_console(),
                                 transient=True)
        self.progress.start()
        self.overall = self.progress.add_task("tenants", total=total)
        self.rows: dict[str, Any] = {}

    def tenant_started(self, tenant: Tenant) -> None:
        with self.lock:
            self.rows[tenant.name] = self.progress.add_task(f"  {tenant.name}", total=None)

    def event(self, tenant: Tenant, event: Any) -> None:
        kind = type(event).__name__
        row = self.rows.get(tenant.name)
        if row is None:
            return
        if kind == "ExecutionStarted" and event.files:
            self.progress.update(row, total=len(event.files), completed=0)
        elif kind == "FileStarted":
            self.progress.update(row, description=f"  {tenant.name}: {event.file}")
        elif kind == "FileDone":
            self.progress.advance(row)

    def tenant_done(self, tenant: Tenant, outcome: Outcome) -> None:
        with self.lock:
            row = self.rows.pop(tenant.name, None)
            if row is not None:
                self.progress.remove_task(row)
            self.progress.advance(self.overall)
            style = "red" if outcome.status == "FAILED" else "green"
            self.progress.console.print(_summary_line(outcome, self.command), style=style)

    def close(self) -> None:
        self.progress.stop()


def _print_summary(outcomes: list[Outcome], command: str) -> None:
    """The table at the end: one row per tenant."""
    from rich.table import Table

    table = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 2))
    for name in (("Tenant", "Current", "Pending", "Status", "Error") if command == "status"
                 else ("Tenant", "From -> To", "Files", "Time", "Error")):
        table.add_column(name, no_wrap=name != "Error", overflow="fold")
    for o in outcomes:
        error = o.error or ""
        if command == "status":
            table.add_row(o.tenant, o.from_version or "-", str(len(o.pending)), o.status, error)
            continue
        span = f"{o.from_version or 'none'} -> {o.to_version or 'none'}"
        if o.status == "NOT_RUN":
            span = "not run"
        files = len(o.pending) if o.status == "DRY_RUN" else len(o.applied)
        table.add_row(o.tenant, span, str(files), f"{o.duration_s:.2f}s", error)
    failed = sum(o.status == "FAILED" for o in outcomes)
    not_run = sum(o.status == "NOT_RUN" for o in outcomes)
    console = _console()
    console.print()
    print_unpadded(console, table)
    tail = f", {not_run} not run" if not_run else ""
    console.print(f"{len(outcomes)} tenants: {len(outcomes) - failed - not_run} ok, "
                  f"{failed} failed{tail}")

