"""The revisions table ``atlas_schema_revisions``, read and written exactly as Atlas does.

Rows are keyed by version. Writes are upserts that never change ``description`` or
``executed_at`` after the first insert (ent's ``UpdateNewValues``). The special row
``.atlas_cloud_identifier`` is never read as a revision.
"""

from __future__ import annotations

from ._record import Record
from .dialects import Connection
from .dialects import TABLE, Dialect
from .errors import LockError, MigrateError, RevisionStoreError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any

TYPE_BASELINE = 1
TYPE_EXECUTE = 2
TYPE_RESOLVED = 4
TYPE_NAMES = {TYPE_BASELINE: "baseline", TYPE_EXECUTE: "applied", TYPE_RESOLVED: "manually set",
              TYPE_EXECUTE | TYPE_RESOLVED: "applied + manually set"}


def type_name(value: int) -> str:
    """Atlas's ``RevisionType.String``: ``applied``, ``baseline``, ``manually set``,
    ``applied + manually set``, else ``unknown (0011)`` (four binary digits)."""
    return TYPE_NAMES.get(value) or f"unknown ({value:04b})"
CLOUD_ROW = ".atlas_cloud_identifier"


class Revision(Record):
    """One row of the revisions table (Atlas's ``migrate.Revision``).

    ``hash`` is the file's atlas.sum hash without ``h1:``; ``partial_hashes`` carry ``h1:``.
    ``applied`` < ``total`` means the file stopped midway; ``error``/``error_stmt`` say why.
    ``execution_time`` is in nanoseconds. Mutable; ``==`` compares every field.
    """

    __slots__ = _fields = ("version", "description", "type", "applied", "total", "executed_at",
                           "execution_time", "error", "error_stmt", "hash", "partial_hashes",
                           "operator_version")
    version: str
    description: str
    type: int
    applied: int
    total: int
    executed_at: Any
    execution_time: int
    error: str
    error_stmt: str
    hash: str
    partial_hashes: list[str] | None
    operator_version: str

    def __init__(self, version: str, description: str, type: int = TYPE_EXECUTE,
                 applied: int = 0, total: int = 0, executed_at: Any = None,
                 execution_time: int = 0, error: str = "", error_stmt: str = "", hash: str = "",
                 partial_hashes: list[str] | None = None, operator_version: str = "") -> None:
        self.version = version
        self.description = description
        self.type = type
        self.applied = applied
        self.total = total
        self.executed_at = executed_at
        self.execution_time = execution_time
        self.error = error
        self.error_stmt = error_stmt
        self.hash = hash
        self.partial_hashes = partial_hashes
        self.operator_version = operator_version

    @property
    def partial(self) -> bool:
        return self.applied != self.total

    def copy(self, **changes: Any) -> "Revision":
        """A copy with ``changes`` applied (``partial_hashes`` copied, not shared)."""
        return self.replace(**changes)


def executed_rows(revs: list[Revision]) -> list[Revision]:
    """The rows that count as executed files: all but the row of a file that ran nothing
    (``applied`` 0 with an error: its first statement failed, or was left in doubt, outside a
    transaction). On purpose unlike Atlas, which counts every row: see ``current_version``."""
    return [r for r in revs if not (r.applied == 0 and r.error and r.total > 0)]


def current_version(revs: list[Revision]) -> str | None:
    """The version a database is at: the last executed row's (``executed_rows``), None when
    none. What ``status`` calls current and an apply starts from (its header's "from"). Atlas
    takes the last row, so a file whose first statement failed would be "current" there."""
    done = executed_rows(revs)
    return done[-1].version if done else None


def parse_partial_hashes(value: Any) -> list[str] | None:
    """Accept every encoding Atlas has written: SQL NULL, JSON null, ``[]``, a full array
    (as text, bytes, or an already-decoded list from a jsonb column)."""
    if value is None or value == "null" or value == b"null":  # what a finished file's row holds
        return None
    raw = value
    try:
        if isinstance(value, (bytes, bytearray, memoryview)):
            value = bytes(value).decode("utf-8")
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            import json  # here: a no-op run reads only finished rows ("null", above)

            value = json.loads(value)
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise ValueError(f"partial_hashes is not a JSON array: {_short(raw)}") from None
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(f"partial_hashes is not a JSON array: {_short(raw)}")
    return [str(v) for v in value]


def _short(value: Any) -> str:
    text = repr(bytes(value) if isinstance(value, (bytearray, memoryview)) else value)
    return text if len(text) <= 60 else text[:57] + "..."


