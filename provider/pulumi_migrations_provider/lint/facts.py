"""Live facts about the tables a pending migration touches, read without writing or waiting.

``read_facts(target, tables, timeout)`` returns ``Facts``: per table the estimated row count,
the size on disk, and its columns (type, nullability) and foreign-key names, which sharpen some
findings (a type change that narrows, an ENUM reorder, the columns a SQLite rebuild drops).

What is read, per dialect (never a write, never a lock that waits):

- PostgreSQL: ``pg_class.reltuples`` (an exact but bounded count when the table was never
  analysed), ``pg_total_relation_size``, ``pg_attribute``/``format_type``, ``pg_constraint``;
  the session runs read-only with ``lock_timeout`` and ``statement_timeout`` set, so a table
  held by an ACCESS EXCLUSIVE lock gives no size instead of a wait. All tables in one query
  (one round trip per resource in a preview, whatever the number of tables); when a table is
  locked, again table by table, so only that one lacks its size or count.
- MySQL/MariaDB: ``information_schema.TABLES`` (``TABLE_ROWS``, ``DATA_LENGTH +
  INDEX_LENGTH``; InnoDB's estimate), ``COLUMNS`` and ``KEY_COLUMN_USAGE``, with
  ``lock_wait_timeout`` at its minimum (1 s) and a statement time limit.
- SQLite: a bounded ``count(*)`` (at most ``COUNT_LIMIT`` + 1 rows are read), the ``dbstat``
  size where SQLite has it, ``PRAGMA table_info``/``foreign_key_list``; the file is opened
  read-only with no busy wait.

An unreachable database, or any failed look, is not an exception: the ``Facts`` carry a
one-line ``note`` (password scrubbed) and the findings stay static.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import MigrateError
from ..target import Target, as_target

if TYPE_CHECKING:
    from ..dialects import Connection

__all__ = ["Facts", "TableFacts", "ColumnFacts", "read_facts", "table_key", "COUNT_LIMIT"]

#: Rows a bounded count reads at most (one more tells "more than this").
COUNT_LIMIT = 100_000


@dataclass(slots=True)
class ColumnFacts:
    """One column: its type as the catalog spells it, nullability, and whether it is a virtual
    generated column (dropping one loses no data: not DS103, as in Atlas)."""

    name: str
    type: str
    nullable: bool
    virtual: bool = False


@dataclass(slots=True)
class TableFacts:
    """One table: ``rows`` (estimate; None unknown), ``bytes`` (None unknown), ``exact``
    (rows counted, not estimated), ``columns`` by lower-case name, ``foreign_keys`` (lower-case
    constraint name -> its lower-case column names)."""

    name: str
    rows: int | None = None
    bytes: int | None = None
    exact: bool = False
    columns: dict[str, ColumnFacts] = field(default_factory=dict)
    foreign_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(slots=True)
class Facts:
    """What the target told us: ``tables`` by ``table_key``, ``note`` when something could
    not be read (the whole look, or one table), ``flavor`` ("mariadb"/"mysql"/...),
    ``settings`` (server variables some findings depend on, e.g. MySQL's
    ``explicit_defaults_for_timestamp``)."""

    dialect: str
    tables: dict[str, TableFacts] = field(default_factory=dict)
    note: str | None = None
    flavor: str | None = None
    settings: dict[str, str] = field(default_factory=dict)

    def table(self, name: str | None) -> TableFacts | None:
        if name is None:
            return None
        return self.tables.get(table_key(name, self.dialect))


def table_key(name: str, dialect: str) -> str:
    """How a table name is looked up: lower case, without PostgreSQL's ``public.``."""
    key = name.lower()
    if dialect in ("postgres", "postgresql") and key.startswith("public."):
        key = key[len("public."):]
    return key


def _split(name: str) -> tuple[str | None, str]:
    schema, _, table = name.rpartition(".")
    return (schema or None), table


def read_facts(target: Target | str, tables: Iterable[str], timeout: float = 5.0, *,
               conn: Connection | None = None) -> Facts:
    """Read the facts of ``tables`` (names as the findings give them) from ``target``.

    ``conn``: an open read-only connection to ``target`` to read through (left open, its
    session's timeouts changed); by default one is opened and closed. Never raises for a
    database problem: the result then has ``note`` set. Tables that do not exist are left out.
    """
    t = as_target(target)
    dialect = {"postgresql": "postgres", "mariadb": "mysql"}.get(t.dialect, t.dialect)
    names = sorted(dict.fromkeys(tables))
    facts = Facts(dialect)
    if not names:
        return facts
    from ..dialects import for_target

    d = for_target(t)
    own = conn is None
    try:
        # SQLite: no busy wait at all (a run holding the file makes the look fail, not wait).
        if own:
            conn = d.connect(t, timeout=0.0 if dialect == "sqlite" else timeout, readonly=True)
        if conn is None:  # a SQLite file that does not exist yet: nothing is there
            facts.note = f"{t.redacted()} does not exist yet; no table facts"
            return facts
        reader = {"sqlite": _sqlite, "postgres": _postgres, "mysql": _mysql}[dialect]
        reader(conn, names, facts, timeout)
    except MigrateError as err:
        facts.note = f"no live facts ({err}); findings are static"
    except Exception as err:  # a driver error mid-look: degrade, never fail the lint
        facts.note = f"no live facts (reading {t.redacted()}: {t.scrub(_first_line(err))}); findings are static"
    finally:
        if own and conn is not None:
            conn.close()
    return facts


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


