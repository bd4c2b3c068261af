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

import time
from pathlib import Path

from . import __version__, plan
from ._record import Record
from .dialects import Connection
from .dialects import Dialect, for_target
from .errors import (AppliedFileChangedError, DirectiveError, MigrateError, NonLinearError,
                     NotCleanError, UnverifiableResumeError)
from .migdir import MigrationDir, MigrationFile
from .reports import ApplyReport, Options, StatusReport, TargetInfo
from .revisions import TYPE_BASELINE, Revision, RevisionStore, current_version, executed_rows
from .sumfile import HashFile
from .target import Target, as_target

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:  # the executor (and lex, events) load only when something is to run
    from .events import Logger
    from .executor import Executor, Prepared, RunResult
    from .plan import Plan

OPERATOR_VERSION = f"pulumi-migrations {__version__}"


def load_dir(directory: MigrationDir | str | Path) -> MigrationDir:
    """Accept a loaded directory, a path or a ``file://`` URL."""
    return directory if isinstance(directory, MigrationDir) else MigrationDir.load(directory)


def status(target: Target | str, directory: MigrationDir | str | Path,
           options: Options | None = None, *, conn: Connection | None = None) -> StatusReport:
    """Compute what is applied and pending. Writes nothing: no schema, no table, no lock, no file.

    Out-of-order files do not raise here: they are listed in ``out_of_order`` with ``error``.
    ``conn``: a connection from ``look_connection`` to read through, left open for the caller's
    next read-only look (the provider's lint facts); by default one is opened and closed.
    Raises DirError (atlas.sum, directives), ConnectError, NotCleanError (first run on a
    non-empty database without baseline), AppliedFileChangedError, RevisionStoreError.
    """
    job = _Job.make(target, directory, options)
    state, error, out_of_order = job.look(tolerate_out_of_order=True, conn=conn)
    revs, p = state.revs, state.plan
    last = revs[-1] if revs else None
    # A failed file that ran nothing (its first statement failed or is in doubt outside a
    # transaction, or a row from an older version of ours for a rolled-back file) only keeps the
    # error: it is neither the current version nor an executed file.
    ran = executed_rows(revs)
    current = _start_version(state)  # with --baseline on a fresh table: the baseline, as apply's header
    pending = [f.name for f in p.pending]
    report = StatusReport(
        status="PENDING" if pending or out_of_order else "OK",
        current_version=current,
        next_version=p.pending[0].version if p.pending else None,
        latest_version=job.dir.latest_version,
        target_version=p.pending[-1].version if p.pending else current,
        executed=len(ran), pending=pending, out_of_order=out_of_order,
        revisions_table=f"{job.schema}.atlas_schema_revisions", table_exists=state.exists, error=error,
        revisions=list(revs),
    )
    if last is not None and (last.partial or last.error):
        # Atlas shows a partial file's counts only while applied < total: a row Atlas resumed
        # after a fix added statements (4 of 3) is pending to it, with no counts and no error.
        report.partial = last.applied < last.total and bool(ran) and ran[-1] is last
        report.applied_statements = last.applied
        report.total_statements = last.total
        report.error = report.error or last.error or None
        report.error_statement = last.error_stmt or None
        f = next((f for f in job.dir.files if f.version == last.version), None)
        count = statement_count(f, job.dialect) if f is not None and p.partial is last else None
        if report.partial and count is not None:
            # As Atlas: the file as it is now (the row keeps the first attempt's total), so
            # "statements left" is what the resume runs after a fix changed the count.
            report.total_statements = count
        if f is not None and p.partial is last and plan.unverifiable_resume(last):
            report.error = report.error or str(_unverifiable(last, f, count or 0))
    return report


def statement_count(f: MigrationFile, dialect: Dialect) -> int | None:
    """How many statements ``f`` has as it is now (None when it does not split)."""
    from .lex import split_statements

    try:
        return len(split_statements(f.text(), dialect.scan_options, file=f.name))
    except MigrateError:
        return None


