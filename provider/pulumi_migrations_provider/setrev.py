"""``set``: move the recorded version without running anything (Atlas's ``migrate set``).

Contract of ``set_version(target, directory, version, options, dry_run=, allow_partial=)``:

- Every file up to and including ``version`` ends up recorded as applied and every row after
  it is deleted. Rows are written as Atlas's ``migrate set`` writes them: a file without a row
  gets type 4 (``manually set``), applied 0 of 0, ``executed_at`` now, execution time 0, its
  atlas.sum hash, our operator version; a failed row at ``version`` becomes type 6
  (``applied + manually set``). Rows up to ``version`` are otherwise left as they are.
- ``version`` must name a file of the directory (checkpoints included). ``None`` means the last
  file (an empty directory: delete every row), allowed only when rows exist (as Atlas).
- A row that stopped midway (applied < total) and would be kept is refused
  (``PartialRevisionError``) unless ``allow_partial``: then it is recorded as complete (type 6,
  error cleared, applied = total = the statement count of its file as it is now: a row Atlas
  resumed after a fix added a statement says 4 of 3, and 4 ran). A row set as applied takes its
  file's current atlas.sum hash (the file was usually fixed after the failure; the old hash
  would read as an edit). Deleting such a row after ``version`` needs no flag.
- Under the migration lock, in one transaction; creates the revisions table when missing.
- ``dry_run`` reads through a read-only connection without the lock and writes nothing.

As Atlas, a file added out of order between recorded versions gets no row (recording it would
change the chained atlas.sum hash of every later file, which we check): run it with
``--exec-order non-linear`` or skip it with ``linear-skip``. Difference from Atlas, on purpose:
Atlas marks a partial row at ``version`` type 6 and writes it back otherwise unchanged (applied,
total, hash, error: ``cmdapi/migrate.go`` ``migrateSetRun``), so applied < total stays a resume
and 4 of 3 stays partial for good; we refuse, or with ``allow_partial`` record it complete as the
file is now (its statement count, its hash), which Atlas then reads as done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import DirError, PartialRevisionError, VersionError
from .migdir import MigrationDir, MigrationFile
from .reports import Options
from .revisions import TYPE_EXECUTE, TYPE_RESOLVED, Revision, RevisionStore
from .sumfile import HashFile
from .target import Target, as_target

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Callable

    from .dialects import Connection


@dataclass(slots=True)
class SetOp:
    """One change to the revisions table: ``op`` is ``set`` (row written) or ``remove``
    (row deleted); ``revision`` is the row as written, or as it was before deletion."""

    op: str
    revision: Revision


@dataclass(slots=True)
class SetReport:
    """What ``set`` changed (or, on a dry run, would change). ``ops`` are sorted by version;
    ``current`` is the last row afterwards (None when no row is left)."""

    version: str
    ops: list[SetOp]
    current: Revision | None
    dry_run: bool
    revisions_table: str

    def summary(self) -> str:
        """Atlas's ``MigrateSet.Summary``: ``2 set, 1 removed``."""
        s = sum(1 for o in self.ops if o.op == "set")
        d = len(self.ops) - s
        return ", ".join(part for part in (f"{s} set" if s else "", f"{d} removed" if d else "") if part)

    def to_dict(self) -> dict[str, Any]:
        """Our ``set --format json``, in our keys as ``status`` and ``apply`` print theirs (Atlas's
        ``Revisions``/``Latest`` are ``--format '{{ json . }}'``'s): each op is the row written
        or deleted, its columns by name (``type`` as stored, ``executed_at`` as text)."""
        def row(r: Revision) -> dict[str, Any]:
            d = r._asdict()
            when = d["executed_at"]
            d["executed_at"] = when.isoformat(sep=" ") if hasattr(when, "isoformat") else when
            return d

        return {"dry_run": self.dry_run, "revisions_table": self.revisions_table,
                "version": self.version,
                "current_version": self.current.version if self.current is not None else None,
                "summary": self.summary(),
                "ops": [{"op": o.op, **row(o.revision)} for o in self.ops]}