def _note(facts: Facts, text: str) -> None:
    facts.note = text if facts.note is None else f"{facts.note}; {text}"


# Every table's facts in one round trip: the best match per name as ``_postgres_each`` finds
# it, its size, a bounded count when it was never analysed (``query_to_xml`` runs the count),
# its columns and foreign keys as JSON. A locked table makes it fail (pg_total_relation_size
# and the count wait at most lock_timeout): then ``_postgres_each`` looks table by table.
_PG_ALL = """
SELECT q.i, c.oid, c.reltuples::bigint, c.relpages::bigint * current_setting('block_size')::bigint,
  pg_total_relation_size(c.oid),
  CASE WHEN c.reltuples < 0 THEN (xpath('/row/n/text()', query_to_xml(format(
    'SELECT count(*) AS n FROM (SELECT 1 FROM %%I.%%I LIMIT {limit}) s', c.nspname, c.relname),
    false, true, '')))[1]::text::bigint END,
  (SELECT coalesce(json_agg(json_build_array(a.attname, format_type(a.atttypid, a.atttypmod),
     a.attnotnull, a.attgenerated::text) ORDER BY a.attnum), '[]')
   FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
  (SELECT coalesce(json_agg(json_build_array(k.conname, array(SELECT attname FROM pg_attribute
     WHERE attrelid = k.conrelid AND attnum = ANY (k.conkey))::text[])), '[]')
   FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f')
FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS q(nsp, rel, i)
CROSS JOIN LATERAL (
  SELECT c.oid, c.reltuples, c.relpages, c.relname, n.nspname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relname IN (q.rel, lower(q.rel)) AND c.relkind IN ('r', 'p', 'm') AND
    CASE WHEN q.nsp IS NULL THEN n.nspname = ANY (current_schemas(false)) ELSE n.nspname = q.nsp END
  ORDER BY c.relname = q.rel DESC, array_position(current_schemas(false), n.nspname) LIMIT 1) c
ORDER BY q.i""".replace("{limit}", str(COUNT_LIMIT + 1))


def _postgres(conn, names: list[str], facts: Facts, timeout: float) -> None:
    ms = max(1, int(timeout * 1000))
    conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; SET lock_timeout = 50; "
                 f"SET statement_timeout = {ms}")
    split = [_split(name) for name in names]
    try:
        rows = conn.query(_PG_ALL, ([sch for sch, _ in split], [tbl for _, tbl in split]))
    except Exception:  # a locked table (or a statement timeout): one look per table
        _postgres_each(conn, names, facts)
        return
    for i, oid, reltuples, pages_bytes, size, count, columns, fks in rows:
        name = names[i - 1]
        tf = TableFacts(name, rows=int(reltuples) if reltuples >= 0 else None,
                        bytes=int(size if size is not None else pages_bytes))
        if tf.rows is None and count is not None:
            tf.rows, tf.exact = int(count), int(count) <= COUNT_LIMIT
        for col, typ, notnull, generated in columns:
            tf.columns[col.lower()] = ColumnFacts(col, typ, not notnull, generated == "v")
        tf.foreign_keys = {str(fk).lower(): tuple(str(c).lower() for c in cols) for fk, cols in fks}
        facts.tables[table_key(name, facts.dialect)] = tf


def _postgres_each(conn, names: list[str], facts: Facts) -> None:
    for name in names:
        schema, table = _split(name)
        rows = conn.query(
            "SELECT c.oid, c.reltuples::bigint, c.relpages::bigint * current_setting('block_size')::bigint, "
            "quote_ident(n.nspname) || '.' || quote_ident(c.relname) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            # an unquoted name in a statement is folded to lower case by PostgreSQL
            "WHERE c.relname IN (%s, lower(%s)) AND c.relkind IN ('r', 'p', 'm') AND "
            + ("n.nspname = %s" if schema else "n.nspname = ANY (current_schemas(false))")
            + " ORDER BY c.relname = %s DESC, array_position(current_schemas(false), n.nspname) LIMIT 1",
            (table, table, schema, table) if schema else (table, table, table))
        if not rows:
            continue
        oid, reltuples, pages_bytes, ident = rows[0]
        tf = TableFacts(name, rows=int(reltuples) if reltuples >= 0 else None, bytes=int(pages_bytes))
        try:
            tf.bytes = int(conn.query("SELECT pg_total_relation_size(%s)", (oid,))[0][0])
        except Exception:  # lock_timeout: the table is locked; keep the pg_class estimate
            _note(facts, f"{name} is locked; its size is pg_class's estimate")
        if tf.rows is None:  # never vacuumed/analysed: count, bounded
            try:
                n = int(conn.query(f"SELECT count(*) FROM (SELECT 1 FROM {ident} LIMIT {COUNT_LIMIT + 1}) s")[0][0])
                tf.rows, tf.exact = n, n <= COUNT_LIMIT
            except Exception:
                _note(facts, f"{name} is locked; no row count")
        for col, typ, notnull, generated in conn.query(
                "SELECT attname, format_type(atttypid, atttypmod), attnotnull, attgenerated::text "
                "FROM pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped "
                "ORDER BY attnum", (oid,)):
            tf.columns[col.lower()] = ColumnFacts(col, typ, not notnull, generated == "v")
        tf.foreign_keys = {str(fk).lower(): tuple(str(c).lower() for c in cols) for fk, cols in conn.query(
            "SELECT conname, array(SELECT attname FROM pg_attribute WHERE attrelid = conrelid "
            "AND attnum = ANY (conkey))::text[] FROM pg_constraint WHERE conrelid = %s AND contype = 'f'",
            (oid,))}
        facts.tables[table_key(name, facts.dialect)] = tf


