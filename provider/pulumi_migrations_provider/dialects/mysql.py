"""MySQL/MariaDB (PyMySQL): connect, GET_LOCK, lock-wait bounds, Atlas's error wording.

PyMySQL is imported on first connect: a SQLite run never loads it.
"""

from __future__ import annotations

from ..errors import ConfigError, ConnectError
from ..target import Target
from .base import LOCK_NAME, TABLE, UPDATED_COLUMNS, Connection, Dialect, first_line, lock_held, seconds_param

from typing import TYPE_CHECKING, Any, Callable  # not on a SQLite run's path: no start-up tuning here

if TYPE_CHECKING:
    from ..indoubt import DbObject


class MySQLDialect(Dialect):
    name = "mysql"
    transactional_ddl = False
    quote_char = "`"

    def connect(self, target: Target, *, timeout: float, readonly: bool = False) -> Connection | None:
        import pymysql

        # connect_timeout=N (whole seconds) as in a PostgreSQL URL: it bounds this connect.
        timeout = seconds_param(target, "connect_timeout") or timeout
        kwargs: dict[str, Any] = {
            "host": target.host or "localhost", "port": target.port or 3306,
            "user": target.user or "root", "password": target.password or "",
            "connect_timeout": timeout, "autocommit": True,
            "charset": _mysql_charset(target),
            # PyMySQL's connect_timeout covers only the TCP connect; a server that accepts and
            # never greets would hang the handshake. Bound it, then lift it (below).
            "read_timeout": timeout, "write_timeout": timeout,
        }
        if target.database:
            kwargs["database"] = target.database
        try:
            raw = _connection_class()(**kwargs)
        except pymysql.MySQLError as err:
            raise ConnectError(
                f"connecting to {target.redacted()}: {first_line(target.scrub(_mysql_message(err)))}; "
                "check the host, port, credentials and database name") from None
        # Long migrations must not time out: PyMySQL re-applies these on the next read/write.
        for attr in ("_read_timeout", "_write_timeout"):
            if hasattr(raw, attr):
                setattr(raw, attr, None)
        return Connection(self, target, raw)

    def connection_lost(self, conn: Connection, err: BaseException) -> bool:
        # PyMySQL: 2006 server has gone away, 2013 lost during query, 2055 lost at handshake;
        # 0 (InterfaceError) for a socket already closed.
        args = getattr(err, "args", ())
        code = args[0] if args and isinstance(args[0], int) else None
        return code in (0, 2006, 2013, 2055) or not getattr(conn.raw, "open", True)

    def statement_class(self, head: tuple[str, ...]) -> str:
        """DML shares a transaction with its progress row (InnoDB; a non-transactional engine
        such as MyISAM or Aria cannot roll it back); DDL commits implicitly, so it is in doubt
        unless it says IF [NOT] EXISTS or OR REPLACE, or is a session setting or maintenance."""
        from ..indoubt import DOUBT, REPEATABLE, TX

        first = head[0] if head else ""
        if first in _DML:
            return TX
        if first == "SET" and (len(head) < 2 or head[1] not in ("TRANSACTION", "AUTOCOMMIT")):
            return REPEATABLE
        if first in _REPEATABLE:
            return REPEATABLE
        if first in ("CREATE", "DROP") and (
                head[1:3] == ("OR", "REPLACE") or _has(head[1:6], ("IF", "NOT", "EXISTS"))
                or _has(head[1:5], ("IF", "EXISTS"))):
            return REPEATABLE
        return DOUBT

    def catalog_has(self, conn: Connection, obj: DbObject) -> bool | None:
        sql = _CATALOG.get(obj.kind)
        if sql is None or (obj.kind in ("index", "column") and obj.parent is None):
            return None
        params: tuple = (obj.schema, obj.name)
        if obj.kind in ("index", "column"):
            params = (obj.schema, obj.parent, obj.name)
        elif obj.kind in ("database", "schema"):
            params = (obj.name,)
        return bool(conn.query(sql, params))

    def statement_limit(self, conn: Connection) -> tuple[int, str] | None:
        # The packet also carries the command byte; the revision row's error_stmt copy of a
        # statement is checked by the same bound.
        return int(conn.query("SELECT @@max_allowed_packet")[0][0]) - 1024, "max_allowed_packet"

    def server_version(self, conn: Connection) -> tuple[str, str]:
        version = conn.query("SELECT VERSION()")[0][0]
        return version, "mariadb" if "mariadb" in version.lower() else "mysql"

    def create_schema_sql(self, schema: str) -> str | None:
        return f"CREATE DATABASE IF NOT EXISTS {self.quote(schema)}"

    def create_table_sql(self, schema: str) -> str:
        return (
            f"CREATE TABLE IF NOT EXISTS {self.table_name(schema)} (`version` varchar(255) NOT NULL, "
            "`description` varchar(255) NOT NULL, `type` bigint unsigned NOT NULL DEFAULT 2, "
            "`applied` bigint NOT NULL DEFAULT 0, `total` bigint NOT NULL DEFAULT 0, "
            "`executed_at` timestamp NULL, `execution_time` bigint NOT NULL, `error` longtext NULL, "
            "`error_stmt` longtext NULL, `hash` varchar(255) NOT NULL, `partial_hashes` json NULL, "
            "`operator_version` varchar(255) NOT NULL, PRIMARY KEY (`version`)) "
            "CHARSET utf8mb4 COLLATE utf8mb4_bin"
        )

    def on_conflict_sql(self) -> str:
        updates = ", ".join(f"{self.quote(c)} = VALUES({self.quote(c)})" for c in UPDATED_COLUMNS)
        return f"ON DUPLICATE KEY UPDATE {updates}"

    def dirty_reason(self, conn: Connection, target: Target, schema: str) -> str | None:
        system = ("mysql", "information_schema", "performance_schema", "sys")
        bound = target.bound_schema
        if bound is not None:
            rows = conn.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1", (bound,))
            tables = [r[0] for r in rows if not (bound == schema and r[0] == TABLE)]
            return f"found table {tables[0]!r}" if tables else None
        schemas = [r[0] for r in conn.query("SELECT schema_name FROM information_schema.schemata ORDER BY 1")
                   if r[0] not in system]
        for s in schemas:
            if s != schema:
                return f"found schema {s!r}"
            rows = conn.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1", (s,))
            if [r for r in rows if r[0] != TABLE]:
                return f"found tables in schema {s!r}"
        return None

    def lock(self, conn: Connection, timeout: float) -> Callable[[], None]:
        """``GET_LOCK`` with Atlas's name; MySQL takes whole seconds, as Atlas passes them."""
        got = conn.query("SELECT GET_LOCK(?, ?)", (LOCK_NAME, int(timeout)))[0][0]
        if got != 1:
            raise lock_held(conn.target, int(timeout))

        def unlock() -> None:
            try:
                conn.query("SELECT RELEASE_LOCK(?)", (LOCK_NAME,))
            except Exception:
                pass
        return unlock

    def driver_message(self, err: BaseException, target: Target) -> str:
        return first_line(target.scrub(_mysql_message(err)))

    def bound_lock_waits(self, conn: Connection, seconds: float) -> None:
        whole = max(1, int(seconds + 0.999))  # both take whole seconds, at least 1
        conn.execute(f"SET SESSION lock_wait_timeout = {whole}, "
                     f"innodb_lock_wait_timeout = {whole}").close()

    def is_busy(self, err: BaseException) -> bool:
        args: tuple[object, ...] = err.args
        return bool(args) and args[0] == 1205  # Lock wait timeout exceeded (metadata or row)

    def executed_at(self) -> Any:
        from datetime import datetime
        return datetime.now().replace(microsecond=0)


