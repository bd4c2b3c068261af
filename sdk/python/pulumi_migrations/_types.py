"""The value types the SDK's inputs and outputs use, so a type checker rejects what the engine
would reject at preview (``exec_order="nonlinear"``, ``tx_mode="files"``).

The literals equal the engine's ``reports.EXEC_ORDERS``, ``reports.TX_MODES`` and the driver
names ``target`` knows (tests/test_typing.py holds them equal).
"""

from __future__ import annotations

from typing import Literal, TypedDict, Union

__all__ = ["Driver", "Duration", "ExecOrder", "LintLevel", "MigrationEntry", "MigrationFileInfo",
           "TxMode"]

Driver = Literal["sqlite", "sqlite3", "postgres", "postgresql", "pg", "mysql", "mariadb", "maria"]
"""``Database(driver=...)``: the database kind, as ``target.Target.from_parts`` names it."""

ExecOrder = Literal["linear", "linear-skip", "non-linear"]
"""Atlas ``--exec-order``: ``linear`` (default), ``linear-skip`` or ``non-linear``."""

TxMode = Literal["file", "all", "none"]
"""Atlas ``--tx-mode``: ``file`` (default: one transaction per file), ``all`` or ``none``."""

LintLevel = Literal["error", "warn", "warning", "off"]
"""``Migration(lint={...})``: the severity of a lint category or code (``lint.findings``)."""

Duration = Union[str, float]
"""A Go duration as Atlas takes it (``"10s"``, ``"500ms"``, ``"1m30s"``) or a number of seconds
(``10``, ``2.5``)."""


class MigrationFileInfo(TypedDict):
    """One entry of ``MigrationDirectory.files``."""

    name: str
    """File name, e.g. ``20240101000000_create_users.sql``."""
    version: str
    """The version part of the name (``20240101000000``)."""
    description: str
    """The name part after the version (``create_users``)."""
    hash: str
    """The file's ``atlas.sum`` hash (base64, without ``h1:``)."""


class MigrationEntry(TypedDict, total=False):
    """One value of ``Migration.migrations`` (keyed by file name)."""

    statements: int
    """How many statements the file holds (Atlas's split for the target's dialect)."""
    findings: list[str]
    """Lint findings (``L4 error: DS103 …``), for a file that was pending when recorded."""
