"""Options and results of the engine's entry points (``status``, ``apply``, ``inspect``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import ConfigError

EXEC_ORDERS = ("linear", "linear-skip", "non-linear")
TX_MODES = ("file", "all", "none")


@dataclass(frozen=True)
class Options:
    """How to compute and apply pending migrations (Atlas's ``migrate apply`` flags).

    ``to_version`` and ``amount`` are mutually exclusive, as are ``baseline`` and ``allow_dirty``.
    ``allow_changed`` lets a run proceed although an applied file's content changed since it ran.
    """
    revisions_schema: str | None = None
    baseline: str | None = None
    allow_dirty: bool = False
    exec_order: str = "linear"
    tx_mode: str = "file"
    to_version: str | None = None
    amount: int | None = None
    lock_timeout: float = 10.0
    connect_timeout: float = 10.0
    allow_changed: bool = False

    def __post_init__(self) -> None:
        if self.exec_order not in EXEC_ORDERS:
            raise ConfigError(
                f"reading options: unknown exec order {self.exec_order!r}; use one of "
                + ", ".join(EXEC_ORDERS))
        if self.tx_mode not in TX_MODES:
            raise ConfigError(
                f"reading options: unknown tx mode {self.tx_mode!r}; use one of " + ", ".join(TX_MODES))
        if self.baseline and self.allow_dirty:
            raise ConfigError("reading options: baseline and allow-dirty are mutually exclusive; "
                              "pass only one of them")
        if self.to_version is not None and self.amount is not None:
            raise ConfigError("reading options: to-version and an amount are mutually exclusive; "
                              "pass only one of them")
        if self.amount is not None and self.amount < 1:
            raise ConfigError(f"reading options: cannot apply {self.amount} migration files; "
                              "omit the amount or pass a number of at least 1")
        if self.lock_timeout < 0:
            raise ConfigError("reading options: lock timeout must not be negative")


@dataclass
class StatusReport:
    """What is applied and what is pending. Nothing was written to compute it.

    ``pending`` lists file names in the order apply would run them (limited by ``to_version``
    or ``amount``); ``out_of_order`` names files skipped before the last applied version.
    ``current_version`` is None when nothing is applied. ``partial`` is true when the last
    revision stopped midway (``applied_statements`` of ``total_statements``), with ``error``
    and ``error_statement`` from the failed attempt.
    """
    status: str                                # "OK" | "PENDING"
    current_version: str | None
    next_version: str | None
    latest_version: str | None                 # last file in the directory
    target_version: str | None                 # where apply would stop
    executed: int                              # revision rows
    pending: list[str] = field(default_factory=list)
    out_of_order: list[str] = field(default_factory=list)
    partial: bool = False
    applied_statements: int = 0
    total_statements: int = 0
    error: str | None = None
    error_statement: str | None = None
    revisions_table: str = ""
    table_exists: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ApplyReport:
    """What one apply did. ``applied`` lists the files completed by this run, in order."""
    from_version: str | None
    current_version: str | None
    target_version: str | None
    applied: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)   # still pending after the run
    statements: int = 0
    duration_ns: int = 0
    dry_run: bool = False
    baseline_written: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TargetInfo:
    """What ``inspect`` learns about a database without writing to it."""
    dialect: str              # "sqlite" | "postgresql" | "mysql"
    server_version: str
    flavor: str               # "sqlite" | "postgresql" | "mysql" | "mariadb"
    revisions_schema: str     # where the revisions table lives (or would be created)
    revisions_table: str      # schema-qualified name, e.g. "atlas_schema_revisions.atlas_schema_revisions"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
