"""The engine's entry points: ``status``, ``apply``, ``inspect``. The CLI and the provider call only these.

Usage::

    from pulumi_migrations_provider import engine
    from pulumi_migrations_provider.reports import Options

    report = engine.status("sqlite://app.db", "migrations")
    print(report.pending)                      # file names apply would run
    done = engine.apply("postgres://u:p@h/db", "migrations", Options(tx_mode="file"))
    print(done.applied, done.current_version)
"""

from __future__ import annotations

from pathlib import Path

from . import __version__, plan
from .dialects import Connection, Dialect, for_target
from .errors import AppliedFileChangedError, DirectiveError, NonLinearError
from .events import Logger, nop_logger
from .executor import Executor, prepare
from .migdir import MigrationDir
from .reports import ApplyReport, Options, StatusReport, TargetInfo
from .revisions import TYPE_BASELINE, Revision, RevisionStore
from .sumfile import HashFile
from .target import Target, as_target

OPERATOR_VERSION = f"pulumi-migrations {__version__}"


def load_dir(directory: MigrationDir | str | Path) -> MigrationDir:
    """Accept a loaded directory, a path or a ``file://`` URL."""
    return directory if isinstance(directory, MigrationDir) else MigrationDir.load(directory)


def status(target: Target | str, directory: MigrationDir | str | Path,
           options: Options | None = None) -> StatusReport:
    """Compute what is applied and pending. Writes nothing: no schema, no table, no lock, no file.

    Out-of-order files do not raise here: they are listed in ``out_of_order`` with ``error``.
    Raises DirError (atlas.sum, directives), ConnectError, NotCleanError (first run on a
    non-empty database without baseline), AppliedFileChangedError, RevisionStoreError.
    """
    opts = options or Options()
    t, d = as_target(target), load_dir(directory)
    hf = d.validate()
    dialect = for_target(t)
    schema = dialect.revisions_schema(t, opts.revisions_schema)
    conn = dialect.connect(t, timeout=opts.connect_timeout, readonly=True)
    try:
        store = RevisionStore(conn, schema, OPERATOR_VERSION) if conn is not None else None
        exists = store.exists() if store is not None else False
        revs = store.read_all() if store is not None and exists else []
        check_applied_unchanged(d, hf, revs, opts.allow_changed)
        error = None
        out_of_order: list[str] = []
        try:
            p = _plan(d, revs, opts, dialect, conn, t, schema)
        except NonLinearError as err:
            error, out_of_order = str(err), err.out_of_order
            p = _plan(d, revs, Options(**{**opts.__dict__, "exec_order": "linear-skip"}),
                      dialect, conn, t, schema)
    finally:
        if conn is not None:
            conn.close()
    last = revs[-1] if revs else None
    pending = [f.name for f in p.pending]
    report = StatusReport(
        status="PENDING" if pending or out_of_order else "OK",
        current_version=last.version if last else None,
        next_version=p.pending[0].version if p.pending else None,
        latest_version=d.latest_version,
        target_version=p.pending[-1].version if p.pending else (last.version if last else None),
        executed=len(revs), pending=pending, out_of_order=out_of_order,
        revisions_table=f"{schema}.atlas_schema_revisions", table_exists=exists, error=error,
    )
    if last is not None and (last.partial or last.error):
        report.partial = last.partial
        report.applied_statements = last.applied
        report.total_statements = last.total
        report.error = report.error or last.error or None
        report.error_statement = last.error_stmt or None
    return report


