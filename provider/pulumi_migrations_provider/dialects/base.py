"""The dialect contract, the connection it hands out, and what every dialect shares.

A dialect is the one place that knows a database family: how to connect, which settings a
connection gets, how the migration lock is taken, how the revisions table is spelled, and how
the driver's errors read. The engine (engine, executor, revisions) talks to a database only
through a ``Connection`` and its ``Dialect``; nothing else inspects URLs or driver modules.

Implementer's checklist for a new dialect (a subclass of ``Dialect`` in a module of this
package, registered in ``dialects/__init__.py``). Methods marked *required* raise
``NotImplementedError`` here; the rest have a default that is right for most servers.

Facts (class attributes)
- ``name``: the family ("sqlite", "postgresql", "mysql"); also what ``Target.dialect`` says.
- ``scan_features``: the ``lex.ScanOptions`` fields the statement splitter turns on for this
  family, as Atlas's driver sets its ``ScannerOptions`` (``match_begin``, ``match_begin_atomic``,
  ``match_dollar_quote``, ``backslash_escapes``, ``escaped_string_ext``, ``hash_comments``);
  read through ``scan_options``, which builds the value on first use (``lex`` and its
  dataclasses stay off the no-op path). A wrong field name fails at the first split.
- ``transactional_ddl``: DDL can be rolled back with the file's other statements (decides the
  default ``--tx-mode file`` behaviour and what "partially applied" means after a failure).
- ``supports_script``: ``execute_script`` can run many statements in one call (the executor then
  sends a whole file, plus its revision row, in one round trip).
- ``begin_sql``, ``quote_char``, ``json_placeholder``: SQL spelling.
- ``busy_hint``: what holds a busy database, for ``LockError`` messages.
- ``url_schema(path, query)``: the ``Schema`` Atlas's driver reads from a URL (its
  ``sqlclient.URL.Schema``, shown in the ``{{ json . }}`` documents ``atlasfmt`` renders).
  Default: the path names it (MySQL's database); SQLite says ``main``, PostgreSQL its
  ``search_path`` parameter.

The URL grammar itself (schemes, SQLite's path forms, defaults, the schema a ``Target`` is
bound to) is ``target``'s: it sits under this package (``Target.parse`` picks the family before
any dialect module loads, on every start), and every method here takes a parsed ``Target``.

Connecting (called once per run or look, before anything else)
- ``connect(target, timeout=, readonly=)`` *required*: a ``Connection`` in autocommit mode, or
  None for "nothing there yet" (only a read-only open of a SQLite file that does not exist).
  Raises ``ConnectError`` (``LockError`` when the database is busy) with the password scrubbed;
  never a driver exception.
- ``server_version(conn)`` *required*: (version text, flavor) for reports.
- ``look_timeout(connect_timeout, lock_timeout)``: how long a read-only look may wait.

Locks (called by ``Connection.lock`` once per run, after connecting)
- ``lock(conn, timeout)`` *required*: take the migration lock that also excludes Atlas (same
  key, name or file as Atlas), waiting at most ``timeout`` seconds; raises ``LockError`` naming
  what is held; returns the function that releases it (called by ``Connection.close``).
- ``bound_lock_waits(conn, seconds)``: make the session's lock waits on tables give up after
  ``seconds`` (looks and runs alike; the executor calls it again with what is left of the
  deadline before it replays a failed file, then with the full bound).
- ``is_busy(err)``: a driver error means another session holds what we wait for.

The revisions table (called by ``revisions.RevisionStore``)
- ``revisions_schema(target, override)``, ``table_name(schema)``, ``table_exists(conn, schema)``,
  ``create_schema_sql(schema)`` *required*, ``create_table_sql(schema)`` *required*: Atlas's
  names and DDL, byte for byte.
- ``insert_sql``/``upsert_sql``/``on_conflict_sql``, ``read_expr(column)``, ``placeholders(sql)``,
  ``json_param(value)``: how rows are written and read, in the SQL types and storage classes
  Atlas uses.
- ``executed_at()`` *required*: the ``executed_at`` value as Atlas's driver stores it.
- ``dirty_reason(conn, target, schema)`` *required*: why the database is not clean for a first
  run (Atlas's CheckClean), or None.

Running (called by ``executor.Executor``)
- ``execute_script(conn, script)`` *required when* ``supports_script``: run a script, no
  parameters.
- ``write_and_commit(conn, sql, params)``: write a file's final revision row and commit, the
  file's transaction being open (one round trip where the driver can).
- ``batches(conn, texts)``: for consecutive statements of a file that share one transaction,
  in order, which of them go to the server together (a ``Batch``: one round trip for many) and
  which alone (an index); None (the default) runs each alone. The executor asks for each step
  after sending the batch before it. ``send_batch(conn, batch)`` and ``finish_batch(conn,
  batch)`` *required when* ``batches`` gives a ``Batch``: send it; then read its results,
  stopping at the first statement that failed (raises ``BatchFailed`` naming it; nothing after
  it ran). ``end_batches(conn)``: before each statement of such a run that goes alone, and
  after the run (also when it stopped); does nothing unless a batch went since the last call.
- ``connection_lost(conn, err)``: ``err`` means the connection broke (nothing more can be done).
- ``unsendable(conn, err, statement)``: ``err`` (raised running ``statement``) means the
  statement cannot be sent on this connection at all (a character its character set lacks):
  (a one-line reason, the statement as the connection can write it in the revisions table);
  None (the default) otherwise.
- ``stop_statement(conn)``: a Ctrl-C/SIGTERM interrupted the client while the server runs a
  statement of ``conn``: stop it there too, if the server would not by itself.
- ``driver_message(err, target)``: one password-free line for a driver error, worded as Atlas's
  driver words it (it lands in the revisions table's ``error`` column).

Exactly once outside a file transaction (called by the executor under ``--tx-mode none``, and
in every mode where DDL is not transactional; see ``indoubt``)
- ``statement_class(head)``: ``indoubt.TX`` / ``REPEATABLE`` / ``DOUBT`` for a statement whose
  first words (upper-cased) are ``head``. Default: transaction control written in a file is
  ``DOUBT``, everything else ``TX`` (right for transactional DDL).
- ``folds_unquoted``: unquoted identifiers are stored lower-cased (PostgreSQL).
- ``catalog_has(conn, obj)``: whether the catalog holds ``obj`` (an ``indoubt.DbObject``), or
  None when this dialect cannot tell. Default: None.
- ``statement_limit(conn)``: (the largest statement in bytes the server accepts, the setting
  that says so), or None for no limit; checked for every pending statement before the first
  runs (MySQL's ``max_allowed_packet`` drops the connection instead of saying so).
"""