_DML = frozenset(("INSERT", "UPDATE", "DELETE", "REPLACE", "SELECT", "WITH", "VALUES", "TABLE",
                  "DO", "LOAD", "("))
_REPEATABLE = frozenset(("USE", "ANALYZE", "OPTIMIZE", "CHECK", "CHECKSUM", "FLUSH", "GRANT",
                         "REVOKE", "TRUNCATE", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "HELP"))
_IN_SCHEMA = "COALESCE(?, DATABASE())"
_CATALOG = {
    "table": f"SELECT 1 FROM information_schema.tables WHERE table_schema = {_IN_SCHEMA} AND table_name = ?",
    "view": f"SELECT 1 FROM information_schema.views WHERE table_schema = {_IN_SCHEMA} AND table_name = ?",
    "index": (f"SELECT 1 FROM information_schema.statistics WHERE table_schema = {_IN_SCHEMA} "
              "AND table_name = ? AND index_name = ?"),
    "column": (f"SELECT 1 FROM information_schema.columns WHERE table_schema = {_IN_SCHEMA} "
               "AND table_name = ? AND column_name = ?"),
    "database": "SELECT 1 FROM information_schema.schemata WHERE schema_name = ?",
    "schema": "SELECT 1 FROM information_schema.schemata WHERE schema_name = ?",
    "trigger": (f"SELECT 1 FROM information_schema.triggers WHERE trigger_schema = {_IN_SCHEMA} "
                "AND trigger_name = ?"),
    "routine": (f"SELECT 1 FROM information_schema.routines WHERE routine_schema = {_IN_SCHEMA} "
                "AND routine_name = ?"),
}


