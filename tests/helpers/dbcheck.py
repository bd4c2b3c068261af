"""Look at a test database from the outside, with the raw drivers (no engine code).

Every function takes the Atlas-style URL the engine was given (``sqlite://path``,
``postgres://app:…@host:port/db?…``, ``mysql://app:…@host:port/db``) and opens its own
autocommit connection, so what it sees is what is committed.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

REVISIONS = "atlas_schema_revisions"


@dataclass
class Row:
    """One revisions-table row as stored. ``partial_hashes_text`` is the column rendered as text:
    ``"null"`` for JSON null, None for SQL NULL, else the JSON array text."""
    version: str
    applied: int
    total: int
    error: str | None
    error_stmt: str | None
    hash: str
    partial_hashes_text: str | None

    @property
    def partial_hashes(self) -> list[str] | None:
        """The decoded JSON array, or None for SQL NULL / JSON null."""
        if self.partial_hashes_text is None:
            return None
        return json.loads(self.partial_hashes_text)


def dialect_of(url: str) -> str:
    """``sqlite`` | ``postgresql`` | ``mysql`` from the URL scheme."""
    scheme = url.split("://", 1)[0].lower()
    return {"sqlite": "sqlite", "postgres": "postgresql", "postgresql": "postgresql",
            "mysql": "mysql", "maria": "mysql", "mariadb": "mysql"}[scheme]


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite://path`` URL."""
    return url.split("://", 1)[1].split("?", 1)[0]


def connect(url: str) -> Any:
    """Open a raw autocommit DB-API connection to the database of ``url``."""
    dialect = dialect_of(url)
    if dialect == "sqlite":
        return sqlite3.connect(sqlite_path(url), isolation_level=None)
    parts = urlsplit(url)
    user = unquote(parts.username or "")
    password = unquote(parts.password or "")
    database = parts.path.lstrip("/")
    if dialect == "postgresql":
        import psycopg
        return psycopg.connect(host=parts.hostname, port=parts.port, user=user, password=password,
                               dbname=database, autocommit=True, connect_timeout=5)
    import pymysql
    return pymysql.connect(host=parts.hostname, port=parts.port, user=user, password=password,
                           database=database, autocommit=True, connect_timeout=5)


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Run one query (``%s`` placeholders; ``?`` on SQLite) and return all rows."""
    conn = connect(url)
    try:
        cur = conn.cursor()
        cur.execute(sql, params)
        rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
        cur.close()
        return rows
    finally:
        conn.close()


def tables(url: str) -> set[str]:
    """Names of every table in the URL's database (PG: every non-system schema)."""
    dialect = dialect_of(url)
    if dialect == "sqlite":
        if not os.path.exists(sqlite_path(url)):
            return set()
        return {r[0] for r in query(url, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    if dialect == "postgresql":
        return {r[0] for r in query(url, (
            "SELECT table_name FROM information_schema.tables WHERE table_schema NOT IN "
            "('pg_catalog', 'information_schema')"))}
    return {r[0] for r in query(url, (
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"))}


def revisions_table(url: str) -> str:
    """The qualified revisions table for the URL (Atlas's default location)."""
    dialect = dialect_of(url)
    if dialect == "sqlite":
        return f"main.{REVISIONS}"
    if dialect == "postgresql":
        return f"{REVISIONS}.{REVISIONS}"
    return REVISIONS


def has_revisions_table(url: str) -> bool:
    """True when the revisions table exists where Atlas would put it."""
    dialect = dialect_of(url)
    if dialect == "sqlite":
        return REVISIONS in tables(url)
    if dialect == "postgresql":
        return bool(query(url, "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
                               "AND table_name = %s", (REVISIONS, REVISIONS)))
    return REVISIONS in tables(url)


def revisions(url: str) -> dict[str, Row]:
    """Every revision row by version ({} when the table does not exist)."""
    if not has_revisions_table(url):
        return {}
    dialect = dialect_of(url)
    ph = {"sqlite": "CAST(partial_hashes AS TEXT)", "postgresql": "partial_hashes::text",
          "mysql": "CAST(partial_hashes AS CHAR)"}[dialect]
    rows = query(url, f"SELECT version, applied, total, error, error_stmt, hash, {ph} "
                      f"FROM {revisions_table(url)}")
    return {r[0]: Row(r[0], int(r[1]), int(r[2]), r[3], r[4], r[5], r[6]) for r in rows}


def has_table(url: str, name: str) -> bool:
    """True when table ``name`` exists in the URL's database."""
    return name in tables(url)
