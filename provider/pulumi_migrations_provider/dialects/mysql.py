"""MySQL/MariaDB (PyMySQL): connect, GET_LOCK, lock-wait bounds, Atlas's error wording.

PyMySQL is imported on first connect: a SQLite run never loads it.
"""

from __future__ import annotations

import re

from ..errors import ConfigError, ConnectError
from ..target import SECRET_PARAMS, Target
from .base import (LOCK_NAME, TABLE, UPDATED_COLUMNS, Batch, BatchFailed, BatchMiscount, Connection,
                   Dialect,
                   first_line, holder_text,
                   lock_held, seconds_param)

# not on a SQLite run's path: no start-up tuning here
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

if TYPE_CHECKING:
    from ..indoubt import DbObject


class MySQLDialect(Dialect):
    name = "mysql"
    scan_features = (  # MariaDB too
        "match_begin", "backslash_escapes", "hash_comments", "executable_comments")
    transactional_ddl = False
    quote_char = "`"

    def connect(self, target: Target, *, timeout: float, readonly: bool = False) -> Connection | None:
        import pymysql

        settings, variables = url_settings(target)
        # connect_timeout=N (whole seconds) as in a PostgreSQL URL, or the Go driver's
        # timeout=5s: it bounds this connect.
        timeout = seconds_param(target, "connect_timeout") or settings.pop("timeout", None) or timeout
        kwargs: dict[str, Any] = {
            "host": target.host or "localhost", "port": target.port or 3306,
            "user": target.user or "root", "password": target.password or "",
            "connect_timeout": timeout, "autocommit": True,
            # PyMySQL's connect_timeout covers only the TCP connect; a server that accepts and
            # never greets would hang the handshake. Bound it, then lift it (below).
            "read_timeout": timeout, "write_timeout": timeout,
            **settings,
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
        conn = Connection(self, target, raw)
        try:
            _set_variables(conn, target, variables)
        except BaseException:
            conn.close()
            raise
        return conn

    def batches(self, conn: Connection, texts: Sequence[str]) -> Iterator[Batch | int] | None:
        """Runs of at least ``_BATCH_MIN`` plain DML statements (``_batchable``: the server
        splits them exactly where Atlas does) as multi-statement queries of at most 1 MiB (and
        the server's ``max_allowed_packet``); the rest alone. Each step is worked out when the
        executor asks for it, i.e. while the server runs the batch sent before it. None for a
        run too short to pay for switching multi-statements on and off (a round trip each)."""
        if len(texts) < _BATCH_MIN:
            return None
        return self._plan(conn, texts)

    def _plan(self, conn: Connection, texts: Sequence[str]) -> Iterator[Batch | int]:
        state = _state(conn)
        encoding = conn.raw.encoding
        i, n = 0, len(texts)
        while i < n:
            datas: list[bytes] = []
            size = -1
            j = i
            while j < n:
                try:
                    data = texts[j].encode(encoding, "surrogateescape")
                except UnicodeEncodeError:  # not in the connection's charset: alone, it fails
                    break  # as it does one by one
                if not _batchable(data):
                    break
                if datas:
                    if state.limit is None:
                        state.limit = min(_BATCH_BYTES, int(conn.query(
                            "SELECT @@max_allowed_packet")[0][0]) - 1024)
                    if size + 1 + len(data) > state.limit:
                        break
                datas.append(data)
                size += 1 + len(data)
                j += 1
            if len(datas) >= _BATCH_MIN:
                yield Batch(i, j, b"\n".join(datas))
                i = j
                continue
            yield from range(i, max(j, i + 1))  # too few to batch, or not batchable: alone
            i = max(j, i + 1)

    def send_batch(self, conn: Connection, batch: Batch) -> None:
        """Send one multi-statement query; ``finish_batch`` reads its results."""
        from pymysql.constants import COMMAND

        state = _state(conn)
        if not state.multi:
            _set_multi(conn.raw, True)
            state.multi = True
        # Connection.query's send; an interrupt half-way drops the connection (_Connection)
        conn.raw._execute_command(COMMAND.COM_QUERY, batch.payload)

    def finish_batch(self, conn: Connection, batch: Batch) -> None:
        """Read every statement's result, in order. The server stops at the first statement
        that fails and reports it as that statement's result."""
        import pymysql

        raw = conn.raw
        done = 0
        try:
            raw._read_query_result()  # Connection.query's read
            done = 1
            while raw._result is not None and raw._result.has_next:
                raw.next_result()
                done += 1
        except pymysql.MySQLError as err:
            if self.connection_lost(conn, err):
                raise
            raise BatchFailed(done, err, alone=_code(err) in _PARSE_ERRORS) from None
        count = batch.stop - batch.start
        if done != count:  # cannot happen (_batchable): the server split them otherwise
            raise BatchMiscount(count, done)

    def end_batches(self, conn: Connection) -> None:
        state = conn.dialect_state
        if state is not None and state.multi:
            state.multi = False
            _set_multi(conn.raw, False)

    def connection_lost(self, conn: Connection, err: BaseException) -> bool:
        # PyMySQL: 2006 server has gone away, 2013 lost during query, 2055 lost at handshake;
        # 0 (InterfaceError) for a socket already closed.
        return _code(err) in (0, 2006, 2013, 2055) or not getattr(conn.raw, "open", True)

    def unsendable(self, conn: Connection, err: BaseException,
                   statement: str) -> tuple[str, str] | None:
        """PyMySQL encodes a statement whole before sending any of it: a character the
        connection's character set lacks fails there, with nothing sent."""
        if not isinstance(err, UnicodeEncodeError):
            return None
        charset = getattr(conn.raw, "charset", "") or "?"
        encoding = getattr(conn.raw, "encoding", "") or "ascii"
        bad = err.object[err.start:err.end] if isinstance(err.object, str) else ""
        chars = " ".join(f"U+{ord(c):04X}" for c in bad[:3]) or "a character"
        return (f"it holds {chars}, which the connection's character set {charset} cannot "
                f"hold", statement.encode(encoding, "replace").decode(encoding))

    def stop_statement(self, conn: Connection) -> None:
        """KILL QUERY from a second session, as the mysql client does on Ctrl-C. The server
        notices a client that went away only when it next talks to it: an ALTER's table copy
        would go on for minutes in a session that keeps the migration lock, and a rerun (a
        restarted pod) would be told another run holds it. Killed, a DDL statement rolls back
        (atomic DDL) and its in-doubt mark is checked by the rerun; best effort, 2 s at most."""
        thread = getattr(conn.raw, "server_thread_id", None)
        if not thread:  # (the connection is closed by now: PyMySQL drops it on an interrupt
            return      # during a read, _Connection during a send; the server may run on)
        try:
            other = self.connect(conn.target, timeout=2)
        except Exception:  # noqa: BLE001 - the run is stopping anyway
            return
        if other is None:
            return
        try:
            other.execute(f"KILL QUERY {int(thread[0])}").close()
        except Exception:  # noqa: BLE001 - it finished meanwhile, or no right to kill it
            pass
        finally:
            other.close()

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
            raise lock_held(conn.target, int(timeout), self.lock_holder(conn))

        def unlock() -> None:
            try:
                conn.query("SELECT RELEASE_LOCK(?)", (LOCK_NAME,))
            except Exception:
                pass
        return unlock

    def lock_holder(self, conn: Connection) -> str | None:
        try:
            rows = conn.query("SELECT id, time, info FROM information_schema.PROCESSLIST "
                              "WHERE id = IS_USED_LOCK(?)", (LOCK_NAME,))
        except Exception:  # noqa: BLE001 - only for the message
            return None
        return holder_text(conn.target, *rows[0]) if rows else None

    def driver_message(self, err: BaseException, target: Target) -> str:
        return first_line(target.scrub(_mysql_message(err)))

    def bound_lock_waits(self, conn: Connection, seconds: float) -> None:
        whole = max(1, int(seconds + 0.999))  # both take whole seconds, at least 1
        conn.execute(f"SET SESSION lock_wait_timeout = {whole}, "
                     f"innodb_lock_wait_timeout = {whole}").close()

    def is_busy(self, err: BaseException) -> bool:
        return _code(err) == 1205  # Lock wait timeout exceeded (metadata or row)

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


# --- batches of DML -------------------------------------------------------------------------------

_BATCH_BYTES = 1 << 20
# Fewer statements than this go one by one: multi-statements are switched on before a run's
# batches and off after them (COM_SET_OPTION, a round trip each).
_BATCH_MIN = 4

# What decides where a statement ends, for the server and for Atlas's split alike: quotes,
# comment openers, the delimiter, backslashes. Everything else is deleted before the check.
_DROP = bytes(c for c in range(256) if c not in b"'\"`;#-/*\\")
# The statement's skeleton: single-quoted strings (backslashes inside only in pairs), "-" not
# followed by "-", "/" not followed by "*", "*", and its final ";": nothing else.
# (Each alternative starts with its own character and a string's body has one way to match:
# no backtracking to speak of without possessive repeats, which Python 3.10 lacks.)
_SKELETON = re.compile(rb"(?:'[^'\\]*(?:\\\\[^'\\]*)*'|-(?!-)|/(?!\*)|\*)*;")


def _batchable(data: bytes) -> bool:
    """Whether the server, given ``data`` (one statement of Atlas's split, UTF-8) followed by
    others in one multi-statement query, ends it exactly at its final ``;``, whatever the
    session's ``sql_mode``: outside single-quoted strings it holds no other ``;``, no comment
    (``--``, ``#``, ``/* */``: Atlas takes ``--x`` as a comment, the server does not, and
    ``/*! */`` runs on the server), no double quote or backtick, no backslash; inside them
    backslashes come only in pairs (a ``\\'`` closes the string under
    ``NO_BACKSLASH_ESCAPES`` and not otherwise). Any other statement runs alone, as before.
    Deleting the other characters can only join two of these into a pair that is refused
    (``- -``), never hide one."""
    if not data.endswith(b";"):
        return False
    if b"\\" in data and data.count(b"\\") != 2 * data.count(b"\\\\"):
        return False  # a backslash run of odd length somewhere
    return _SKELETON.fullmatch(data.translate(None, _DROP)) is not None


# ER_PARSE_ERROR, ER_SYNTAX_ERROR: "... near '<the rest of the query>' at line N", i.e. of the
# batch; raised before anything of the statement ran.
_PARSE_ERRORS = (1064, 1149)


def _code(err: BaseException) -> int | None:
    """The driver's error number (PyMySQL: the first argument)."""
    args = getattr(err, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


class _State:
    __slots__ = ("multi", "limit")

    def __init__(self) -> None:
        self.multi = False
        self.limit: int | None = None


def _state(conn: Connection) -> _State:
    if conn.dialect_state is None:
        conn.dialect_state = _State()
    return conn.dialect_state  # type: ignore[no-any-return]


def _set_multi(raw: Any, on: bool) -> None:
    """Multi-statement queries on or off for the session (COM_SET_OPTION; PyMySQL has no call
    for it). Off, the server refuses a query holding two statements, as a single statement of
    a file must be."""
    from pymysql.constants import COMMAND

    raw._execute_command(COMMAND.COM_SET_OPTION, b"\x00\x00" if on else b"\x01\x00")
    raw._read_packet()  # EOF or OK; an error packet raises


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

            def _execute_command(self, command: int, sql: Any) -> None:
                """Send one command (a statement, a batch, ROLLBACK…). A Ctrl-C/SIGTERM before
                it is all sent drops the connection: the server waits for the rest of the
                query, and any bytes sent next (ROLLBACK, RELEASE_LOCK) would complete it, or
                leave both sides waiting for ever. Dropped, the server rolls the session's
                transaction back and releases its lock."""
                try:
                    super()._execute_command(command, sql)
                except Exception:
                    raise
                except BaseException:
                    self._force_close()
                    raise

        _CONNECTION_CLASS = _Connection
    return _CONNECTION_CLASS


#: URL parameters we act on (``database`` is read by ``Target.parse`` when the path has none).
HONOURED_PARAMS = ("charset", "collation", "connect_timeout", "database", "timeout", "tls")
#: go-sql-driver/mysql parameters (Atlas passes the URL's query to it) that change nothing that
#: a run of ours does: accepted, their value checked as the Go driver checks it, then ignored.
#: The Go driver's own client-side behaviour (result decoding, timestamps' ``loc``, packet
#: buffers, placeholder interpolation, I/O timeouts, which we never set on a running migration).
IGNORED_PARAMS = ("allowAllFiles", "allowCleartextPasswords", "allowFallbackToPlaintext",
                  "allowNativePasswords", "allowOldPasswords", "checkConnLiveness",
                  "clientFoundRows", "columnsWithAlias", "compress", "connectionAttributes",
                  "interpolateParams", "loc", "maxAllowedPacket", "multiStatements", "parseTime",
                  "readTimeout", "rejectReadOnly", "serverPubKey", "timeTruncate",
                  "tinyInt1IsBool", "writeTimeout")
_BOOL_PARAMS = frozenset(("allowAllFiles", "allowCleartextPasswords", "allowFallbackToPlaintext",
                          "allowNativePasswords", "allowOldPasswords", "checkConnLiveness",
                          "clientFoundRows", "columnsWithAlias", "compress", "interpolateParams",
                          "multiStatements", "parseTime", "rejectReadOnly", "tinyInt1IsBool"))
_GO_BOOLS = ("1", "true", "TRUE", "True", "0", "false", "FALSE", "False")  # Go's readBool
_DURATION_PARAMS = frozenset(("timeout", "readTimeout", "writeTimeout", "timeTruncate"))
_TLS_MODES = ("true", "false", "skip-verify", "preferred")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def url_settings(target: Target) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """What a MySQL/MariaDB URL's query asks for, as go-sql-driver/mysql (Atlas's driver) reads
    it: PyMySQL connect arguments for the parameters we honour (``timeout`` in seconds), and the
    session system variables to set (every other name, as the Go driver sends them: ``SET name =
    value`` once connected). A driver parameter with a value the Go driver refuses, or a name
    that cannot be a variable, is a ConfigError naming it and listing the parameters we know."""
    from ..durations import parse_duration

    where = f"reading the database URL {target.redacted()}"
    kwargs: dict[str, Any] = {"charset": _mysql_charset(target)}
    variables: list[tuple[str, str]] = []
    for key, value in target.params:
        if key in _BOOL_PARAMS and value not in _GO_BOOLS:
            raise ConfigError(f"{where}: {key}={value!r} is not a boolean; use {key}=true or "
                              f"{key}=false")
        if key in _DURATION_PARAMS:
            try:
                seconds = parse_duration(value)
            except ValueError:
                raise ConfigError(f"{where}: {key}={value!r} is not a duration; write it as Go "
                                  "does, e.g. 10s, 500ms or 1m30s") from None
            if key == "timeout" and seconds > 0:
                kwargs["timeout"] = seconds
        elif key == "maxAllowedPacket" and not value.isdigit():
            raise ConfigError(f"{where}: maxAllowedPacket={value!r} is not a whole number of "
                              "bytes; fix it (e.g. maxAllowedPacket=67108864) or remove it")
        elif key == "tls":
            kwargs.update(_tls(where, value))
        elif key == "collation" and value:
            kwargs["collation"] = value
        elif key in HONOURED_PARAMS or key in IGNORED_PARAMS:
            continue
        elif key.lower() in SECRET_PARAMS:
            raise ConfigError(f"{where}: MySQL/MariaDB drivers do not read a {key} parameter as a "
                              "password (Atlas's would send it as a session variable); put the "
                              "password in the user info (mysql://user:PASSWORD@host/db) or use "
                              "the structured form")
        elif key == "autocommit":
            raise ConfigError(f"{where}: autocommit cannot be set from the URL: every run manages "
                              "its own transactions; remove the parameter")
        elif not _VARIABLE_NAME.match(key):
            raise ConfigError(f"{where}: {key!r} is neither a parameter we know ({_known()}) nor "
                              "the name of a session system variable; fix or remove it")
        else:
            variables.append((key, value))
    return kwargs, variables


def _known() -> str:
    return (", ".join(HONOURED_PARAMS) + "; accepted and ignored, as the Go driver's own: "
            + ", ".join(IGNORED_PARAMS))


def _tls(where: str, value: str) -> dict[str, Any]:
    """The Go driver's ``tls`` modes as PyMySQL connect arguments: ``true`` verifies the server's
    certificate and host name against the system's CAs, ``skip-verify`` requires TLS without
    verifying, ``preferred`` (PyMySQL's default too) uses TLS when the server offers it,
    ``false`` never. A Go-registered configuration name cannot exist here: refused."""
    mode = {"1": "true", "TRUE": "true", "True": "true", "0": "false", "FALSE": "false",
            "False": "false"}.get(value, value.lower())
    if mode == "true":
        import ssl

        return {"ssl": ssl.create_default_context()}
    if mode == "skip-verify":
        return {"ssl": {"check_hostname": False, "verify_mode": False}}
    if mode == "false":
        return {"ssl_disabled": True}
    if mode == "preferred":
        return {}
    raise ConfigError(f"{where}: tls={value!r} is not a TLS mode we know; use one of "
                      f"{', '.join(_TLS_MODES)}")


def _set_variables(conn: Connection, target: Target, variables: list[tuple[str, str]]) -> None:
    """Set the URL's session system variables, one statement each so a refusal names its
    parameter. The value is SQL, as the Go driver sends it (``time_zone=%27%2B00%3A00%27``)."""
    for name, value in variables:
        try:
            conn.execute(f"SET SESSION {name} = {value}").close()
        except Exception as err:
            raise ConfigError(
                f"connecting to {target.redacted()}: the URL parameter {name} is not a parameter "
                f"we know ({_known()}), so it was set as a session system variable, as Atlas's "
                f"driver does, and the server refused it: {first_line(target.scrub(_mysql_message(err)))}; "
                "fix or remove it") from None


def _mysql_charset(target: Target) -> str:
    """The ``charset`` URL parameter, checked against the driver's table (PyMySQL fails on an
    unknown one with an AttributeError deep inside connect). As the Go driver, a list
    (``utf8mb4,utf8``) takes its first entry we know; without it, a ``collation`` names the
    character set it belongs to."""
    params = target.param_map
    text = params.get("charset") or ""
    if not text and params.get("collation"):
        text = params["collation"].split("_", 1)[0]
    names = [n.strip() for n in text.split(",") if n.strip()] or ["utf8mb4"]
    from pymysql.charset import charset_by_name

    for name in names:
        try:
            if charset_by_name(name) is not None:
                return name
        except KeyError:
            pass
    raise ConfigError(f"reading the database URL {target.redacted()}: charset={text!r} is not a "
                      "character set MySQL/MariaDB knows; use e.g. charset=utf8mb4")


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


