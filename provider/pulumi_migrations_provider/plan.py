"""Which files are pending: Atlas's ``Executor.Pending`` rules as a pure function.

Every ordering rule lives here (first run, baseline, checkpoints, a partially applied last
file, out-of-order files, ``to_version`` / amount) so it can be tested without a database.
Versions compare as Python strings, which is Go's byte-wise string order.
"""

from __future__ import annotations


from ._record import Record
from .errors import MissingMigrationError, NonLinearError, NotCleanError, VersionError
from .migdir import MigrationFile
from .revisions import Revision

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Callable, Sequence


class Plan(Record):
    """The outcome of planning.

    ``pending`` is in execution order (out-of-order files first under ``non-linear``);
    ``baseline`` is the file to record as a baseline revision before anything runs (first run
    with ``--baseline`` only); ``partial`` is the revision of a partially applied last file.
    ``remaining`` is all pending files, before ``to_version``/amount.
    """

    __slots__ = _fields = ("pending", "out_of_order", "baseline", "partial", "remaining")
    pending: list[MigrationFile]
    out_of_order: list[MigrationFile]
    baseline: MigrationFile | None
    partial: Revision | None
    remaining: list[MigrationFile]

    def __init__(self, pending: list[MigrationFile] | None = None,
                 out_of_order: list[MigrationFile] | None = None,
                 baseline: MigrationFile | None = None, partial: Revision | None = None,
                 remaining: list[MigrationFile] | None = None) -> None:
        self.pending = [] if pending is None else pending
        self.out_of_order = [] if out_of_order is None else out_of_order
        self.baseline = baseline
        self.partial = partial
        self.remaining = [] if remaining is None else remaining

    @property
    def all_pending(self) -> int:
        return len(self.remaining)


def unverifiable_resume(rev: Revision | None) -> bool:
    """Whether the partially applied row ``rev`` says statements ran (``applied`` > 0) but keeps
    fewer statement hashes than that, so a resume cannot check them against the file. Atlas
    leaves such a row when it resumes a file whose fix added statements: ``total`` stays the
    first attempt's (applied 4 of 3: partial for good to its ``Pending``) and a finished file's
    hashes are reset; its own next apply then indexes the missing hashes and panics."""
    return (rev is not None and rev.partial and rev.applied > 0
            and len(rev.partial_hashes or []) < rev.applied)


def compute(files: Sequence[MigrationFile], revisions: Sequence[Revision], *,
            exec_order: str = "linear", baseline: str | None = None,
            allow_dirty: bool = False, dirty_reason: Callable[[], str | None] = lambda: None,
            to_version: str | None = None, amount: int | None = None) -> Plan:
    """Compute the pending files for ``files`` (sorted) against ``revisions`` (sorted by version).

    ``dirty_reason`` is asked only on the first run (no revisions); it returns why the database
    is not clean, or None. Raises NotCleanError, VersionError (unknown baseline or to_version),
    MissingMigrationError, NonLinearError (``linear`` order only).
    """
    plan = Plan()
    migrations = [f for f in files if not f.is_checkpoint]
    if not revisions:
        if baseline is None and not allow_dirty:
            reason = dirty_reason()
            if reason is not None:
                raise NotCleanError(
                    f"checking the database before the first migration: it is not clean ({reason})"
                ).about("baseline", "baseline_or_allow_dirty")
        if baseline is not None:
            idx = _last_index(migrations, lambda f: f.version == baseline)
            if idx == -1:
                raise VersionError(
                    f"setting the baseline: version {baseline!r} has no migration file; "
                    "pass the version of an existing file")
            plan.baseline = migrations[idx]
            pending = migrations[idx + 1:]
        else:
            pending = _from_last_checkpoint(files)
    else:
        last = revisions[-1]
        partially = last.applied != last.total
        pending = []
        if partially:
            found = next((f for f in files if f.version == last.version), None)
            if found is not None and found.is_checkpoint:
                plan.partial = last
                rest = [f for f in files if f.version > found.version and not f.is_checkpoint]
                return _limit(plan, [found] + rest, to_version, amount, revisions)
        if migrations:
            if partially:
                idx = _last_index(migrations, lambda f: f.version == last.version)
                if idx == -1:
                    raise MissingMigrationError(
                        f"resuming version {last.version}: revision {last.version}_{last.description}.sql "
                        "is partially applied but its migration file was not found; restore the file")
                plan.partial = last
            else:
                idx = _last_index(migrations, lambda f: f.version <= last.version)
            if idx == -1:
                pending = list(migrations)
            else:
                if not partially:
                    idx += 1
                pending = migrations[idx:]
                if exec_order != "linear-skip":
                    first_version = revisions[0].version
                    applied = {r.version for r in revisions}
                    skipped = [f for f in migrations[:idx]
                               if f.version >= first_version and f.version not in applied]
                    if skipped and exec_order == "non-linear":
                        pending = skipped + pending
                        plan.out_of_order = skipped
                    elif skipped:
                        names = [f.name for f in skipped]
                        what = (f"file {names[0]} was" if len(names) == 1
                                else f"files {', '.join(names)} were")
                        raise NonLinearError(
                            f"computing pending migrations: migration {what} added out of order "
                            f"(last applied version is {last.version}); rename it to a later version",
                            names).about("exec_order", "exec_order")
    return _limit(plan, pending, to_version, amount, revisions)


def _limit(plan: Plan, pending: list[MigrationFile], to_version: str | None,
           amount: int | None, revisions: Sequence[Revision]) -> Plan:
    plan.remaining = list(pending)
    if to_version is not None:
        idx = _last_index(pending, lambda f: f.version == to_version)
        if idx == -1:
            current = revisions[-1].version if revisions else None
            if current is not None and to_version == current and not revisions[-1].partial:
                pending = []
            elif current is not None and to_version < current:
                raise VersionError(
                    f"applying up to version {to_version}: the database is already at version "
                    f"{current}, which is later; down migrations are not supported yet, so declare "
                    f"version {current} or later (or add a new migration that reverts the change)")
            else:
                raise VersionError(
                    f"applying up to version {to_version!r}: no pending migration has that version; "
                    "check `status` for the applied and pending versions")
        else:
            pending = pending[:idx + 1]
    if amount is not None:
        pending = pending[:amount]
    plan.pending = pending
    return plan


def _from_last_checkpoint(files: Sequence[MigrationFile]) -> list[MigrationFile]:
    idx = _last_index(files, lambda f: f.is_checkpoint)
    return list(files) if idx == -1 else list(files[idx:])


def _last_index(items: Sequence[MigrationFile], pred: Callable[[MigrationFile], bool]) -> int:
    for i in range(len(items) - 1, -1, -1):
        if pred(items[i]):
            return i
    return -1
