"""PostgreSQL (psycopg 3): connect, Atlas's advisory lock, lock_timeout, error wording.

psycopg is imported on first connect: a SQLite run never loads it.
"""

from __future__ import annotations

from ..errors import ConfigError, ConnectError
from ..target import Target
from .base import LOCK_NAME, TABLE, Connection, Dialect, first_line, holder_text, poll_lock, seconds_param

from typing import TYPE_CHECKING, Any, Callable, Sequence  # not on a SQLite run's path: no start-up tuning here

if TYPE_CHECKING:
    from ..indoubt import DbObject


def fnv1_32(data: bytes) -> int:
    """32-bit FNV-1 (not 1a): Atlas's PostgreSQL advisory-lock key function."""
    h = 0x811C9DC5
    for b in data:
        h = (h * 0x01000193) & 0xFFFFFFFF
        h ^= b
    return h


PG_LOCK_KEY = fnv1_32(LOCK_NAME.encode())  # 2686470616, as Atlas computes it


_PG_PASSTHROUGH = {"sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "application_name",
                   "target_session_attrs", "options", "connect_timeout", "gssencmode",
                   "channel_binding", "keepalives", "keepalives_idle"}


#: libpq's keyword values: it refuses any other with "invalid sslmode value", which reads like
#: a connection failure; ours names the parameter and the values it takes.
_PG_CHOICES = {
    "sslmode": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    "gssencmode": ("disable", "prefer", "require"),
    "channel_binding": ("disable", "prefer", "require"),
    "target_session_attrs": ("any", "read-write", "read-only", "primary", "standby",
                             "prefer-standby"),
}
_PG_INTEGERS = ("keepalives", "keepalives_idle")


def _checked_param(target: Target, key: str, value: str) -> str:
    """``value`` of the libpq parameter ``key``, or a ConfigError naming what it may be."""
    choices = _PG_CHOICES.get(key)
    if choices is not None and value not in choices:
        raise ConfigError(f"reading the database URL {target.redacted()}: {key}={value!r} is not a "
                          f"valid {key}; use one of {', '.join(choices)}")
    if key in _PG_INTEGERS and not value.isdigit():
        raise ConfigError(f"reading the database URL {target.redacted()}: {key}={value!r} is not a "
                          f"whole number; fix the parameter (e.g. {key}=1)")
    return value


