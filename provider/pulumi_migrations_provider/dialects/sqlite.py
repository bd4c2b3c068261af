"""SQLite (stdlib sqlite3): connect and tune, Atlas's lock file, hot-journal recovery.

Connections are ``sqlite_interrupt.StoppableConnection``s: a Ctrl-C or SIGTERM stops the
statement under way within a millisecond and is raised in its place.

Settings follow mattn/go-sqlite3, the driver of Atlas and dbmate (URL parameters ``_sync``,
``_fk``, ``_locking_mode``). The migration lock is Atlas's lock file in the temp directory plus
an ``flock`` of our own (see ``sqlite_lock``).
"""

from __future__ import annotations

import os
import sqlite3
import time
import zlib

from ..errors import ConfigError, ConnectError, LockError
from ..target import Target
from .base import LOCK_NAME, TABLE, Connection, Dialect, jitter, lock_held
from .sqlite_interrupt import StoppableConnection

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence


class SQLiteConnection(Connection):
    """A ``Connection`` whose statements a Ctrl-C or SIGTERM stops midway: the interrupt is
    raised in place of SQLite's "interrupted" (``sqlite_interrupt``), and whose waits for a busy
    file are made of ``_BUSY_SLICE`` waits (see ``_again``), which a signal stops at once."""

    raw: StoppableConnection
    readonly = False  # a look's connection: it keeps the wait its open set
    #: How long a statement waits for a busy file, in ``_BUSY_SLICE`` steps (``_again``): set
    #: by ``connect``, then a run's by ``bound_lock_waits`` (the lock timeout, or what is left).
    busy_wait = 1.0

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        cur = self.raw.cursor()  # Connection.execute's body: no extra call per statement
        try:
            if params is None:
                cur.execute(sql)
            else:
                cur.execute(sql, params)  # qmark placeholders, as written
            return cur
        except sqlite3.OperationalError as err:
            failed = err
        cur.close()
        return self._again(failed, lambda: self.raw.execute(sql, params or ()), sql)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        try:
            return super().query(sql, params)  # fetchall steps the rows after the first
        except sqlite3.OperationalError as err:
            stop = self.raw.stopped(err)
            if stop is None:
                raise
        raise stop

    def _again(self, err: sqlite3.OperationalError, step: Callable[[], Any], sql: str, *,
               script: bool = False) -> Any:
        """What statement (or ``script``) ``sql`` gives that failed with ``err``: the interrupt
        that stopped it, raised as itself; else, when the file was busy and running it again is
        safe (``_retry_safe``), ``step()`` (the same once more) after a short sleep, again while
        the file stays busy, for up to ``busy_wait`` in all; else ``err``, or a LockError for a
        BEGIN or COMMIT that waited that long (the executor would take the driver's error for
        the file's or the revision row's).

        The connection's busy timeout is ``_BUSY_SLICE``: SQLite's own wait (C code, during
        which Python runs no signal handler) lasts one slice, and a Ctrl-C or SIGTERM takes
        effect within it or in the sleep between two. Only statements that hit a busy file
        come here: the others pay nothing."""
        raw = self.raw
        head = sql.lstrip()[:6].upper()
        begin, commit = head.startswith("BEGIN"), head == "COMMIT" or head.startswith("END")
        outside = begin if script else not self.in_tx  # run_script's scripts start with BEGIN

        def safe() -> bool:
            return _retry_safe(raw, outside, commit)

        deadline = time.monotonic() + self.busy_wait - _BUSY_SLICE  # the first slice is spent
        try:
            return _retrying(raw, err, step, deadline, safe)
        except sqlite3.OperationalError as final:
            if not ((begin or commit) and _is_busy(final) and safe()):  # busy and safe: waited out
                raise
        doing, did = ("acquiring", "kept writing to") if begin else ("committing to", "kept reading")
        raise LockError(
            f"{doing} the database file {self.target.redacted()}: another connection "
            f"{did} it (waited {self.busy_wait:g}s); wait for it to finish"
        ).about("lock_timeout", "lock_timeout")