def plan_set(files: list[MigrationFile], hf: HashFile, revs: list[Revision], version: str,
             *, allow_partial: bool = False,
             statements: Callable[[MigrationFile], int | None] | None = None) -> list[SetOp]:
    """The rows to delete and write (pure: no database). ``revs`` sorted by version;
    ``statements`` counts a file's statements (None: it does not split), for a partial row
    recorded as complete (without it, or without the file, the larger of applied and total)."""
    ops: list[SetOp] = []
    kept: list[Revision] = []
    by_version = {f.version: f for f in files}

    def current_hash(r: Revision) -> str:
        # A row set as applied records the file as it is now (usually fixed after the failure):
        # the broken file's hash it was created with would make the next run call it edited.
        f = by_version.get(r.version)
        return (hf.hash_of(f.name) if f is not None else None) or r.hash

    def current_count(r: Revision) -> int:
        # Complete means every statement of the file as it is now ran: the row's total is the
        # first attempt's (Atlas keeps it when it resumes a fixed file), so 4 of 3 is 4 of 4.
        f = by_version.get(r.version)
        n = statements(f) if f is not None and statements is not None else None
        return n if n is not None else max(r.applied, r.total)

    for r in revs:
        if r.version > version:
            ops.append(SetOp("remove", r))
            continue
        kept.append(r)
        if r.partial:
            if not allow_partial:
                raise _partial_refused(r, version, files)
            n = current_count(r)
            ops.append(SetOp("set", r.copy(type=TYPE_EXECUTE | TYPE_RESOLVED, applied=n, total=n,
                                           error="", error_stmt="", partial_hashes=None,
                                           hash=current_hash(r))))
        elif r.version == version and r.error:
            ops.append(SetOp("set", r.copy(type=TYPE_EXECUTE | TYPE_RESOLVED, error="", error_stmt="",
                                           hash=current_hash(r))))
    last = kept[-1].version if kept else None
    todo = [f for f in files if f.version <= version and (last is None or f.version > last)]
    for f in todo:
        h = hf.hash_of(f.name)
        if h is None:
            raise DirError(f"setting the current version to {version}: {f.name} has no atlas.sum "
                           "entry (its first line says 'atlas:sum ignore'); remove the directive "
                           "and run 'pulumi-migrations hash'")
        ops.append(SetOp("set", Revision(f.version, f.description, TYPE_RESOLVED, hash=h)))
    ops.sort(key=lambda o: o.revision.version.encode())
    return ops


def _partial_refused(r: Revision, version: str, files: list[MigrationFile]) -> PartialRevisionError:
    name = next((f.name for f in files if f.version == r.version), f"version {r.version}")
    why = f"; its last error: {' '.join(r.error.split())}" if r.error else ""
    return PartialRevisionError(
        f"setting the current version to {version}: {name} (version {r.version}) stopped midway "
        f"({r.applied} of {r.total} statements ran{why}); finish or undo its remaining statements "
        f"by hand, then record it as fully applied, or set a version before {r.version} to "
        "remove its row", r.version).about(hint="allow_partial")


def set_version(target: Target | str, directory: MigrationDir | str | Path, version: str | None,
                options: Options | None = None, *, dry_run: bool = False,
                allow_partial: bool = False) -> SetReport:
    """Record everything up to ``version`` as applied and delete later rows (see the module
    docstring). Raises VersionError, PartialRevisionError, DirError, ConnectError, LockError,
    RevisionStoreError."""
    from .dialects import for_target
    from .engine import OPERATOR_VERSION, load_dir, statement_count

    opts = options or Options()
    t, d = as_target(target), load_dir(directory)
    hf = d.validate()
    dialect = for_target(t)
    schema = dialect.revisions_schema(t, opts.revisions_schema)
    table = f"{schema}.atlas_schema_revisions"
    if version is not None and not any(f.version == version for f in d.files):
        raise VersionError(f"setting the current version to {version}: no migration file has "
                           "that version; pass the version of a file in the directory")
    empty = ("setting the current version: the revisions table is empty, so "
                                   "there is nothing to keep or remove; pass the VERSION to record "
                                   "as applied")
    if dry_run:
        conn = dialect.connect(t, timeout=dialect.look_timeout(opts.connect_timeout, opts.lock_timeout),
                               readonly=True)
    else:
        if version is None:  # refused before anything is written (not even a SQLite file)
            probe = dialect.connect(t, timeout=opts.connect_timeout, readonly=True)
            if probe is None:
                raise VersionError(empty)
            probe.close()
        conn = dialect.connect(t, timeout=opts.connect_timeout)
    try:
        store: RevisionStore | None = None
        exists = False
        revs: list[Revision] = []
        if conn is not None:
            if dry_run:
                dialect.bound_lock_waits(conn, opts.lock_timeout)
            else:
                conn.lock(opts.lock_timeout)
            store = RevisionStore(conn, schema, OPERATOR_VERSION)
            exists = store.exists()
            if exists:
                revs = store.read_all()
        if version is None:
            if not revs:
                raise VersionError(empty)
            version = d.files[-1].version if d.files else ""
        ops = plan_set(d.files, hf, revs, version, allow_partial=allow_partial,
                       statements=lambda f: statement_count(f, dialect))
        for o in ops:  # what the row will hold, for the report (the store writes the same)
            o.revision.operator_version = OPERATOR_VERSION
            if o.revision.executed_at is None:
                o.revision.executed_at = dialect.executed_at()
        if ops and not dry_run:
            assert conn is not None and store is not None
            if not exists:  # created only once there is something to write
                store.ensure()
            _write(conn, store, ops)
    finally:
        if conn is not None:
            conn.close()
    after = {r.version: r for r in revs}
    for o in ops:
        if o.op == "remove":
            after.pop(o.revision.version, None)
        else:
            after[o.revision.version] = o.revision
    current = after[max(after, key=str.encode)] if after else None
    return SetReport(version, ops, current, dry_run, table)


def _write(conn: Connection, store: RevisionStore, ops: list[SetOp]) -> None:
    """Apply ``ops`` in one transaction (rolled back on any failure: ``executor.transaction``,
    the one place a transaction begins and ends)."""
    from .executor import transaction

    with transaction(conn):
        for o in ops:
            if o.op == "remove":
                store.delete(o.revision.version)
            else:
                store.write(o.revision)