class PostgresDialect(Dialect):
    name = "postgresql"
    scan_features = ("match_begin", "match_begin_atomic", "match_dollar_quote", "escaped_string_ext")
    json_placeholder = "?::jsonb"
    transactional_ddl = True
    supports_script = True   # without parameters psycopg sends the simple query protocol

    def url_schema(self, path: str, query: Sequence[tuple[str, str]]) -> str:
        """Atlas's postgres driver: the ``search_path`` parameter as given (else none)."""
        from urllib.parse import unquote

        return next((unquote(v) for k, v in query if k == "search_path"), "")

    def read_expr(self, column: str) -> str:
        # jsonb as text: read_all parses it once (a finished row's "null" without json.loads)
        # instead of psycopg decoding 2,000 values a no-op run never looks at.
        return f"{self.quote(column)}::text" if column == "partial_hashes" else self.quote(column)

    def connect(self, target: Target, *, timeout: float, readonly: bool = False) -> Connection | None:
        import psycopg

        params = target.param_map
        kwargs: dict[str, Any] = {
            "host": target.host or "localhost", "port": target.port or 5432,
            "dbname": target.database or "postgres",
            "connect_timeout": seconds_param(target, "connect_timeout") or max(2, round(timeout)),
            "autocommit": True,
        }
        if target.user is not None:
            kwargs["user"] = target.user
        if target.password is not None:
            kwargs["password"] = target.password
        for key, value in params.items():
            if key in _PG_PASSTHROUGH and key != "connect_timeout":
                kwargs[key] = _checked_param(target, key, value)
        if params.get("search_path"):
            kwargs["options"] = (kwargs.get("options", "") + f" -c search_path={params['search_path']}").strip()
        try:
            raw = psycopg.connect(**kwargs)
        except psycopg.Error as err:
            raise ConnectError(
                f"connecting to {target.redacted()}: {first_line(target.scrub(str(err)))}; "
                "check the host, port, credentials and database name") from None
        return Connection(self, target, raw)

    def connection_lost(self, conn: Connection, err: BaseException) -> bool:
        # psycopg marks the connection broken (or closed) when the server went away.
        raw = conn.raw
        return bool(getattr(raw, "broken", False) or getattr(raw, "closed", False))

    folds_unquoted = True

    def statement_class(self, head: tuple[str, ...]) -> str:
        """What cannot run in a transaction block: CONCURRENTLY index builds and drops (in
        doubt: an interrupted build leaves an invalid index), databases, tablespaces and
        subscriptions (in doubt), VACUUM, REINDEX, ALTER SYSTEM, DISCARD (repeatable)."""
        from ..indoubt import DOUBT, REPEATABLE

        first = head[0] if head else ""
        if first in ("VACUUM", "REINDEX", "DISCARD") or head[:2] == ("ALTER", "SYSTEM"):
            return REPEATABLE
        if first in ("CREATE", "DROP") and "CONCURRENTLY" in head[:4]:
            return DOUBT
        if first in ("CREATE", "DROP", "ALTER") and len(head) > 1 and head[1] in (
                "DATABASE", "TABLESPACE", "SUBSCRIPTION"):
            return REPEATABLE if first == "DROP" and head[2:4] == ("IF", "EXISTS") else DOUBT
        return super().statement_class(head)

    def catalog_has(self, conn: Connection, obj: DbObject) -> bool | None:
        name = self.quote(obj.name) if obj.schema is None else f"{self.quote(obj.schema)}.{self.quote(obj.name)}"
        if obj.kind in ("table", "view", "index"):
            rows = conn.query("SELECT i.indisvalid FROM pg_catalog.pg_class c LEFT JOIN "
                              "pg_catalog.pg_index i ON i.indexrelid = c.oid "
                              "WHERE c.oid = to_regclass(?)", (name,))
            if rows and rows[0][0] is False:
                # An interrupted CREATE/DROP INDEX CONCURRENTLY leaves the index invalid; the
                # documented recovery is to drop it, and then it is absent.
                conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}").close()
                return False
            return bool(rows)
        if obj.kind == "column" and obj.parent is not None:
            parent = self.quote(obj.parent) if obj.schema is None else f"{self.quote(obj.schema)}.{self.quote(obj.parent)}"
            return bool(conn.query("SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = "
                                   "to_regclass(?) AND attname = ? AND NOT attisdropped",
                                   (parent, obj.name)))
        if obj.kind == "database":
            return bool(conn.query("SELECT 1 FROM pg_catalog.pg_database WHERE datname = ?", (obj.name,)))
        if obj.kind == "schema":
            return bool(conn.query("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = ?", (obj.name,)))
        return None

    def server_version(self, conn: Connection) -> tuple[str, str]:
        return conn.query("SHOW server_version")[0][0], "postgresql"

    def execute_script(self, conn: Connection, script: str) -> None:
        conn.raw.execute(script)

    def write_and_commit(self, conn: Connection, sql: str, params: Sequence[Any]) -> None:
        # One round trip: the write with its values inlined by psycopg's own quoting, and COMMIT.
        from psycopg import ClientCursor
        conn.run_script([ClientCursor(conn.raw).mogrify(self.placeholders(sql), params)],
                        commit=True)

    def create_schema_sql(self, schema: str) -> str | None:
        return f"CREATE SCHEMA IF NOT EXISTS {self.quote(schema)}"

    def create_table_sql(self, schema: str) -> str:
        return (
            f'CREATE TABLE IF NOT EXISTS {self.table_name(schema)} ("version" character varying NOT NULL, '
            '"description" character varying NOT NULL, "type" bigint NOT NULL DEFAULT 2, '
            '"applied" bigint NOT NULL DEFAULT 0, "total" bigint NOT NULL DEFAULT 0, '
            '"executed_at" timestamptz NOT NULL, "execution_time" bigint NOT NULL, "error" text NULL, '
            '"error_stmt" text NULL, "hash" character varying NOT NULL, "partial_hashes" jsonb NULL, '
            '"operator_version" character varying NOT NULL, PRIMARY KEY ("version"))'
        )

    def dirty_reason(self, conn: Connection, target: Target, schema: str) -> str | None:
        rows = conn.query(
            "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1, 2")
        bound = target.bound_schema
        for nsp, rel in rows:
            if bound is not None and nsp != bound:
                continue
            if nsp == schema and rel == TABLE:
                continue
            return f"found table {rel!r} in schema {nsp!r}"
        if bound is None:
            schemas = [r[0] for r in conn.query(
                "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname NOT IN "
                "('pg_catalog', 'information_schema', 'public') AND nspname NOT LIKE 'pg_%' ORDER BY 1")]
            others = [s for s in schemas if s != schema]
            if others:
                return f"found schema {others[0]!r}"
        return None

    def lock(self, conn: Connection, timeout: float) -> Callable[[], None]:
        """A session advisory lock on Atlas's key, polled with Atlas's back-off."""
        poll_lock(conn, "SELECT pg_try_advisory_lock(?)", (PG_LOCK_KEY,), timeout)

        def unlock() -> None:
            try:
                conn.query("SELECT pg_advisory_unlock(?)", (PG_LOCK_KEY,))
            except Exception:
                pass  # closing the session releases it anyway
        return unlock

    def lock_holder(self, conn: Connection) -> str | None:
        try:
            rows = conn.query(
                "SELECT a.pid, EXTRACT(EPOCH FROM now() - a.query_start)::int, "
                "CASE WHEN a.state = 'active' THEN a.query END FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                "AND l.granted AND l.classid::bigint = 0 AND l.objid::bigint = ? AND l.objsubid = 1 "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                (PG_LOCK_KEY,))
        except Exception:  # noqa: BLE001 - only for the message
            return None
        return holder_text(conn.target, *rows[0]) if rows else None

    def bound_lock_waits(self, conn: Connection, seconds: float) -> None:
        conn.execute(f"SET lock_timeout = '{max(1, int(seconds * 1000))}ms'").close()

    def is_busy(self, err: BaseException) -> bool:
        return getattr(err, "sqlstate", None) == "55P03"  # lock_not_available (lock_timeout)

    def driver_message(self, err: BaseException, target: Target) -> str:
        """A server error as lib/pq, Atlas's driver, renders it: ``pq: <message>``. It lands in the
        revisions table's ``error`` column, which both tools show."""
        diag = getattr(err, "diag", None)
        primary = getattr(diag, "message_primary", None) if diag is not None else None
        if primary and getattr(err, "sqlstate", None):
            return first_line(target.scrub("pq: " + primary))
        return super().driver_message(err, target)

    def executed_at(self) -> Any:
        from datetime import datetime, timezone
        return datetime.now(timezone.utc)