def _retry_safe(raw: sqlite3.Connection, outside: bool, commit: bool) -> bool:
    """Whether a statement that SQLite refused with SQLITE_BUSY may run again: it was sent
    ``outside`` a transaction of ours (a BEGIN, or a script that starts with one, among them),
    or it is a ``commit``.

    - Outside a transaction (no transaction open after the error either): a statement in
      autocommit is its own transaction, rolled back whole on error, and a BEGIN that could not
      take its lock did nothing. Again.
    - A COMMIT, with the transaction still open: SQLite's documentation of COMMIT says a COMMIT
      that returns SQLITE_BUSY (readers in rollback-journal mode) leaves the transaction active,
      to be retried. Again.
    - Any other statement inside a transaction: SQLite undoes that statement, or "depending on
      the statement and the point at which the error occurs" rolls back the whole transaction
      (lang_transaction, "Response To Errors Within A Transaction"). Which one is not said, so
      it is not run again: the error goes up, the file's transaction rolls back, and the run
      stops with "waited for a lock another session holds" (apply again). After BEGIN
      IMMEDIATE (the file's lock is ours) only an ATTACHed database's lock gets there. A
      rollback-journal transaction spilling its cache while applications read does not: SQLite
      waits one busy timeout per spill and keeps the pages in memory (measured, cache_size=10,
      a reader open: 300 INSERTs of 1 kB took 3.5 s with the 50 ms slice, 136 s with a 2 s
      busy timeout; before the slices a run had the connect or lock timeout, 10 s or more).
    - A COMMIT whose transaction SQLite has ended: not again (nothing would be left to commit).
    """
    if commit:
        return raw.in_transaction
    return outside and not raw.in_transaction