def _unverifiable(rev: Revision, f: MigrationFile, statements: int) -> UnverifiableResumeError:
    """Why the partially applied ``rev`` of ``f`` (now of ``statements`` statements) cannot be
    resumed (``plan.unverifiable_resume``)."""
    return UnverifiableResumeError(file=f.name, version=rev.version, applied=rev.applied,
                                   total=rev.total, hashes=len(rev.partial_hashes or []),
                                   statements=statements)


def _check_resumable(p: Plan, files: list[Prepared]) -> None:
    """Refuse, before anything runs, to resume a partially applied file whose row cannot be
    checked against it (see ``plan.unverifiable_resume``)."""
    rev = p.partial
    if not plan.unverifiable_resume(rev):
        return
    assert rev is not None
    for f in files:
        if f.file.version == rev.version:
            raise _unverifiable(rev, f.file, len(f.statements))


def look_connection(target: Target | str, options: Options | None = None) -> Connection | None:
    """The read-only connection ``status`` reads through (None for a SQLite file that does not
    exist yet). Raises ConnectError."""
    opts, t = options or Options(), as_target(target)
    dialect = for_target(t)
    return dialect.connect(t, timeout=dialect.look_timeout(opts.connect_timeout, opts.lock_timeout),
                           readonly=True)


def apply(target: Target | str, directory: MigrationDir | str | Path,
          options: Options | None = None, *, dry_run: bool = False,
          logger: Logger | None = None) -> ApplyReport:
    """Apply pending files under the migration lock and return what was done.

    First a read-only look (no lock, no write connection): when nothing is pending we stop
    there, and every pending file is split before anything is written, so a parse error
    leaves no trace (not even a SQLite file). Then the lock, a second look (another run may
    have moved on meanwhile), and the run.

    ``dry_run`` stops after the read-only look and writes nothing at all (better than Atlas,
    whose dry run creates the revisions table and writes baseline rows); events are still
    emitted. Nothing pending is not an error: ``applied`` is empty and nothing is written.
    Raises what ``status`` raises (NonLinearError included), plus ParseError, LockError,
    StatementError (the revision row keeps progress and the error; rerun to resume).
    """
    job = _Job.make(target, directory, options)
    opts, dialect, hf = job.options, job.dialect, job.hash_file
    state, _, _ = job.look()
    to_accept = ([f.name for f, _, _ in changed_applied_files(job.dir, hf, state.revs, dialect)]
                 if opts.allow_changed else [])
    if not state.plan.pending and state.plan.baseline is None and (dry_run or not to_accept):
        return _report(state, dry_run=dry_run, accepted=to_accept if dry_run else [])
    _check_txmodes(state.plan.pending, opts.tx_mode)
    from .events import nop_logger
    from .executor import Executor, check_sizes, prepare

    logger = nop_logger if logger is None else logger
    scan = dialect.scan_options
    prepared = {f.name: prepare(f, hf, scan) for f in state.plan.pending}
    _check_resumable(state.plan, list(prepared.values()))
    if dry_run:
        rows = _dry_run_rows(job, state, prepared)
        ex = Executor(None, None, tx_mode=opts.tx_mode, logger=logger, dry_run=True)
        result, took = _run(ex, [prepared[f.name] for f in state.plan.pending], state, rows)
        return _report(state, dry_run=True, accepted=to_accept, result=result, duration_ns=took)
    conn = dialect.connect(job.target, timeout=opts.connect_timeout)
    assert conn is not None
    try:
        conn.lock(opts.lock_timeout)
        state = job.read_state(conn, opts)  # another run may have moved on meanwhile
        accepted = _accept_edits(state, job.dir, hf, dialect) if opts.allow_changed else []
        p = state.plan
        if not p.pending and p.baseline is None:
            return _report(state, dry_run=False, accepted=accepted)
        _check_txmodes(p.pending, opts.tx_mode)
        files = [prepared.get(f.name) or prepare(f, hf, scan) for f in p.pending]
        _check_resumable(p, files)
        assert state.store is not None
        check_sizes(conn, files)
        if not state.exists:
            state.store.ensure()
        if p.baseline is not None:
            state.store.write(Revision(p.baseline.version, p.baseline.description, TYPE_BASELINE))
        ex = Executor(conn, state.store, tx_mode=opts.tx_mode, logger=logger, dry_run=False,
                      resolve_in_doubt=opts.resolve_in_doubt, lock_timeout=opts.lock_timeout)
        result, took = _run(ex, files, state)
        return _report(state, dry_run=False, accepted=accepted, result=result, duration_ns=took)
    finally:
        conn.close()


