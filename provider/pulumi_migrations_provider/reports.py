"""Options and results of the engine's entry points (``status``, ``apply``, ``inspect``)."""

from __future__ import annotations

from ._record import FrozenRecord, Record
from .errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any

EXEC_ORDERS = ("linear", "linear-skip", "non-linear")
TX_MODES = ("file", "all", "none")


class Options(FrozenRecord):
    """How to compute and apply pending migrations (Atlas's ``migrate apply`` flags).

    ``to_version`` and ``amount`` are mutually exclusive, as are ``baseline`` and ``allow_dirty``.
    ``allow_changed`` lets a run proceed although an applied file's content changed since it ran.
    ``resolve_in_doubt`` ("done" or "redo") answers for a statement an interrupted run left in
    doubt when the catalog cannot show whether it completed (see ``indoubt``).
    Frozen and hashable; ``replace(**changes)`` returns a validated copy.
    """

    __slots__ = _fields = ("revisions_schema", "baseline", "allow_dirty", "exec_order", "tx_mode",
                           "to_version", "amount", "lock_timeout", "connect_timeout",
                           "allow_changed", "resolve_in_doubt")
    revisions_schema: str | None
    baseline: str | None
    allow_dirty: bool
    exec_order: str
    tx_mode: str
    to_version: str | None
    amount: int | None
    lock_timeout: float
    connect_timeout: float
    allow_changed: bool
    resolve_in_doubt: str | None

    def __init__(self, revisions_schema: str | None = None, baseline: str | None = None,
                 allow_dirty: bool = False, exec_order: str = "linear", tx_mode: str = "file",
                 to_version: str | None = None, amount: int | None = None,
                 lock_timeout: float = 10.0, connect_timeout: float = 10.0,
                 allow_changed: bool = False, resolve_in_doubt: str | None = None) -> None:
        self._assign(revisions_schema, baseline, allow_dirty, exec_order, tx_mode, to_version,
                     amount, lock_timeout, connect_timeout, allow_changed, resolve_in_doubt)
        self._validate()

    def _validate(self) -> None:
        if self.exec_order not in EXEC_ORDERS:
            raise ConfigError(
                f"reading options: unknown exec order {self.exec_order!r}; use one of "
                + ", ".join(EXEC_ORDERS)).about("exec_order")
        if self.tx_mode not in TX_MODES:
            raise ConfigError(f"reading options: unknown tx mode {self.tx_mode!r}; use one of "
                              + ", ".join(TX_MODES)).about("tx_mode")
        if self.baseline and self.allow_dirty:
            raise ConfigError("reading options: baseline and allow-dirty are mutually exclusive; "
                              "pass only one of them").about("baseline")
        if self.to_version is not None and self.amount is not None:
            raise ConfigError("reading options: to-version and an amount are mutually exclusive; "
                              "pass only one of them").about("to_version")
        if self.amount is not None and self.amount < 1:
            raise ConfigError(f"reading options: cannot apply {self.amount} migration files; "
                              "omit the amount or pass a number of at least 1").about("amount")
        if self.lock_timeout < 0:
            raise ConfigError("reading options: lock timeout must not be negative").about("lock_timeout")
        if self.resolve_in_doubt not in (None, "done", "redo"):
            raise ConfigError(f"reading options: resolve-in-doubt {self.resolve_in_doubt!r} is "
                              "neither 'done' nor 'redo'").about("resolve_in_doubt")


