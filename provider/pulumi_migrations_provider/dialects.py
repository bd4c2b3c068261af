"""Dialect facts and connections: SQLite (stdlib), PostgreSQL (psycopg 3), MySQL/MariaDB (PyMySQL).

Each dialect declares its facts once (transactional DDL, statement-splitting options, the
revisions-table DDL, how to lock, what "clean" means) and the rest of the engine looks them up
here; nothing else inspects URLs or driver modules.

Connections are raw DB-API connections in autocommit mode; the executor sends BEGIN/COMMIT
itself so the same code runs every dialect. Drivers are imported lazily: a no-op ``status``
on SQLite never imports psycopg or PyMySQL (start-up time is measured in tests/bench).
"""

from __future__ import annotations

import os
import sqlite3
import time

from .connection import Connection
from .errors import ConfigError, ConnectError
from .target import Target

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, Callable
    from .lex import ScanOptions

TABLE = "atlas_schema_revisions"
REVISION_COLUMNS = ("version", "description", "type", "applied", "total", "executed_at",
                    "execution_time", "error", "error_stmt", "hash", "partial_hashes",
                    "operator_version")
# ent's UpdateNewValues: every column except the immutable ones is refreshed on conflict.
_UPDATED_COLUMNS = tuple(c for c in REVISION_COLUMNS if c not in ("version", "description", "executed_at"))