from __future__ import annotations

import time

from ..errors import ConfigError, LockError
from ..target import Target

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Sequence
    from ..indoubt import DbObject
    from ..lex import ScanOptions

TABLE = "atlas_schema_revisions"
REVISION_COLUMNS = ("version", "description", "type", "applied", "total", "executed_at",
                    "execution_time", "error", "error_stmt", "hash", "partial_hashes",
                    "operator_version")
# ent's UpdateNewValues: every column except the immutable ones is refreshed on conflict.
UPDATED_COLUMNS = tuple(c for c in REVISION_COLUMNS if c not in ("version", "description", "executed_at"))

# Transaction control written in a file: it cannot run inside our per-statement transaction.
TX_CONTROL = frozenset(("BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT",
                        "RELEASE", "XA", "LOCK", "UNLOCK"))

LOCK_NAME = "atlas_migrate_execute"  # Atlas's lock name (MySQL GET_LOCK, SQLite lock file)


class Connection:
    """One DB-API connection in autocommit mode, with the dialect that opened it.

    The executor sends BEGIN/COMMIT itself, so the same code drives every dialect; ``in_tx``
    says whether a transaction it opened is still open.
    """

    def __init__(self, dialect: Dialect, target: Target, raw: Any):
        self.dialect = dialect
        self.target = target
        self.raw = raw
        self.in_tx = False
        self.dialect_state: Any = None  # what the dialect keeps per connection (MySQL's batching)
        self._unlock: Callable[[], None] | None = None

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        cur = self.raw.cursor()
        if params is None:
            cur.execute(sql)
        else:
            cur.execute(self.dialect.placeholders(sql), params)
        return cur

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        cur = self.execute(sql, params)
        rows = cur.fetchall()
        cur.close()
        if type(rows) is list and (not rows or type(rows[0]) is tuple):
            return rows  # sqlite3 and psycopg already give a list of tuples
        return [tuple(r) for r in rows]

    def begin(self) -> None:
        self.execute(self.dialect.begin_sql)
        self.in_tx = True

    def run_script(self, statements: Sequence[str], *, begin: bool = False,
                   commit: bool = False) -> None:
        """Run ``statements`` as one script: one call, one round trip. ``begin``/``commit``
        open and close the transaction inside the same script. On error a transaction may be
        left open (``in_tx``): the caller rolls back."""
        parts = [self.dialect.begin_sql + ";"] if begin else []
        # _terminated inline for a statement ending in ";" (nothing to strip then): unchanged,
        # or "\n;" added when a "--" on its last line might swallow that ";" (mostly one in a
        # string). A file of 66,655 one-row INSERTs spent ~40 ms in the calls alone, and half
        # of its statements hold "--" in a string.
        parts += [(s if s.find("--", s.rfind("\n") + 1) < 0 else s + "\n;") if s[-1:] == ";"
                  else _terminated(s) for s in statements]
        if commit:
            parts.append("COMMIT;")
        if begin:
            self.in_tx = True
        self.dialect.execute_script(self, "\n".join(parts))
        if commit:
            self.in_tx = False

    def commit(self) -> None:
        self.execute("COMMIT")
        self.in_tx = False

    def rollback(self) -> None:
        self.in_tx = False
        try:
            self.execute("ROLLBACK")
        except Exception:  # the connection may be gone; the server rolls back for us
            pass

    def close(self) -> None:
        try:
            if self._unlock is not None:
                self._unlock()
        finally:
            self._unlock = None
            try:
                self.raw.close()
            except Exception:
                pass

    def lock(self, timeout: float) -> None:
        """Take the migration lock (excludes Atlas too); released by ``close``."""
        self._unlock = self.dialect.lock(self, timeout)
        self.dialect.bound_lock_waits(self, timeout)