class _State(Record):
    """What one look at the database found."""

    __slots__ = _fields = ("store", "exists", "revs", "plan")
    store: RevisionStore | None   # None: a SQLite file that does not exist yet
    exists: bool                  # the revisions table exists
    revs: list[Revision]
    plan: Plan

    def __init__(self, store: RevisionStore | None, exists: bool, revs: list[Revision],
                 plan: Plan) -> None:
        self.store = store
        self.exists = exists
        self.revs = revs
        self.plan = plan


class _Job(Record):
    """One engine call's inputs, resolved: options, target, validated directory, dialect."""

    __slots__ = _fields = ("options", "target", "dir", "hash_file", "dialect", "schema")
    options: Options
    target: Target
    dir: MigrationDir
    hash_file: HashFile
    dialect: Dialect
    schema: str

    def __init__(self, options: Options, target: Target, dir: MigrationDir, hash_file: HashFile,
                 dialect: Dialect, schema: str) -> None:
        self.options = options
        self.target = target
        self.dir = dir
        self.hash_file = hash_file
        self.dialect = dialect
        self.schema = schema

    @classmethod
    def make(cls, target: Target | str, directory: MigrationDir | str | Path,
             options: Options | None) -> "_Job":
        opts = options or Options()
        t, d = as_target(target), load_dir(directory)
        hf = d.validate()
        dialect = for_target(t)
        return cls(opts, t, d, hf, dialect, dialect.revisions_schema(t, opts.revisions_schema))

    def look(self, *, tolerate_out_of_order: bool = False,
             conn: Connection | None = None) -> tuple[_State, str | None, list[str]]:
        """Read the state through a read-only connection (no lock): ``conn`` (left open), else
        one opened here. With ``tolerate_out_of_order``, out-of-order files are returned (with
        the error text) instead of raised, and planning goes on as ``linear-skip``."""
        opts = self.options
        own = conn is None
        if own:
            conn = look_connection(self.target, opts)
        try:
            if conn is not None:
                self.dialect.bound_lock_waits(conn, opts.lock_timeout)
            try:
                return self.read_state(conn, self.options), None, []
            except NonLinearError as err:
                if not tolerate_out_of_order:
                    raise
                skip = self.options.replace(exec_order="linear-skip")
                return self.read_state(conn, skip), str(err), err.out_of_order
        finally:
            if own and conn is not None:
                conn.close()

    def read_state(self, conn: Connection | None, opts: Options) -> _State:
        """Read the revisions and plan (a first run's clean check included)."""
        store = RevisionStore(conn, self.schema, OPERATOR_VERSION) if conn is not None else None
        try:
            return self._plan_from(store, conn, opts)
        except NotCleanError:
            # Without the lock another run may be midway: it created tables after we read an
            # empty revisions table. If it has recorded revisions meanwhile, plan from those.
            if store is None or not store.exists() or not store.read_all():
                raise
            return self._plan_from(store, conn, opts)

    def _plan_from(self, store: RevisionStore | None, conn: Connection | None,
                   opts: Options) -> _State:
        exists = store.exists() if store is not None else False
        revs = store.read_all() if store is not None and exists else []
        check_applied_unchanged(self.dir, self.hash_file, revs, opts.allow_changed,
                                self.dialect)

        def dirty() -> str | None:
            return self.dialect.dirty_reason(conn, self.target, self.schema) if conn is not None else None

        p = plan.compute(self.dir.files, revs, exec_order=opts.exec_order, baseline=opts.baseline,
                         allow_dirty=opts.allow_dirty, dirty_reason=dirty,
                         to_version=opts.to_version, amount=opts.amount)
        return _State(store, exists, revs, p)