class SQLiteDialect(Dialect):
    name = "sqlite"
    scan_features = ("match_begin",)
    transactional_ddl = True
    supports_script = True
    begin_sql = "BEGIN IMMEDIATE"
    quote_char = "`"

    def url_schema(self, path: str, query: Sequence[tuple[str, str]]) -> str:
        return "main"  # Atlas's sqlite driver: the one schema of every URL

    def placeholders(self, sql: str) -> str:
        return sql

    def execute_script(self, conn: Connection, script: str) -> None:
        raw = conn.raw
        try:
            raw.executescript(script)  # only ever with no transaction open: it would commit it
            return
        except sqlite3.OperationalError as err:
            failed = err
        # A script that starts with BEGIN (run_script's) and left no transaction open did
        # nothing that stays: it may run again from the start (_retry_safe).
        ours: SQLiteConnection = conn  # type: ignore[assignment]  # (this dialect's connect)
        ours._again(failed, lambda: raw.executescript(script), script, script=True)

    def json_param(self, value: str | None) -> Any:
        # Atlas stores partial_hashes through ent's []byte: a BLOB (X'6e756c6c' for null). A TEXT
        # 'null' would not compare equal to it in SQLite, so we write the same storage class.
        return None if value is None else value.encode("utf-8")

    def connect(self, target: Target, *, timeout: float, readonly: bool = False) -> Connection | None:
        path = target.sqlite_path()
        sync, fk, locking = _driver_settings(target)
        if path != ":memory:":
            _check_directory(target, path)
        raw = None
        try:
            if path == ":memory:":
                raw = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False,
                                      factory=StoppableConnection)
            elif readonly:
                if not os.path.exists(path):
                    return None
                # One deadline for both opens: a run's journal is not empty (it keeps the file
                # in EXCLUSIVE locking mode), so the recovery open waits for it too.
                deadline = time.monotonic() + timeout
                _recover_hot_journal(path, deadline)
                flags = "mode=ro&immutable=1" if _quiet_wal(path) else "mode=ro"
                raw = sqlite3.connect(f"file:{path}?{flags}", uri=True, isolation_level=None,
                                      timeout=_BUSY_SLICE, check_same_thread=False,
                                      factory=StoppableConnection)
                _patiently(raw, "SELECT count(*) FROM sqlite_master", deadline)  # a busy file waits here
            else:
                raw = sqlite3.connect(path, isolation_level=None, timeout=_BUSY_SLICE,
                                      check_same_thread=False, factory=StoppableConnection)
                _patiently(raw, "PRAGMA schema_version", time.monotonic() + max(timeout, 1.0))
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
                waited = f" and stayed locked for {timeout:g}s" if timeout > 0 else ""
                raise LockError(f"opening {target.redacted()}: {self.busy_hint}{waited}; wait for it "
                                "to finish").about("lock_timeout", "lock_timeout") from None
            raise ConnectError(f"opening {target.redacted()}: {err}; check the path and permissions") from None
        conn = SQLiteConnection(self, target, raw)  # its busy timeout stays _BUSY_SLICE
        conn.readonly = readonly
        conn.busy_wait = max(timeout, 1.0)
        return conn

    def look_timeout(self, connect_timeout: float, lock_timeout: float) -> float:
        # A file needs no connecting; a run that holds it (see _tune_for_apply) makes a reader
        # wait, as long as a run would wait for the migration lock (--lock-timeout).
        return lock_timeout

    busy_hint = ("the database file is locked by another process (a migration run keeps a "
                 "SQLite file until it ends)")

    def is_busy(self, err: BaseException) -> bool:
        return _is_busy(err)

    def bound_lock_waits(self, conn: Connection, seconds: float) -> None:
        """A run's statements wait for a busy file (WAL, or ``_locking_mode=NORMAL``: another
        writer) at most ``seconds`` each, in ``_BUSY_SLICE`` steps that a signal stops
        (``SQLiteConnection._again``); the failure-locating replay gets what is left of the
        run's wait. A look keeps the wait its open set (``connect``)."""
        if not getattr(conn, "readonly", False):
            conn.busy_wait = seconds  # type: ignore[attr-defined]  # (this dialect's connect)

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
        journal = _patiently(raw, "PRAGMA journal_mode", time.monotonic() + max(timeout, 1.0))[0][0]
        exclusive = locking == "EXCLUSIVE" or (locking is None and journal != "wal")
        truncate = journal == "delete" and sync in ("NORMAL", "OFF")
        if not (exclusive or truncate):
            return None
        if truncate:
            raw.execute("PRAGMA journal_mode = TRUNCATE")
        if exclusive:
            try:
                _patiently(raw, "BEGIN EXCLUSIVE", time.monotonic() + max(timeout, 1.0))
            except sqlite3.OperationalError as err:
                if truncate:
                    raw.execute("PRAGMA journal_mode = DELETE")
                if self.is_busy(err):
                    raise LockError(
                        f"acquiring the database file {conn.target.redacted()}: another connection "
                        f"kept writing to it (waited {timeout:g}s); wait for it to finish"
                    ).about("lock_timeout", "lock_timeout") from None
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

    def statement_class(self, head: tuple[str, ...]) -> str:
        # PRAGMAs are no-ops (foreign_keys) or errors (journal_mode) inside a transaction, and
        # VACUUM/ATTACH/DETACH refuse one; all of them may run twice.
        if head and head[0] in ("PRAGMA", "VACUUM", "ATTACH", "DETACH"):
            from ..indoubt import REPEATABLE

            return REPEATABLE
        return super().statement_class(head)

    def server_version(self, conn: Connection) -> tuple[str, str]:
        return sqlite3.sqlite_version, "sqlite"

    def revisions_schema(self, target: Target, override: str | None) -> str:
        if override and override != "main":
            raise ConfigError(
                f"cannot store revisions-table in a separate schema ({override!r}) with SQLite driver"
            ).about("revisions_schema", "revisions_schema")
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

    def lock(self, conn: Connection, timeout: float) -> Callable[[], None]:
        release = sqlite_lock(conn.target, timeout)
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