def _has(words: tuple[str, ...], seq: tuple[str, ...]) -> bool:
    n = len(seq)
    return any(words[i:i + n] == seq for i in range(len(words) - n + 1))


_CONNECTION_CLASS: Any = None


def _connection_class() -> Any:
    """PyMySQL's Connection, with the TLS context of its default ("preferred": TLS when the
    server offers it) mode built once per process instead of once per connection, and only
    when a server offers TLS: ``ssl.create_default_context`` loads the system's CA store,
    ~18-20 ms, and a run opens two connections (the look and the run), a fan-out one per
    tenant; against a server without TLS PyMySQL builds it and never uses it. Explicit TLS
    settings are untouched; the shared context is configured exactly as PyMySQL configures
    each one."""
    global _CONNECTION_CLASS
    if _CONNECTION_CLASS is None:
        from pymysql.connections import Connection as Base

        preferred: list[Any] = []

        def build() -> Any:
            if not preferred:
                preferred.append(Base._create_ssl_ctx(None, {}))  # it reads only its argument
            return preferred[0]

        class _Preferred:
            """The shared context, built on first use (PyMySQL uses it only to wrap the socket
            when the server's handshake offers TLS)."""

            def wrap_socket(self, *args: Any, **kwargs: Any) -> Any:
                return build().wrap_socket(*args, **kwargs)

            def __getattr__(self, name: str) -> Any:
                return getattr(build(), name)

        lazy = _Preferred()

        class _Connection(Base):  # type: ignore[misc, valid-type]
            def _create_ssl_ctx(self, sslp: Any) -> Any:
                return super()._create_ssl_ctx(sslp) if sslp != {} else lazy

        _CONNECTION_CLASS = _Connection
    return _CONNECTION_CLASS


def _mysql_charset(target: Target) -> str:
    """The ``charset`` URL parameter, checked against the driver's table (PyMySQL fails on an
    unknown one with an AttributeError deep inside connect)."""
    name = target.param_map.get("charset") or "utf8mb4"
    from pymysql.charset import charset_by_name

    try:
        known = charset_by_name(name) is not None
    except KeyError:
        known = False
    if not known:
        raise ConfigError(f"reading the database URL {target.redacted()}: charset={name!r} is not a "
                          "character set MySQL/MariaDB knows; use e.g. charset=utf8mb4")
    return name


def _mysql_message(err: BaseException) -> str:
    """A server error as Atlas's Go driver words it (go-sql-driver/mysql ``MySQLError.Error``):
    ``Error 1146 (42S02): Table 'db.t' doesn't exist``, or ``Error N: message`` without a
    SQLSTATE. Atlas writes this text into the revisions table's ``error`` column, so ours must be
    the same for either tool to read the other's rows alike."""
    args: tuple = getattr(err, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):
        state = getattr(err, "sqlstate", None)
        return f"Error {args[0]} ({state}): {args[1]}" if state else f"Error {args[0]}: {args[1]}"
    return str(err)