class Batch:
    """Statements ``start`` to ``stop - 1`` (of the texts given to ``Dialect.batches``) sent to
    the server as one ``payload``."""

    __slots__ = ("start", "stop", "payload")

    def __init__(self, start: int, stop: int, payload: Any):
        self.start = start
        self.stop = stop
        self.payload = payload


class BatchMiscount(Exception):
    """A batch of ``count`` statements gave ``done`` results (cannot happen: the dialect
    batches only statements the server splits where we do); the batch's results are all read,
    the connection is usable, and its transaction is to be rolled back."""

    def __init__(self, count: int, done: int):
        super().__init__(count, done)
        self.count = count
        self.done = done


class BatchFailed(Exception):
    """Statement ``done`` of a batch (0-based: the ones before it ran) failed with the driver's
    ``err``; nothing after it ran. ``alone``: nothing of it ran either, and ``err``'s words
    depend on the batch (MySQL's syntax error quotes the statements after it): the statement
    is to be sent alone for the error it gives alone."""

    def __init__(self, done: int, err: BaseException, *, alone: bool = False):
        super().__init__(done, err)
        self.done = done
        self.err = err
        self.alone = alone


def _terminated(statement: str) -> str:
    """``statement`` ending in a ``;`` that a trailing line comment cannot swallow."""
    text = statement.rstrip()
    return text if text.endswith(";") and text.find("--", text.rfind("\n") + 1) < 0 else text + "\n;"