def _check_directory(target: Target, path: str) -> None:
    """Raise ConnectError when the directory of the database file is missing (or a file). A
    missing database file is a database with nothing applied yet, which apply creates; apply
    creates no directory, so a look (status, --dry-run) must not plan a run that cannot open it."""
    parent = os.path.dirname(path)
    if os.path.isdir(parent):
        return
    problem = ("is a file, not a directory; fix the path in the URL" if os.path.exists(parent)
               else "does not exist; create it, or fix the path in the URL")
    raise ConnectError(f"opening {target.redacted()}: the directory of the database file ({parent}) "
                       f"{problem}")


# SQLite's own wait for a busy file (its busy handler) is C code: Python runs no signal handler
# until it returns, so a Ctrl-C or SIGTERM would wait for the whole --lock-timeout. Waits are
# made of SQLite waits this short, with a Python sleep between them, where a signal stops them:
# every connection's busy timeout is this (sqlite3.connect's timeout); the waits between are
# _retrying's, for the opens and looks (_patiently) and for the statements (SQLiteConnection._again).
_BUSY_SLICE = 0.05


def _is_busy(err: BaseException) -> bool:
    if not isinstance(err, sqlite3.OperationalError):
        return False
    code = getattr(err, "sqlite_errorcode", None)  # Python 3.11+
    return code in (5, 6) if code is not None else "database is locked" in str(err)


def _retrying(raw: StoppableConnection, err: sqlite3.OperationalError, step: Callable[[], Any],
              deadline: float, safe: Callable[[], bool]) -> Any:
    """The one wait for a busy file: ``step()`` failed with ``err``; run it again after a short
    sleep while the file stays busy and ``safe()`` says running it again is harmless, until
    ``deadline`` (``time.monotonic()``), and give what it gives. The interrupt that stopped it
    midway is raised as itself, not as "interrupted"; any other error (the busy one at the
    deadline included) as it is."""
    while True:
        stop = raw.stopped(err)
        if stop is not None:
            raise stop  # outside an except: no "during handling of" chain to the driver's error
        if not (_is_busy(err) and safe()) or time.monotonic() >= deadline:
            raise err.with_traceback(None)
        time.sleep(min(0.01, max(0.0, deadline - time.monotonic())))
        try:
            return step()
        except sqlite3.OperationalError as again:
            err = again


def _patiently(raw: StoppableConnection, sql: str, deadline: float) -> list[Any]:
    """Run ``sql`` (its rows fetched) on ``raw``, whose busy timeout is ``_BUSY_SLICE``, again
    while the file is busy, until ``deadline``; then the busy error (``_retrying``: an open's
    and a look's statements may always run again)."""

    def step() -> list[Any]:
        return raw.execute(sql).fetchall()

    try:
        return step()
    except sqlite3.OperationalError as err:
        failed = err
    return _retrying(raw, failed, step, deadline, lambda: True)


def _quiet_wal(path: str) -> bool:
    """Whether ``path`` is a WAL-mode database with nothing in its write-ahead log (no ``-wal``
    file, or an empty one): then everything committed is in the main file, and a look opens it
    ``immutable`` so that SQLite creates no ``-wal``/``-shm`` and writes nothing to them (a
    plain read-only open creates both, and a reader's marks rewrite ``-shm``). With frames in
    the log (another connection is writing, or a writer was killed), a reader must go through
    ``-shm`` to see them, so the look joins as an ordinary read-only reader."""
    try:
        with open(path, "rb") as f:
            header = f.read(20)
    except OSError:
        return False
    if len(header) < 20 or header[18:20] != b"\x02\x02":  # file format versions 2 = WAL
        return False
    try:
        return os.path.getsize(path + "-wal") == 0
    except OSError:
        return True  # no -wal file at all