def apply(target: Target | str, directory: MigrationDir | str | Path,
          options: Options | None = None, *, dry_run: bool = False,
          logger: Logger = nop_logger) -> ApplyReport:
    """Apply pending files under the migration lock and return what was done.

    ``dry_run`` connects read-only and writes nothing at all (better than Atlas, whose dry
    run creates the revisions table and writes baseline rows); events are still emitted.
    Nothing pending is not an error: the report's ``applied`` is empty and nothing is written.
    Raises what ``status`` raises (NonLinearError included), plus ParseError, LockError,
    StatementError (the revision row keeps progress and the error; rerun to resume).
    """
    opts = options or Options()
    t, d = as_target(target), load_dir(directory)
    hf = d.validate()
    dialect = for_target(t)
    schema = dialect.revisions_schema(t, opts.revisions_schema)
    conn = dialect.connect(t, timeout=opts.connect_timeout, readonly=dry_run)
    try:
        if conn is not None and not dry_run:
            conn.lock(opts.lock_timeout)
        store = RevisionStore(conn, schema, OPERATOR_VERSION) if conn is not None else None
        exists = store.exists() if store is not None else False
        revs = store.read_all() if store is not None and exists else []
        check_applied_unchanged(d, hf, revs, opts.allow_changed)
        p = _plan(d, revs, opts, dialect, conn, t, schema)
        current = revs[-1].version if revs else None
        report = ApplyReport(from_version=current, current_version=current,
                             target_version=p.pending[-1].version if p.pending else current,
                             dry_run=dry_run)
        if not p.pending and p.baseline is None:
            report.pending = [f.name for f in p.remaining]
            return report
        _check_txmodes(p.pending, opts.tx_mode)
        prepared = [prepare(f, hf, dialect.scan_options) for f in p.pending]
        writer = store if not dry_run else None
        if writer is not None and (p.pending or p.baseline is not None):
            if not exists:
                writer.ensure()
            if p.baseline is not None:
                writer.write(Revision(p.baseline.version, p.baseline.description, TYPE_BASELINE))
        if p.baseline is not None:
            report.baseline_written = p.baseline.version if not dry_run else None
            report.current_version = p.baseline.version
        existing = {r.version: r for r in revs}
        ex = Executor(conn if not dry_run else None, writer, tx_mode=opts.tx_mode, logger=logger,
                      dry_run=dry_run)
        import time
        t0 = time.monotonic_ns()
        result = ex.run(prepared, existing, current=report.current_version)
        report.duration_ns = time.monotonic_ns() - t0
        report.statements = result.statements
        if dry_run:  # nothing ran: everything is still pending
            report.pending = [f.name for f in p.remaining]
            return report
        report.applied = result.applied
        if result.applied:
            report.current_version = p.pending[len(result.applied) - 1].version
        done = set(result.applied)
        report.pending = [f.name for f in p.remaining if f.name not in done]
        return report
    finally:
        if conn is not None:
            conn.close()


def inspect(target: Target | str, options: Options | None = None) -> TargetInfo:
    """Connect read-only; report the server version and where the revisions table lives."""
    opts = options or Options()
    t = as_target(target)
    dialect = for_target(t)
    schema = dialect.revisions_schema(t, opts.revisions_schema)
    conn = dialect.connect(t, timeout=opts.connect_timeout, readonly=True)
    try:
        if conn is None:
            import sqlite3
            version, flavor = sqlite3.sqlite_version, "sqlite"
        else:
            version, flavor = dialect.server_version(conn)
    finally:
        if conn is not None:
            conn.close()
    return TargetInfo(dialect=dialect.name, server_version=version, flavor=flavor,
                      revisions_schema=schema, revisions_table=f"{schema}.atlas_schema_revisions")


def check_applied_unchanged(d: MigrationDir, hf: HashFile, revs: list[Revision],
                            allow_changed: bool) -> None:
    """Better than Atlas: an applied file whose content changed is an error naming the file.

    Stored hashes are atlas.sum's chained hashes, so the walk stops at the first file that has
    no revision (a later file's hash legitimately changes when an earlier file is added).
    """
    if allow_changed or not revs:
        return
    by_version = {r.version: r for r in revs}
    changed = []
    for f in d.files:
        if f.is_checkpoint and f.version not in by_version:
            continue
        rev = by_version.get(f.version)
        if rev is None:
            break
        current = hf.hash_of(f.name)
        if rev.hash and not rev.partial and current is not None and current != rev.hash:
            changed.append(f.name)
            break
    if changed:
        raise AppliedFileChangedError(
            f"checking applied migrations: {changed[0]} was changed after it was applied "
            f"(its hash differs from the revisions table); restore the file, or add a new migration "
            "for the change (pass --allow-changed to accept the edit)", changed)


def _plan(d: MigrationDir, revs: list[Revision], opts: Options, dialect: Dialect,
          conn: Connection | None, t: Target, schema: str) -> plan.Plan:
    def dirty() -> str | None:
        return dialect.dirty_reason(conn, t, schema) if conn is not None else None
    return plan.compute(d.files, revs, exec_order=opts.exec_order, baseline=opts.baseline,
                        allow_dirty=opts.allow_dirty, dirty_reason=dirty,
                        to_version=opts.to_version, amount=opts.amount)


def _check_txmodes(files: list, tx_mode: str) -> None:
    if tx_mode != "all":
        return
    for f in files:
        mode = f.txmode
        if mode is not None and mode != "all":
            raise DirectiveError(
                f"reading {f.name}: cannot set txmode directive to {mode!r} when txmode 'all' is set "
                "globally; drop the directive or use --tx-mode file")