def _report(state: _State, *, dry_run: bool, accepted: list[str],
            result: RunResult | None = None, duration_ns: int = 0) -> ApplyReport:
    """The apply report, built once from the state the run started from (its plan) and what
    the run did (``result``; None when nothing ran). A dry run applies nothing."""
    p = state.plan
    start = _start_version(state)
    applied = list(result.applied) if result is not None and not dry_run else []
    baseline = p.baseline.version if p.baseline is not None and result is not None and not dry_run else None
    current = p.pending[len(applied) - 1].version if applied else (
        baseline or current_version(state.revs))
    done = set(applied)
    return ApplyReport(
        from_version=start, current_version=current,
        target_version=p.pending[-1].version if p.pending else start,
        applied=applied, pending=[f.name for f in p.remaining if f.name not in done],
        statements=result.statements if result is not None else 0, duration_ns=duration_ns,
        dry_run=dry_run, baseline_written=baseline, accepted=accepted)


def _dry_run_rows(job: _Job, state: _State, prepared: dict[str, Prepared]) -> dict[str, Revision]:
    """The rows a dry run resumes from: the state's, with a statement an earlier run left in
    doubt settled as the real run settles it (the catalog's answer, read through a read-only
    connection, else ``resolve_in_doubt``; neither: the InDoubtError the real run stops with),
    so the dry run lists exactly the statements the run would run."""
    from . import indoubt
    from .executor import check_history

    rows = {r.version: r for r in state.revs}
    rev = state.plan.partial
    p = next((f for f in prepared.values() if rev is not None and f.file.version == rev.version),
             None)
    if rev is None or p is None or rev.applied >= len(p.statements):
        return rows
    i, s = rev.applied, p.statements[rev.applied]
    if not indoubt.marked_in_doubt(rev, s.text):
        return rows
    check_history(p, rev)  # the real run's first check, before it settles anything
    conn = look_connection(job.target, job.options)
    try:
        done = indoubt.settle(conn, s, i + 1, file=p.file.name, version=p.file.version,
                              resolve=job.options.resolve_in_doubt)
    except Exception as err:
        if conn is None or isinstance(err, MigrateError) or not conn.dialect.connection_lost(conn, err):
            raise
        from .dialects import driver_message
        from .errors import ConnectionLostError

        raise ConnectionLostError(
            f"checking whether statement {i + 1} of {p.file.name} took effect: the "
            f"connection to the database was lost ({driver_message(err, conn.target)}); "
            "rerun the same command once it is reachable", file=p.file.name) from None
    finally:
        if conn is not None:
            conn.close()
    if done:
        mine = p.hashes_upto(i + 1)  # as far as the settled statement, not the whole file
        rows[rev.version] = rev.copy(applied=i + 1,
                                     partial_hashes=(rev.partial_hashes or []) + [mine[i]])
    return rows


def _start_version(state: _State) -> str | None:
    """The version a run starts from, as its header says it: the baseline when one is (or, on
    a dry run, would be) written first, else the current version as ``status`` reports it."""
    p = state.plan
    return p.baseline.version if p.baseline is not None else current_version(state.revs)


def _run(ex: Executor, files: list[Prepared], state: _State,
         rows: dict[str, Revision] | None = None) -> tuple[RunResult, int]:
    """Run ``files`` from the state's version (``_start_version``), resuming from the state's
    rows (or ``rows``); returns what the run did and how long it took (ns)."""
    t0 = time.monotonic_ns()
    existing = {r.version: r for r in state.revs} if rows is None else rows
    result = ex.run(files, existing, current=_start_version(state))
    return result, time.monotonic_ns() - t0