def _recover_hot_journal(path: str, deadline: float) -> None:
    """Let SQLite roll back a hot journal before a read-only look.

    A process killed inside a write transaction that had already changed the database file
    leaves a hot ``-journal``; a read-only connection cannot roll it back and fails for good
    ("attempt to write a readonly database", SQLite error 776). Any ordinary connection's first
    read does the rollback (SQLite's own crash recovery, restoring the last committed state),
    so when a non-empty journal is there we make one such read first. Nothing of ours is written.
    A journal that is not hot (another process is inside its transaction) is left alone by
    SQLite; that read then waits until ``deadline`` like any reader. When the file cannot be
    opened for writing, the read-only open below reports the problem.
    """
    try:
        if os.path.getsize(path + "-journal") == 0:
            return
    except OSError:
        return
    try:
        rw = sqlite3.connect(path, isolation_level=None, timeout=_BUSY_SLICE,
                             check_same_thread=False, factory=StoppableConnection)
    except sqlite3.Error:
        return
    try:
        _patiently(rw, "SELECT count(*) FROM sqlite_master", deadline)
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


def _atlas_file_free(atlas_file: str, owner: int) -> bool:
    """True when Atlas's lock file is absent, expired, or left by a dead run of ours (its value
    is the one recorded in the owner file, whose flock the caller now holds)."""
    try:
        with open(atlas_file, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        return True
    recorded = os.pread(owner, 64, 0)
    if recorded and raw == recorded:
        return True
    try:
        expires = int(raw.strip() or b"0")
    except ValueError:
        expires = 0
    return expires <= time.time_ns()


def sqlite_lock(target: Target, timeout: float) -> Any:
    """Atlas's lock file plus an OS lock of our own.

    Atlas writes ``<tmp>/atlas_migrate_execute[_<adler32>].lock`` holding an expiry in Unix
    nanoseconds and does not wait. Its check-then-create is racy, so between our own processes
    we first take an ``flock`` on a per-database file (released by the OS even on SIGKILL),
    then honour and write Atlas's file so Atlas sees the lock too.
    """
    import fcntl

    import tempfile  # lazy, like random: tempfile pulls in shutil, bz2 and lzma

    tmp = tempfile.gettempdir()
    path = target.sqlite_path()
    ours = os.path.join(tmp, "pulumi_migrations_%08x.lock" % zlib.adler32(path.encode()))
    fd = os.open(ours, os.O_CREAT | os.O_RDWR, 0o600)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise lock_held(target, timeout) from None
            time.sleep(0.02 + jitter() * 0.03)
    name = LOCK_NAME
    if target.is_memory:  # Atlas's DSN starts with "file:" only in memory mode
        name = f"{name}_{zlib.adler32((target.database or 'file').encode()):x}"
    atlas_file = os.path.join(tmp, name + ".lock")
    # Who of ours wrote Atlas's file: a run holds an flock on this companion for as long as the
    # file is its own, and records the value it wrote. A waiter that gets the flock knows no run
    # of ours is alive behind the file; if the file still holds the recorded value, the run that
    # wrote it was killed, and the file is stale (it is never Atlas's: Atlas writes other values).
    owner = os.open(os.path.join(tmp, name + ".lock.owner"), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        while True:
            try:
                fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if _atlas_file_free(atlas_file, owner):
                    break
                fcntl.flock(owner, fcntl.LOCK_UN)
            except BlockingIOError:
                pass  # a live run of ours owns Atlas's file
            if time.monotonic() >= deadline:
                raise LockError(
                    f"acquiring the migration lock on {target.redacted()}: Atlas's lock file "
                    f"{atlas_file} is held; wait for the other run to finish"
                ).about("lock_timeout", "lock_timeout")
            time.sleep(0.02 + jitter() * 0.03)
    except BaseException:
        os.close(owner)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        raise
    ours_value = str(time.time_ns() + int(timeout * 1e9)).encode()
    with open(atlas_file, "wb") as out:
        out.write(ours_value)
    os.ftruncate(owner, 0)
    os.pwrite(owner, ours_value, 0)

    def unlock() -> None:
        try:  # remove Atlas's file only while it is still ours (another run may own it now)
            with open(atlas_file, "rb") as fh:
                if fh.read() == ours_value:
                    os.remove(atlas_file)
        except FileNotFoundError:
            pass
        os.ftruncate(owner, 0)
        fcntl.flock(owner, fcntl.LOCK_UN)
        os.close(owner)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    return unlock
