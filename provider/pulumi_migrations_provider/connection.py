"""One DB-API connection in autocommit mode, with the dialect that opened it.

The executor sends BEGIN/COMMIT itself, so the same code drives every dialect.
"""

from __future__ import annotations


from .target import Target

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, Sequence
    from .dialects import Dialect


class Connection:
    """One DB-API connection in autocommit mode, with the dialect that opened it."""

    def __init__(self, dialect: "Dialect", target: Target, raw: Any):
        self.dialect = dialect
        self.target = target
        self.raw = raw
        self.in_tx = False
        self._unlock: Any = None

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
        parts += [_terminated(s) for s in statements]
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


def _terminated(statement: str) -> str:
    """``statement`` ending in a ``;`` that a trailing line comment cannot swallow."""
    text = statement.rstrip()
    return text if text.endswith(";") and text.find("--", text.rfind("\n") + 1) < 0 else text + "\n;"