def history(target: Target | str, options: Options | None = None) -> list[Revision]:
    """The revisions table's rows (sorted by version, Atlas Cloud's row excluded), read
    without a migration directory; [] when there is no table. Writes nothing."""
    opts = options or Options()
    t = as_target(target)
    dialect = for_target(t)
    conn = dialect.connect(t, timeout=opts.connect_timeout, readonly=True)
    if conn is None:
        return []
    try:
        store = RevisionStore(conn, dialect.revisions_schema(t, opts.revisions_schema), OPERATOR_VERSION)
        return store.read_all() if store.exists() else []
    finally:
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
                            allow_changed: bool, dialect: Dialect) -> None:
    """Better than Atlas: an applied file whose content changed is an error naming the file.

    Stored hashes are atlas.sum's chained hashes, so the walk stops at the first file that has
    no revision (a later file's hash legitimately changes when an earlier file is added). A row
    Atlas wrote for a file it resumed keeps the failed attempt's hash: see ``changed_applied_files``.
    """
    if allow_changed or not revs:
        return
    changed = [f.name for f, _, _ in changed_applied_files(d, hf, revs, dialect)][:1]
    if changed:
        raise AppliedFileChangedError(
            f"checking applied migrations: {changed[0]} was changed after it was applied "
            f"(its hash differs from the revisions table); restore the file, or add a new migration "
            "for the change", changed).about(hint="allow_changed")


def changed_applied_files(d: MigrationDir, hf: HashFile, revs: list[Revision],
                          dialect: Dialect) -> list[tuple[MigrationFile, Revision, str]]:
    """(file, its row, its current atlas.sum hash) for each cleanly applied file whose hash
    differs from the row's, up to the first file that has no row (atlas.sum hashes are
    chained: once one file changed, every later applied file's hash changed with it).

    A differing hash is not an edit when the row may be Atlas's record of a resumed file
    (``resumed_by_atlas``): Atlas sets ``hash`` only when it creates a row, so after it resumes
    a failed file that was fixed, the row keeps the broken file's hash.
    """
    by_version = {r.version: r for r in revs}
    applied = []
    for f in d.files:
        if f.version not in by_version and f.is_checkpoint:
            continue
        rev = by_version.get(f.version)
        if rev is None:
            break
        current = hf.hash_of(f.name)
        if rev.hash and not rev.partial and current is not None:
            applied.append((f, rev, current))
    return [(f, rev, current) for i, (f, rev, current) in enumerate(applied)
            if current != rev.hash and not resumed_by_atlas(f, rev, applied[i + 1:i + 2], dialect)]


def resumed_by_atlas(f: MigrationFile, rev: Revision,
                     later: list[tuple[MigrationFile, Revision, str]], dialect: Dialect) -> bool:
    """Whether a cleanly applied row whose hash differs from ``f``'s may be Atlas's row of a
    resumed file rather than an edit. Such a row is byte for byte a clean row, so we go by what
    it cannot hide:

    - it was last written by Atlas (our runs always record the file as it ran to the end);
    - ``f`` has exactly ``total`` statements (Atlas keeps the first attempt's total while
      ``applied`` counts the fixed file's statements: a fix with another count stays partial);
    - the next applied row, if any, has its file's current hash: it ran on top of ``f`` as it
      is now (a later edit of ``f`` would have changed that chained hash too).

    When ``f`` is the last applied file the row cannot tell a resume from an edit of the same
    statement count; we then do as Atlas does (it never compares hashes) and go on.
    """
    if rev.operator_version.startswith("pulumi-migrations"):
        return False
    if later:
        _, next_rev, next_current = later[0]
        if next_current != next_rev.hash:
            return False
    return statement_count(f, dialect) == rev.total


def _accept_edits(state: _State, d: MigrationDir, hf: HashFile, dialect: Dialect) -> list[str]:
    """Record the current hash of every edited applied file (under the lock): accepting an edit
    is a one-time act, so the next run without ``allow_changed`` is clean. Returns the names of
    the files whose edit was accepted (the first one edited, then the ones after it whose
    chained hash moved with it)."""
    changed = changed_applied_files(d, hf, state.revs, dialect)
    assert state.store is not None or not changed
    for _, rev, current in changed:
        assert state.store is not None
        state.store.write(rev.copy(hash=current))
    return [f.name for f, _, _ in changed]


def _check_txmodes(files: list[MigrationFile], tx_mode: str) -> None:
    """Atlas's rule: under a global ``all`` no file may ask for another tx mode."""
    if tx_mode != "all":
        return
    for f in files:
        mode = f.txmode
        if mode is not None and mode != "all":
            raise DirectiveError(
                f"reading {f.name}: cannot set txmode directive to {mode!r} when txmode 'all' is set "
                "globally; drop the directive", file=f.name).about("tx_mode", "tx_mode_file")