class Dialect:
    """Facts and SQL for one database family. Subclasses override the differing bits."""

    name = ""
    transactional_ddl = True
    supports_script = False   # can run a whole file (plus its revision row) in one call
    begin_sql = "BEGIN"
    quote_char = '"'

    @property
    def scan_options(self) -> "ScanOptions":
        """The statement splitter's options for this dialect (lex is imported only to apply)."""
        from .lex import OPTIONS_BY_DIALECT

        return OPTIONS_BY_DIALECT[self.name]

    def placeholders(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def read_expr(self, column: str) -> str:
        """How ``RevisionStore.read_all`` selects ``column`` of the revisions table."""
        return self.quote(column)

    def look_timeout(self, connect_timeout: float, lock_timeout: float) -> float:
        """How long a read-only look may wait to connect and read."""
        return connect_timeout

    def is_busy(self, err: BaseException) -> bool:
        """Whether a driver error means another connection holds the database (retryable)."""
        return False

    def quote(self, ident: str) -> str:
        q = self.quote_char
        return q + ident.replace(q, q + q) + q

    def connect(self, target: Target, *, timeout: float, readonly: bool = False) -> Connection | None:
        """Open a connection; None means "nothing there yet" (a SQLite file that does not exist,
        opened read-only). Raises ConnectError with the password scrubbed."""
        raise NotImplementedError

    def server_version(self, conn: Connection) -> tuple[str, str]:
        """(version string, flavor)."""
        raise NotImplementedError

    def revisions_schema(self, target: Target, override: str | None) -> str:
        """Where the revisions table lives, following Atlas's rules."""
        if override:
            return override
        return target.bound_schema or TABLE

    def table_name(self, schema: str) -> str:
        return f"{self.quote(schema)}.{self.quote(TABLE)}"

    def table_exists(self, conn: Connection, schema: str) -> bool:
        return bool(conn.query(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            (schema, TABLE)))

    def create_schema_sql(self, schema: str) -> str | None:
        raise NotImplementedError

    def create_table_sql(self, schema: str) -> str:
        raise NotImplementedError

    json_placeholder = "?"

    def insert_sql(self, schema: str) -> str:
        """Insert one revision row (``?`` placeholders, in ``REVISION_COLUMNS`` order)."""
        cols = ", ".join(self.quote(c) for c in REVISION_COLUMNS)
        marks = ", ".join(self.json_placeholder if c == "partial_hashes" else "?" for c in REVISION_COLUMNS)
        return f"INSERT INTO {self.table_name(schema)} ({cols}) VALUES ({marks})"

    def upsert_sql(self, schema: str) -> str:
        """Insert or update by version. Like ent's ``UpdateNewValues``, an update never touches
        ``version``, ``description`` or ``executed_at``."""
        return f"{self.insert_sql(schema)} {self.on_conflict_sql()}"

    def on_conflict_sql(self) -> str:
        updates = ", ".join(f"{self.quote(c)} = excluded.{self.quote(c)}" for c in _UPDATED_COLUMNS)
        return f"ON CONFLICT ({self.quote('version')}) DO UPDATE SET {updates}"

    def dirty_reason(self, conn: Connection, target: Target, schema: str) -> str | None:
        """Why the database is not clean for a first run (Atlas's CheckClean), or None."""
        raise NotImplementedError

    def lock(self, conn: Connection, timeout: float) -> Any:
        raise NotImplementedError

    #: Why a busy database waits, for LockError messages (see ``is_busy``).
    busy_hint = "another session holds a lock on it"

    def bound_lock_waits(self, conn: Connection, seconds: float) -> None:
        """Make every lock wait of this session (tables, rows, metadata) give up after
        ``seconds``, so a statement blocked by another session fails like the migration lock
        does instead of hanging. Called right after connecting, for looks and runs alike."""

    def json_param(self, value: str | None) -> Any:
        return value

    def connection_lost(self, conn: Connection, err: BaseException) -> bool:
        """True when ``err`` means the connection itself broke (the server went away, the
        session was killed), so nothing more can be done on ``conn``."""
        return False

    def execute_script(self, conn: Connection, script: str) -> None:
        raise NotImplementedError

    def write_and_commit(self, conn: Connection, store: Any, row: Any, *, new: bool) -> None:
        """Write a file's final revision row and commit (the file's transaction is open)."""
        store.write(row, new=new)
        conn.commit()

    def executed_at(self) -> Any:
        raise NotImplementedError




class SQLiteDialect(Dialect):
    name = "sqlite"
    transactional_ddl = True
    supports_script = True
    begin_sql = "BEGIN IMMEDIATE"
    quote_char = "`"

    def placeholders(self, sql: str) -> str:
        return sql

    def execute_script(self, conn: Connection, script: str) -> None:
        conn.raw.executescript(script)  # only ever with no transaction open: it would commit it

    def json_param(self, value: str | None) -> Any:
        # Atlas stores partial_hashes through ent's []byte: a BLOB (X'6e756c6c' for null). A TEXT
        # 'null' would not compare equal to it in SQLite, so we write the same storage class.
        return None if value is None else value.encode("utf-8")

    def connect(self, target: Target, *, timeout: float, readonly: bool = False) -> Connection | None:
        path = target.sqlite_path()
        sync, fk, locking = _driver_settings(target)
        raw = None
        try:
            if path == ":memory:":
                raw = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            elif readonly:
                if not os.path.exists(path):
                    return None
                _recover_hot_journal(path, timeout)
                raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                                      timeout=timeout, check_same_thread=False)
            else:
                raw = sqlite3.connect(path, isolation_level=None, timeout=max(timeout, 1.0),
                                      check_same_thread=False)
            raw.execute("PRAGMA foreign_keys")  # touch the file: fails early when it is not a database
            raw.execute(f"PRAGMA synchronous = {sync}")
            if fk:
                raw.execute(f"PRAGMA foreign_keys = {fk}")
            if locking and (readonly or path == ":memory:"):
                raw.execute(f"PRAGMA locking_mode = {locking}")
        except sqlite3.Error as err:
            if raw is not None:
                raw.close()
            if self.is_busy(err):
                from .errors import LockError

                raise LockError(f"opening {target.redacted()}: another connection holds the database "
                                "(a migration run keeps a SQLite file until it ends); wait for it to "
                                "finish or raise --lock-timeout") from None
            raise ConnectError(f"opening {target.redacted()}: {err}; check the path and permissions") from None
        return Connection(self, target, raw)

    def look_timeout(self, connect_timeout: float, lock_timeout: float) -> float:
        # A file needs no connecting, but a run that holds it (see _tune_for_apply) makes a
        # reader wait: as long as a run would wait for the migration lock.
        return max(connect_timeout, lock_timeout)

    busy_hint = ("another connection holds the database (a migration run keeps a SQLite file "
                 "until it ends)")

    def is_busy(self, err: BaseException) -> bool:
        if not isinstance(err, sqlite3.OperationalError):
            return False
        code = getattr(err, "sqlite_errorcode", None)  # Python 3.11+
        return code in (5, 6) if code is not None else "database is locked" in str(err)

    def _tune_for_apply(self, conn: Connection, timeout: float) -> Callable[[], None] | None:
        """Settings for the connection that applies migrations, set once it holds the
        migration lock (measured in tests/bench); returns what undoes them, or None.

        - locking_mode EXCLUSIVE (unless the URL says ``_locking_mode=NORMAL``, or the database
          is in WAL mode): SQLite's file lock is taken once, by ``BEGIN EXCLUSIVE`` (which waits
          up to ``timeout`` for a writer to finish, holding nothing meanwhile), and kept until
          the run ends instead of being taken and dropped, with the journal reopened, for every
          file. Other connections wait (their busy timeout) until the run is over rather than
          reading a half-migrated schema between two files.
        - journal TRUNCATE instead of DELETE at synchronous NORMAL/OFF: the commit empties the
          journal instead of unlinking it (no directory write), with the same crash recovery.
          The journal mode is per connection for rollback journals. At FULL we keep DELETE
          (TRUNCATE would add a sync); WAL and the other modes are left alone.

        Counted with strace at NORMAL: 2 fdatasync per commit with both, 3 with either alone
        or neither; together -25% on 2,000 files (tests/bench/README.md).
        """
        if conn.target.is_memory:
            return None
        sync, _, locking = _driver_settings(conn.target)
        raw = conn.raw
        journal = raw.execute("PRAGMA journal_mode").fetchone()[0]
        exclusive = locking == "EXCLUSIVE" or (locking is None and journal != "wal")
        truncate = journal == "delete" and sync in ("NORMAL", "OFF")
        if not (exclusive or truncate):
            return None
        if truncate:
            raw.execute("PRAGMA journal_mode = TRUNCATE")
        if exclusive:
            raw.execute(f"PRAGMA busy_timeout = {max(int(timeout * 1000), 1000)}")
            try:
                raw.execute("BEGIN EXCLUSIVE")
            except sqlite3.OperationalError as err:
                if truncate:
                    raw.execute("PRAGMA journal_mode = DELETE")
                if self.is_busy(err):
                    from .errors import LockError

                    raise LockError(
                        f"acquiring the database file {conn.target.redacted()}: another connection "
                        f"kept writing to it (waited {timeout:g}s); wait for it to finish or raise "
                        "--lock-timeout") from None
                raise
            try:
                raw.execute("PRAGMA locking_mode = EXCLUSIVE")  # the lock now stays ours
            finally:
                raw.execute("COMMIT")

        def undo() -> None:
            if conn.in_tx:
                conn.rollback()
            if exclusive:
                raw.execute("PRAGMA locking_mode = NORMAL")
            if truncate:
                raw.execute("PRAGMA journal_mode = DELETE")  # removes the empty journal
            raw.execute("PRAGMA schema_version")  # an access: the kept file lock is dropped here

        return undo

    def server_version(self, conn: Connection) -> tuple[str, str]:
        return sqlite3.sqlite_version, "sqlite"

    def revisions_schema(self, target: Target, override: str | None) -> str:
        if override and override != "main":
            raise ConfigError(
                f"cannot store revisions-table in a separate schema ({override!r}) with SQLite driver; "
                "drop --revisions-schema")
        return "main"

    def table_name(self, schema: str) -> str:
        return self.quote(TABLE)

    def table_exists(self, conn: Connection, schema: str) -> bool:
        return bool(conn.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)))

    def create_schema_sql(self, schema: str) -> str | None:
        return None

    def create_table_sql(self, schema: str) -> str:
        return (
            "CREATE TABLE `atlas_schema_revisions` (`version` text NOT NULL, `description` text NOT NULL, "
            "`type` integer NOT NULL DEFAULT (2), `applied` integer NOT NULL DEFAULT (0), "
            "`total` integer NOT NULL DEFAULT (0), `executed_at` datetime NOT NULL, "
            "`execution_time` integer NOT NULL, `error` text NULL, `error_stmt` text NULL, "
            "`hash` text NOT NULL, `partial_hashes` json NULL, `operator_version` text NOT NULL, "
            "PRIMARY KEY (`version`))"
        )

    def dirty_reason(self, conn: Connection, target: Target, schema: str) -> str | None:
        tables = [r[0] for r in conn.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        tables = [t for t in tables if t != TABLE]
        if not tables:
            return None
        return f"found table {tables[0]!r}" if len(tables) == 1 else f"found {len(tables)} tables"

    def lock(self, conn: Connection, timeout: float) -> Any:
        from . import locks

        release = locks.sqlite_lock(conn.target, timeout)
        try:
            undo = self._tune_for_apply(conn, timeout)
        except sqlite3.Error as err:
            release()
            raise ConnectError(f"preparing {conn.target.redacted()} for applying: {err}; "
                               "check the file and that no other process holds it") from None
        except BaseException:
            release()
            raise
        if undo is None:
            return release

        def undo_then_release() -> None:
            # Settings and SQLite's file lock go first, then the migration lock: the next run
            # never finds the file still held.
            try:
                undo()
            except sqlite3.Error:
                pass  # the connection closes next, which drops SQLite's locks anyway
            finally:
                release()

        return undo_then_release

    _stamp: tuple[int, str, str] = (-1, "", "")  # (second, "date time", "+hh:mm") of the last call

    def executed_at(self) -> Any:
        # mattn/go-sqlite3 stores time.Time as "2006-01-02 15:04:05.999999999-07:00".
        ns = time.time_ns()
        second, frac_ns = divmod(ns, 1_000_000_000)
        cached = self._stamp  # one read: another thread may replace it meanwhile
        if cached[0] != second:  # localtime + strftime once per second, not once per file
            lt = time.localtime(second)
            off = lt.tm_gmtoff or 0
            sign = "+" if off >= 0 else "-"
            off = abs(off)
            cached = (second, time.strftime("%Y-%m-%d %H:%M:%S", lt),
                      f"{sign}{off // 3600:02d}:{off % 3600 // 60:02d}")
            self._stamp = cached
        _, stamp, zone = cached
        frac = f"{frac_ns:09d}".rstrip("0")
        return f"{stamp}{'.' + frac if frac else ''}{zone}"


# mattn/go-sqlite3, the driver of Atlas and dbmate, runs every connection with
# synchronous=NORMAL and takes these URL parameters; we read the same ones, same defaults.
_SYNC_PARAMS = ("_sync", "_synchronous")
_SYNC_VALUES = {"0": "OFF", "off": "OFF", "1": "NORMAL", "normal": "NORMAL",
                "2": "FULL", "full": "FULL", "3": "EXTRA", "extra": "EXTRA"}
_FK_PARAMS = ("_fk", "_foreign_keys")
_BOOL_VALUES = {"1": "ON", "yes": "ON", "true": "ON", "on": "ON",
                "0": "OFF", "no": "OFF", "false": "OFF", "off": "OFF"}
_LOCKING_PARAMS = ("_locking_mode", "_locking")
_LOCKING_VALUES = {"normal": "NORMAL", "exclusive": "EXCLUSIVE"}


def _recover_hot_journal(path: str, timeout: float) -> None:
    """Let SQLite roll back a hot journal before a read-only look.

    A process killed inside a write transaction that had already changed the database file
    leaves a hot ``-journal``; a read-only connection cannot roll it back and fails for good
    ("attempt to write a readonly database", SQLite error 776). Any ordinary connection's first
    read does the rollback (SQLite's own crash recovery, restoring the last committed state),
    so when a non-empty journal is there we make one such read first. Nothing of ours is written.
    A journal that is not hot (another process is inside its transaction) is left alone by
    SQLite; that read then waits up to ``timeout`` like any reader. When the file cannot be
    opened for writing, the read-only open below reports the problem.
    """
    try:
        if os.path.getsize(path + "-journal") == 0:
            return
    except OSError:
        return
    try:
        rw = sqlite3.connect(path, isolation_level=None, timeout=timeout, check_same_thread=False)
    except sqlite3.Error:
        return
    try:
        rw.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except sqlite3.Error:
        pass
    finally:
        rw.close()


def _driver_settings(target: Target) -> tuple[str, str | None, str | None]:
    """(synchronous, foreign_keys or None, locking_mode or None) as Atlas's driver reads them
    from the URL: ``_sync``/``_synchronous``, ``_fk``/``_foreign_keys``,
    ``_locking_mode``/``_locking``. Raises ConfigError for a value the driver would reject."""
    params = target.param_map

    def pick(names: tuple[str, ...], values: dict[str, str], default: str | None) -> str | None:
        name = next((n for n in names if params.get(n)), None)
        if name is None:
            return default
        value = values.get(params[name].lower())
        if value is None:
            raise ConfigError(
                f"reading the SQLite URL: {name}={params[name]!r} is not one of "
                f"{', '.join(sorted({v.lower() for v in values.values()}))}; fix the URL parameter")
        return value

    return (pick(_SYNC_PARAMS, _SYNC_VALUES, "NORMAL") or "NORMAL",  # (never None: typing)
            pick(_FK_PARAMS, _BOOL_VALUES, None),
            pick(_LOCKING_PARAMS, _LOCKING_VALUES, None))


_PG_PASSTHROUGH = {"sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "application_name",
                   "target_session_attrs", "options", "connect_timeout", "gssencmode",
                   "channel_binding", "keepalives", "keepalives_idle"}


class PostgresDialect(Dialect):
    name = "postgresql"
    json_placeholder = "?::jsonb"
    transactional_ddl = True
    supports_script = True   # without parameters psycopg sends the simple query protocol

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
            "connect_timeout": _seconds_param(target, "connect_timeout") or max(2, round(timeout)),
            "autocommit": True,
        }
        if target.user is not None:
            kwargs["user"] = target.user
        if target.password is not None:
            kwargs["password"] = target.password
        for key, value in params.items():
            if key in _PG_PASSTHROUGH and key != "connect_timeout":
                kwargs[key] = value
        if params.get("search_path"):
            kwargs["options"] = (kwargs.get("options", "") + f" -c search_path={params['search_path']}").strip()
        try:
            raw = psycopg.connect(**kwargs)
        except psycopg.Error as err:
            raise ConnectError(
                f"connecting to {target.redacted()}: {_first_line(target.scrub(str(err)))}; "
                "check the host, port, credentials and database name") from None
        return Connection(self, target, raw)

    def connection_lost(self, conn: Connection, err: BaseException) -> bool:
        # psycopg marks the connection broken (or closed) when the server went away.
        raw = conn.raw
        return bool(getattr(raw, "broken", False) or getattr(raw, "closed", False))

    def server_version(self, conn: Connection) -> tuple[str, str]:
        return conn.query("SHOW server_version")[0][0], "postgresql"

    def execute_script(self, conn: Connection, script: str) -> None:
        conn.raw.execute(script)

    def write_and_commit(self, conn: Connection, store: Any, row: Any, *, new: bool) -> None:
        # One round trip: the write with its values inlined by psycopg's own quoting, and COMMIT.
        from psycopg import ClientCursor
        sql = store.write_sql(new=new)
        conn.run_script([ClientCursor(conn.raw).mogrify(self.placeholders(sql), store.params(row))],
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

    def lock(self, conn: Connection, timeout: float) -> Any:
        from . import locks

        return locks.postgres_lock(conn, timeout)

    def bound_lock_waits(self, conn: Connection, seconds: float) -> None:
        conn.execute(f"SET lock_timeout = '{max(1, int(seconds * 1000))}ms'").close()

    def is_busy(self, err: BaseException) -> bool:
        return getattr(err, "sqlstate", None) == "55P03"  # lock_not_available (lock_timeout)

    def executed_at(self) -> Any:
        from datetime import datetime, timezone
        return datetime.now(timezone.utc)


class MySQLDialect(Dialect):
    name = "mysql"
    transactional_ddl = False
    quote_char = "`"

    def connect(self, target: Target, *, timeout: float, readonly: bool = False) -> Connection | None:
        import pymysql

        params = target.param_map
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
            raw = pymysql.connect(**kwargs)
        except pymysql.MySQLError as err:
            raise ConnectError(
                f"connecting to {target.redacted()}: {_first_line(target.scrub(_mysql_message(err)))}; "
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
        updates = ", ".join(f"{self.quote(c)} = VALUES({self.quote(c)})" for c in _UPDATED_COLUMNS)
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

    def lock(self, conn: Connection, timeout: float) -> Any:
        from . import locks

        return locks.mysql_lock(conn, timeout)

    def bound_lock_waits(self, conn: Connection, seconds: float) -> None:
        whole = max(1, int(seconds + 0.999))  # both take whole seconds, at least 1
        conn.execute(f"SET SESSION lock_wait_timeout = {whole}, "
                     f"innodb_lock_wait_timeout = {whole}").close()

    def is_busy(self, err: BaseException) -> bool:
        args = getattr(err, "args", ())
        return bool(args) and args[0] == 1205  # Lock wait timeout exceeded (metadata or row)

    def executed_at(self) -> Any:
        from datetime import datetime
        return datetime.now().replace(microsecond=0)


def _seconds_param(target: Target, name: str) -> int | None:
    """A URL parameter that must be a whole number of seconds (None when absent)."""
    text = target.param_map.get(name)
    if text is None or text == "":
        return None
    if not text.isdigit():
        raise ConfigError(f"reading the database URL {target.redacted()}: {name}={text!r} is not a "
                          "whole number of seconds; fix the parameter (e.g. connect_timeout=10)")
    return int(text)


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


def _first_line(text: str) -> str:
    return " ".join(text.strip().splitlines()[:1]) or text.strip()


DIALECTS: dict[str, Dialect] = {
    "sqlite": SQLiteDialect(), "postgresql": PostgresDialect(), "mysql": MySQLDialect(),
}


def for_target(target: Target) -> Dialect:
    """The dialect for a target (MariaDB is ``mysql``)."""
    return DIALECTS[target.dialect]


def driver_message(err: BaseException, target: Target) -> str:
    """A one-line, password-free rendering of a driver error."""
    if target.dialect == "mysql":
        text = _mysql_message(err)
    else:
        text = str(err)
    return _first_line(target.scrub(text))
