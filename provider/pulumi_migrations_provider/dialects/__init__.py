"""Dialects: one module per database family behind one contract (``base.Dialect``).

- ``base``: the contract (an implementer's checklist), ``Connection``, shared helpers.
- ``sqlite``: stdlib sqlite3. ``postgres``: psycopg 3. ``mysql``: PyMySQL (MySQL and MariaDB).

``for_target`` picks the dialect of a URL and imports only that module, so a SQLite run never
loads the PostgreSQL or MySQL code (nor their drivers, which each imports on first connect).
"""

from __future__ import annotations

from ..target import Target
from .base import REVISION_COLUMNS, TABLE, Connection, Dialect

__all__ = ["REVISION_COLUMNS", "TABLE", "Connection", "Dialect", "for_target", "named",
           "driver_message"]

# Target.dialect and the CLI's --dialect spellings -> the family's canonical name
_FAMILY = {"sqlite": "sqlite", "postgresql": "postgresql", "postgres": "postgresql",
           "mysql": "mysql", "mariadb": "mysql"}
_LOADED: dict[str, Dialect] = {}


def _load(family: str) -> Dialect:
    if family == "sqlite":
        from .sqlite import SQLiteDialect

        return SQLiteDialect()
    if family == "postgresql":
        from .postgres import PostgresDialect

        return PostgresDialect()
    from .mysql import MySQLDialect

    return MySQLDialect()


def named(name: str) -> Dialect:
    """The dialect called ``name`` ("sqlite", "postgres"/"postgresql", "mysql"/"mariadb");
    KeyError for another name."""
    family = _FAMILY[name]
    dialect = _LOADED.get(family)
    if dialect is None:
        dialect = _LOADED[family] = _load(family)
    return dialect


def for_target(target: Target) -> Dialect:
    """The dialect for a target (MariaDB is ``mysql``)."""
    return named(target.dialect)


def driver_message(err: BaseException, target: Target) -> str:
    """A one-line, password-free rendering of a driver error, in the target dialect's words."""
    return for_target(target).driver_message(err, target)
