"""Out-of-band database access for tests, through SQLAlchemy Core (independent of the engine).

``query(url, sql)`` runs one statement on the database an Atlas-style test URL points at and
returns the rows; ``revisions(url)`` reads the revisions table where Atlas would put it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pulumi_migrations_provider.target import Target


def engine_for(url: str) -> sa.Engine:
    t = Target.parse(url)
    if t.dialect == "sqlite":
        return sa.create_engine(sa.URL.create("sqlite+pysqlite", database=t.sqlite_path()),
                                poolclass=sa.NullPool)
    driver = "postgresql+psycopg" if t.dialect == "postgresql" else "mysql+pymysql"
    return sa.create_engine(sa.URL.create(driver, username=t.user, password=t.password,
                                          host=t.host, port=t.port, database=t.database),
                            poolclass=sa.NullPool)


def query(url: str, sql: str, **params: Any) -> list[tuple]:
    eng = engine_for(url)
    try:
        with eng.begin() as conn:
            result = conn.execute(sa.text(sql), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        eng.dispose()


def execute(url: str, *statements: str) -> None:
    eng = engine_for(url)
    try:
        with eng.begin() as conn:
            for s in statements:
                conn.exec_driver_sql(s)
    finally:
        eng.dispose()


def revisions_table(url: str) -> str:
    t = Target.parse(url)
    if t.dialect == "sqlite":
        return "atlas_schema_revisions"
    if t.dialect == "mysql":
        return f"`{t.database}`.atlas_schema_revisions"
    schema = t.bound_schema or "atlas_schema_revisions"
    return f'"{schema}".atlas_schema_revisions'


def revisions(url: str) -> list[dict[str, Any]]:
    """All revision rows as dicts, ordered by version; [] when the table does not exist."""
    if not table_exists(url):
        return []
    rows = query(url, f"SELECT version, description, type, applied, total, executed_at, execution_time, "
                      f"error, error_stmt, hash, partial_hashes, operator_version FROM {revisions_table(url)} "
                      "ORDER BY version")
    keys = ("version", "description", "type", "applied", "total", "executed_at", "execution_time",
            "error", "error_stmt", "hash", "partial_hashes", "operator_version")
    return [dict(zip(keys, r)) for r in rows]


def table_exists(url: str, table: str = "atlas_schema_revisions") -> bool:
    eng = engine_for(url)
    try:
        insp = sa.inspect(eng)
        t = Target.parse(url)
        if t.dialect == "postgresql":
            return any(insp.has_table(table, schema=s) for s in insp.get_schema_names())
        return insp.has_table(table)
    finally:
        eng.dispose()


def user_tables(url: str) -> list[str]:
    """Tables in the URL's own schema/database (PG: public), excluding the revisions table."""
    eng = engine_for(url)
    try:
        names = sa.inspect(eng).get_table_names()
    finally:
        eng.dispose()
    return sorted(n for n in names if n != "atlas_schema_revisions")


def columns(url: str, table: str) -> list[str]:
    """The column names of ``table`` in the URL's own schema/database."""
    eng = engine_for(url)
    try:
        return [c["name"] for c in sa.inspect(eng).get_columns(table)]
    finally:
        eng.dispose()