class StatusReport(Record):
    """What is applied and what is pending. Nothing was written to compute it.

    ``pending`` lists file names in the order apply would run them (limited by ``to_version``
    or ``amount``); ``out_of_order`` names files skipped before the last applied version.
    ``current_version`` is None when nothing is applied. ``partial`` is true when the last
    revision stopped midway (``applied_statements`` of ``total_statements``), with ``error``
    and ``error_statement`` from the failed attempt. ``revisions`` are the rows read (what
    Atlas's JSON lists as ``Applied``); ``to_dict`` leaves them out.
    """

    __slots__ = _fields = ("status", "current_version", "next_version", "latest_version",
                           "target_version", "executed", "pending", "out_of_order", "partial",
                           "applied_statements", "total_statements", "error", "error_statement",
                           "revisions_table", "table_exists", "revisions")
    _hidden = ("revisions",)
    status: str                                # "OK" | "PENDING"
    current_version: str | None
    next_version: str | None
    latest_version: str | None                 # last file in the directory
    target_version: str | None                 # where apply would stop
    executed: int                              # revision rows
    pending: list[str]
    out_of_order: list[str]
    partial: bool
    applied_statements: int
    total_statements: int
    error: str | None
    error_statement: str | None
    revisions_table: str
    table_exists: bool
    revisions: list[Any]                       # the rows read (Revision); not in to_dict()

    def __init__(self, status: str, current_version: str | None, next_version: str | None,
                 latest_version: str | None, target_version: str | None, executed: int,
                 pending: list[str] | None = None, out_of_order: list[str] | None = None,
                 partial: bool = False, applied_statements: int = 0, total_statements: int = 0,
                 error: str | None = None, error_statement: str | None = None,
                 revisions_table: str = "", table_exists: bool = False,
                 revisions: list[Any] | None = None) -> None:
        self.status = status
        self.current_version = current_version
        self.next_version = next_version
        self.latest_version = latest_version
        self.target_version = target_version
        self.executed = executed
        self.pending = [] if pending is None else pending
        self.out_of_order = [] if out_of_order is None else out_of_order
        self.partial = partial
        self.applied_statements = applied_statements
        self.total_statements = total_statements
        self.error = error
        self.error_statement = error_statement
        self.revisions_table = revisions_table
        self.table_exists = table_exists
        self.revisions = [] if revisions is None else revisions

    def to_dict(self) -> dict[str, Any]:
        d = self._asdict()
        del d["revisions"]
        return d


class ApplyReport(Record):
    """What one apply did. ``applied`` lists the files completed by this run, in order;
    ``pending`` those still pending after the run; ``accepted`` the applied files whose edit
    this run accepted (``allow_changed``: their new hash is recorded, later runs are clean)."""

    __slots__ = _fields = ("from_version", "current_version", "target_version", "applied",
                           "pending", "statements", "duration_ns", "dry_run", "baseline_written",
                           "accepted")
    from_version: str | None
    current_version: str | None
    target_version: str | None
    applied: list[str]
    pending: list[str]
    statements: int
    duration_ns: int
    dry_run: bool
    baseline_written: str | None
    accepted: list[str]

    def __init__(self, from_version: str | None, current_version: str | None,
                 target_version: str | None, applied: list[str] | None = None,
                 pending: list[str] | None = None, statements: int = 0, duration_ns: int = 0,
                 dry_run: bool = False, baseline_written: str | None = None,
                 accepted: list[str] | None = None) -> None:
        self.from_version = from_version
        self.current_version = current_version
        self.target_version = target_version
        self.applied = [] if applied is None else applied
        self.pending = [] if pending is None else pending
        self.statements = statements
        self.duration_ns = duration_ns
        self.dry_run = dry_run
        self.baseline_written = baseline_written
        self.accepted = [] if accepted is None else accepted

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class TargetInfo(FrozenRecord):
    """What ``inspect`` learns about a database without writing to it. Frozen and hashable."""

    __slots__ = _fields = ("dialect", "server_version", "flavor", "revisions_schema",
                           "revisions_table")
    dialect: str              # "sqlite" | "postgresql" | "mysql"
    server_version: str
    flavor: str               # "sqlite" | "postgresql" | "mysql" | "mariadb"
    revisions_schema: str     # where the revisions table lives (or would be created)
    revisions_table: str      # schema-qualified name, e.g. "atlas_schema_revisions.atlas_schema_revisions"

    def __init__(self, dialect: str, server_version: str, flavor: str, revisions_schema: str,
                 revisions_table: str) -> None:
        self._assign(dialect, server_version, flavor, revisions_schema, revisions_table)

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()