class RevisionStore:
    """Reads and writes the revisions table through one connection.

    ``schema`` is where the table lives (see ``Dialect.revisions_schema``). Nothing here
    creates anything unless ``ensure()`` is called.
    """

    def __init__(self, conn: Connection, schema: str, operator_version: str):
        self.conn = conn
        self.dialect: Dialect = conn.dialect
        self.schema = schema
        self.operator_version = operator_version
        self._upsert = self.dialect.upsert_sql(schema)
        self._insert = self.dialect.insert_sql(schema)

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{TABLE}"

    def exists(self) -> bool:
        try:
            return self.dialect.table_exists(self.conn, self.schema)
        except Exception as err:
            raise self.failure("looking for", err) from None

    def ensure(self) -> None:
        """Create the schema (non-SQLite) and the table when missing."""
        try:
            if self.dialect.table_exists(self.conn, self.schema):
                return
            ddl = self.dialect.create_schema_sql(self.schema)
            if ddl:
                self.conn.execute(ddl)
            self.conn.execute(self.dialect.create_table_sql(self.schema))
        except Exception as err:
            raise RevisionStoreError(self.describe_failure("creating", err)) from None

    def read_all(self) -> list[Revision]:
        """Every revision except the cloud identifier, sorted by version byte-wise."""
        cols = ", ".join(self.dialect.read_expr(c) for c in (
            "version", "description", "type", "applied", "total", "executed_at", "execution_time",
            "error", "error_stmt", "hash", "partial_hashes", "operator_version"))
        try:
            rows = self.conn.query(
                f"SELECT {cols} FROM {self.dialect.table_name(self.schema)} WHERE "
                f"{self.dialect.quote('version')} <> ?", (CLOUD_ROW,))
        except Exception as err:
            raise self.failure("reading", err) from None
        revs = []
        for (version, description, type_, applied, total, executed_at, execution_time, error,
             error_stmt, hash_, partial_hashes, operator_version) in rows:
            try:
                ph = parse_partial_hashes(partial_hashes)
            except ValueError as err:
                raise RevisionStoreError(
                    f"reading {self.qualified_name}: version {version}: {err}; fix the row by hand") from None
            try:
                numbers = [int(v) for v in (type_, applied, total, execution_time)]
            except (TypeError, ValueError):
                raise RevisionStoreError(
                    f"reading {self.qualified_name}: version {version}: type, applied, total and "
                    f"execution_time must be integers, found {type_!r}, {applied!r}, {total!r}, "
                    f"{execution_time!r}; fix the row by hand") from None
            if numbers[1] < 0 or numbers[2] < 0:  # a resume would start at a negative index
                raise RevisionStoreError(
                    f"reading {self.qualified_name}: version {version}: applied and total must "
                    f"not be negative, found {numbers[1]} and {numbers[2]}; fix the row by hand")
            revs.append(Revision(version, description, numbers[0], numbers[1], numbers[2], executed_at,
                                 numbers[3], error or "", error_stmt or "", hash_ or "", ph,
                                 operator_version or ""))
        revs.sort(key=lambda rev: rev.version.encode())
        return revs

    def write(self, rev: Revision, *, new: bool = False) -> None:
        """Upsert ``rev``; ``executed_at`` defaults to now for a first insert. ``new`` says the
        row cannot exist yet (we hold the lock and read the table): a plain INSERT, cheaper
        than an upsert to prepare again after every DDL statement."""
        try:
            self.conn.execute(self.write_sql(new=new), self.params(rev)).close()
        except Exception as err:
            raise RevisionStoreError(self.describe_failure("writing", err)) from None

    def delete(self, version: str) -> None:
        """Delete the row of ``version`` (``set`` removing a revision after its target)."""
        if version == CLOUD_ROW:
            raise RevisionStoreError(f"deleting from {self.qualified_name}: {CLOUD_ROW} is not a revision")
        try:
            self.conn.execute(f"DELETE FROM {self.dialect.table_name(self.schema)} WHERE "
                              f"{self.dialect.quote('version')} = ?", (version,)).close()
        except Exception as err:
            raise RevisionStoreError(self.describe_failure("deleting from", err)) from None

    def write_sql(self, *, new: bool = False) -> str:
        """The parametrized statement (``?`` placeholders) ``write`` runs."""
        return self._insert if new else self._upsert

    def params(self, rev: Revision) -> tuple:
        """The upsert's parameters for ``rev``."""
        if rev.version == CLOUD_ROW:
            raise RevisionStoreError(f"writing {self.qualified_name}: {CLOUD_ROW} is not a revision")
        if rev.partial_hashes is None:
            ph = "null"
        else:
            import json

            ph = json.dumps(rev.partial_hashes, separators=(",", ":"))
        return (
            rev.version, rev.description, rev.type, rev.applied, rev.total,
            rev.executed_at if rev.executed_at is not None else self.dialect.executed_at(),
            int(rev.execution_time), rev.error or "", rev.error_stmt or "", rev.hash,
            self.dialect.json_param(ph), self.operator_version,
        )

    def failure(self, doing: str, err: BaseException) -> MigrateError:
        """The error to raise for a driver error while ``doing`` something with the table: a
        LockError when another connection holds the database (a SQLite file a run keeps
        locked until it ends), else a RevisionStoreError."""
        if self.dialect.is_busy(err):
            return LockError(f"{doing} the revisions table {self.qualified_name}: "
                             f"{self.dialect.busy_hint}; wait for it to finish"
                             ).about("lock_timeout", "lock_timeout")
        return RevisionStoreError(self.describe_failure(doing, err))

    def describe_failure(self, doing: str, err: BaseException) -> str:
        from .dialects import driver_message
        what = driver_message(err, self.conn.target)
        if self.dialect.connection_lost(self.conn, err):
            return (f"{doing} the revisions table {self.qualified_name}: the connection to the "
                    f"database was lost ({what}); rerun the same command once it is reachable")
        return (f"{doing} the revisions table {self.qualified_name}: "
                f"{what}; check the database user's privileges")