class Dialect:
    """Facts and SQL for one database family; see the module docstring for the contract."""

    name = ""
    scan_features: tuple[str, ...] = ()
    _scan_options: ScanOptions | None = None
    transactional_ddl = True
    supports_script = False
    begin_sql = "BEGIN"
    quote_char = '"'
    json_placeholder = "?"
    #: Why a busy database waits, for LockError messages (see ``is_busy``).
    busy_hint = "another session holds a lock on it"

    @property
    def scan_options(self) -> ScanOptions:
        """``scan_features`` as the statement splitter's options, built once (lex is imported
        only by the runs that split files)."""
        options = self._scan_options
        if options is None:
            from ..lex import ScanOptions

            options = self._scan_options = ScanOptions(**dict.fromkeys(self.scan_features, True))
        return options

    def url_schema(self, path: str, query: Sequence[tuple[str, str]]) -> str:
        """The schema Atlas's driver reads from a URL whose decoded path is ``path`` and whose
        query is the raw ``(key, value)`` pairs ``query``: by default the path names it."""
        return path.lstrip("/")

    # --- connecting ---------------------------------------------------------------------------

    def connect(self, target: Target, *, timeout: float, readonly: bool = False) -> Connection | None:
        raise NotImplementedError

    def server_version(self, conn: Connection) -> tuple[str, str]:
        raise NotImplementedError

    def look_timeout(self, connect_timeout: float, lock_timeout: float) -> float:
        return connect_timeout

    # --- locks --------------------------------------------------------------------------------

    def lock(self, conn: Connection, timeout: float) -> Callable[[], None]:
        raise NotImplementedError

    def bound_lock_waits(self, conn: Connection, seconds: float) -> None:
        """Default: the server has no per-session bound."""

    def is_busy(self, err: BaseException) -> bool:
        return False

    def lock_holder(self, conn: Connection) -> str | None:
        """Who holds the migration lock (``holder_text``), when the server can tell."""
        return None

    # --- the revisions table ------------------------------------------------------------------

    def quote(self, ident: str) -> str:
        q = self.quote_char
        return q + ident.replace(q, q + q) + q

    def placeholders(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def read_expr(self, column: str) -> str:
        """How ``RevisionStore.read_all`` selects ``column`` of the revisions table."""
        return self.quote(column)

    def json_param(self, value: str | None) -> Any:
        return value

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
        updates = ", ".join(f"{self.quote(c)} = excluded.{self.quote(c)}" for c in UPDATED_COLUMNS)
        return f"ON CONFLICT ({self.quote('version')}) DO UPDATE SET {updates}"

    def executed_at(self) -> Any:
        raise NotImplementedError

    def dirty_reason(self, conn: Connection, target: Target, schema: str) -> str | None:
        raise NotImplementedError

    # --- running ------------------------------------------------------------------------------

    def execute_script(self, conn: Connection, script: str) -> None:
        raise NotImplementedError

    def write_and_commit(self, conn: Connection, sql: str, params: Sequence[Any]) -> None:
        conn.execute(sql, params).close()
        conn.commit()

    def batches(self, conn: Connection, texts: Sequence[str]) -> Iterable[Batch | int] | None:
        return None

    def send_batch(self, conn: Connection, batch: Batch) -> None:
        raise NotImplementedError

    def finish_batch(self, conn: Connection, batch: Batch) -> None:
        raise NotImplementedError

    def end_batches(self, conn: Connection) -> None:
        pass

    def connection_lost(self, conn: Connection, err: BaseException) -> bool:
        return False

    def unsendable(self, conn: Connection, err: BaseException,
                   statement: str) -> tuple[str, str] | None:
        return None

    def stop_statement(self, conn: Connection) -> None:
        """Default: nothing to do (SQLite runs in this process; psycopg cancels on an interrupt)."""

    def driver_message(self, err: BaseException, target: Target) -> str:
        return first_line(target.scrub(str(err)))

    # --- exactly once outside a file transaction ----------------------------------------------

    folds_unquoted = False

    def statement_class(self, head: tuple[str, ...]) -> str:
        from ..indoubt import DOUBT, TX

        return DOUBT if head and head[0] in TX_CONTROL else TX

    def catalog_has(self, conn: Connection, obj: DbObject) -> bool | None:
        return None

    def statement_limit(self, conn: Connection) -> tuple[int, str] | None:
        return None


# --- shared by the dialect modules ------------------------------------------------------------


def first_line(text: str) -> str:
    """The first line of a (driver's) message."""
    return " ".join(text.strip().splitlines()[:1]) or text.strip()


def seconds_param(target: Target, name: str) -> int | None:
    """A URL parameter that must be a whole number of seconds (None when absent)."""
    text = target.param_map.get(name)
    if text is None or text == "":
        return None
    if not text.isdigit():
        raise ConfigError(f"reading the database URL {target.redacted()}: {name}={text!r} is not a "
                          "whole number of seconds; fix the parameter (e.g. connect_timeout=10)")
    return int(text)


def jitter() -> float:
    """A random fraction in [0, 1) for retry back-off (random is imported only when waiting)."""
    import random

    return random.random()


def lock_held(target: Target, waited: float, holder: str | None = None) -> LockError:
    """The error for a migration lock another run holds; ``holder`` describes its session."""
    who = f"it is held by {holder}" if holder else "another run holds it"
    return LockError(
        f"acquiring the migration lock on {target.redacted()}: {who} "
        f"(waited {waited:g}s); wait for it to finish").about("lock_timeout", "lock_timeout")


def holder_text(target: Target, session: object, seconds: object, statement: str | None) -> str:
    """``lock_held``'s holder: the session and what it runs, e.g. an ALTER of a killed run of
    ours that the server goes on with (it holds the lock until the statement ends)."""
    if not statement:
        return f"session {session} (idle)"
    text = " ".join(target.scrub(statement).split())
    text = text if len(text) <= 100 else text[:97] + "..."
    return f"session {session}, which has been running [{text}] for {seconds}s"


def poll_lock(conn: Connection, sql: str, params: tuple, timeout: float) -> None:
    """Poll ``sql`` (true when the lock was taken) with Atlas's back-off until ``timeout``."""
    deadline = time.monotonic() + timeout
    base = 0.025
    while not conn.query(sql, params)[0][0]:
        if time.monotonic() >= deadline:
            raise lock_held(conn.target, timeout, conn.dialect.lock_holder(conn))
        time.sleep(min(base + jitter() * base, max(0.0, deadline - time.monotonic())))
        base = min(base * 2, 1.0)