def _mysql(conn, names: list[str], facts: Facts, timeout: float) -> None:
    version, explicit = conn.query("SELECT VERSION(), @@explicit_defaults_for_timestamp")[0]
    facts.flavor = "mariadb" if "mariadb" in str(version).lower() else "mysql"
    facts.settings["explicit_defaults_for_timestamp"] = str(explicit)
    conn.execute("SET SESSION lock_wait_timeout = 1")
    if facts.flavor == "mariadb":
        conn.execute(f"SET SESSION max_statement_time = {max(1.0, timeout):.3f}")
    else:
        conn.execute(f"SET SESSION max_execution_time = {max(1, int(timeout * 1000))}")
    for name in names:
        schema, table = _split(name)
        where = "TABLE_SCHEMA = %s" if schema else "TABLE_SCHEMA = DATABASE()"
        args = (schema, table) if schema else (table,)
        rows = conn.query(
            f"SELECT TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES "
            f"WHERE {where} AND TABLE_NAME = %s", args)
        if not rows:
            continue
        n, size = rows[0]
        tf = TableFacts(name, rows=None if n is None else int(n), bytes=None if size is None else int(size))
        for col, typ, nullable, extra in conn.query(
                f"SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, EXTRA FROM information_schema.COLUMNS "
                f"WHERE {where} AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", args):
            tf.columns[col.lower()] = ColumnFacts(col, str(typ), nullable == "YES",
                                                  "VIRTUAL" in str(extra).upper())
        for fk, col in conn.query(
                f"SELECT CONSTRAINT_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
                f"WHERE {where} AND TABLE_NAME = %s AND REFERENCED_TABLE_NAME IS NOT NULL "
                f"ORDER BY ORDINAL_POSITION", args):
            fk_key = str(fk).lower()
            tf.foreign_keys[fk_key] = tf.foreign_keys.get(fk_key, ()) + (str(col).lower(),)
        facts.tables[table_key(name, facts.dialect)] = tf


def _sqlite(conn, names: list[str], facts: Facts, timeout: float) -> None:
    # Through conn (dialects.sqlite.SQLiteConnection), not conn.raw: a Ctrl-C that stops a
    # statement comes out as the interrupt, not as an "interrupted" error degraded to a note.
    raw = conn.raw
    conn.execute("PRAGMA busy_timeout = 0").close()  # a writer holding the file: fail now, not wait
    conn.busy_wait = 0.0  # nor try again (SQLiteConnection._again)
    raw.set_deadline(time.monotonic() + timeout)  # past it: "interrupted", a note
    try:
        for name in names:
            schema, table = _split(name)
            prefix = f'"{schema}".' if schema else ""
            ident = prefix + '"' + table.replace('"', '""') + '"'
            found = conn.query(
                f"SELECT name FROM {prefix}sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE",
                (table,))
            if not found:
                continue
            n = conn.query(f"SELECT count(*) FROM (SELECT 1 FROM {ident} LIMIT {COUNT_LIMIT + 1})")[0][0]
            tf = TableFacts(name, rows=int(n), exact=n <= COUNT_LIMIT)
            try:
                tf.bytes = conn.query("SELECT sum(pgsize) FROM dbstat WHERE name = ?", (found[0][0],))[0][0]
            except Exception:  # SQLite built without SQLITE_ENABLE_DBSTAT_VTAB
                tf.bytes = None
            # table_xinfo lists generated columns too: hidden 2 is VIRTUAL, 3 is STORED
            for row in conn.query(f"PRAGMA {prefix}table_xinfo({ident[len(prefix):]})"):
                tf.columns[row[1].lower()] = ColumnFacts(row[1], row[2], not row[3] and not row[5],
                                                         row[6] == 2)
            facts.tables[table_key(name, facts.dialect)] = tf
    finally:
        raw.set_deadline(None)
