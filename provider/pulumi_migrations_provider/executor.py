"""Running planned files: transactions per tx mode, progress rows, failure recording.

Where the database has transactional DDL (PostgreSQL, SQLite) and a file runs inside a
transaction, the revision row is written once, inside that transaction: the file and its
row commit or roll back together. Where a failure cannot be rolled back (MySQL/MariaDB DDL,
``txmode none``), the row is written before the first statement and after every statement,
so a rerun resumes at the failed statement; after a failure the row is re-read from the
committed state and the error is recorded on it, so ``status`` shows what went wrong. A failed
file whose transaction rolled back leaves no row, exactly as with Atlas.
"""

from __future__ import annotations

import time

from . import lex
from ._record import Record
from .dialects import Connection
from .dialects import driver_message
from .errors import (ConnectionLostError, DirError, HistoryChangedError, MigrateError,
                     RevisionStoreError, StatementError)
from .events import (ExecutionDone, ExecutionFailed, ExecutionStarted, FileDone, FileStarted,
                     Logger, StatementRun)
from .migdir import MigrationFile
from .revisions import TYPE_EXECUTE, Revision, RevisionStore
from .sumfile import HashFile


class Prepared(Record):
    """A file split and hashed, ready to run.

    ``hashes`` (the chained partial hashes) is computed on first use when not given: a file run
    in one transaction needs them only to resume or to write progress rows, and hashing a 10 MB
    seed file's statements again costs more than a tenth of its whole apply on SQLite.
    """

    __slots__ = ("file", "statements", "_hashes", "sum_hash")
    _fields = ("file", "statements", "hashes", "sum_hash")
    file: MigrationFile
    statements: list[lex.Statement]
    sum_hash: str              # atlas.sum hash, without "h1:"

    def __init__(self, file: MigrationFile, statements: list[lex.Statement],
                 hashes: list[str] | None, sum_hash: str) -> None:
        self.file = file
        self.statements = statements
        self._hashes = hashes
        self.sum_hash = sum_hash

    @property
    def hashes(self) -> list[str]:
        """Chained partial hashes, with "h1:" (``lex.statement_hashes`` of the statements)."""
        if self._hashes is None:
            self._hashes = lex.statement_hashes([s.text for s in self.statements])
        return self._hashes


def prepare(file: MigrationFile, hash_file: HashFile, options: lex.ScanOptions) -> Prepared:
    """Split and hash one file. Raises ParseError, or DirError for a file left out of atlas.sum."""
    sum_hash = hash_file.hash_of(file.name)
    if sum_hash is None:
        raise DirError(
            f"applying {file.name}: it has no atlas.sum entry (its first line says 'atlas:sum ignore'); "
            "remove the directive and run 'pulumi-migrations hash'")
    stmts = lex.split_statements(file.text(), options, file=file.name)
    return Prepared(file, stmts, None, sum_hash)


def check_history(p: Prepared, rev: Revision | None) -> None:
    """Statements that already ran in a partially applied file may not change."""
    if rev is None or rev.applied <= 0:
        return
    stored = rev.partial_hashes or []
    for i in range(rev.applied):
        if i >= len(p.hashes) or i >= len(stored) or stored[i].removeprefix("h1:") != p.hashes[i].removeprefix("h1:"):
            raise HistoryChangedError(
                f"resuming {p.file.name}: statement {i + 1} already ran but was changed since; "
                f"restore statements 1-{rev.applied} as they were and edit only later ones")


class RunResult(Record):
    """What a run did: the files applied (names, in order) and the statements executed."""

    __slots__ = _fields = ("applied", "statements")
    applied: list[str]
    statements: int

    def __init__(self, applied: list[str] | None = None, statements: int = 0) -> None:
        self.applied = [] if applied is None else applied
        self.statements = statements


class Executor:
    """Runs prepared files against one connection under the chosen tx mode.

    ``store`` is None on a dry run: nothing is executed or written, events are still emitted.
    """

    def __init__(self, conn: Connection | None, store: RevisionStore | None, *, tx_mode: str,
                 logger: Logger, dry_run: bool):
        self.conn = conn
        self.store = store
        self.tx_mode = tx_mode
        self.log = logger
        self.dry_run = dry_run

    def run(self, files: list[Prepared], existing: dict[str, Revision], *,
            current: str | None) -> RunResult:
        result = RunResult()
        started = time.monotonic_ns()
        self.log(ExecutionStarted(current, files[-1].file.version if files else None,
                                  tuple(p.file.name for p in files), self.dry_run))
        in_all_tx = self.tx_mode == "all" and not self.dry_run
        if in_all_tx:
            assert self.conn is not None
            self.conn.begin()
        try:
            for index, p in enumerate(files, 1):
                self._run_file(p, existing.get(p.file.version), index, len(files), result=result)
                result.applied.append(p.file.name)
            if in_all_tx:
                assert self.conn is not None
                self.conn.commit()
        except MigrateError as err:
            if in_all_tx:
                assert self.conn is not None
                if self.conn.in_tx:
                    self.conn.rollback()
                if self.conn.dialect.transactional_ddl:  # the whole run was rolled back
                    result.applied.clear()
            self.log(ExecutionFailed(getattr(err, "file", None), err))
            raise
        self.log(ExecutionDone(tuple(result.applied), result.statements, time.monotonic_ns() - started))
        return result

    def _mode_for(self, p: Prepared) -> str:
        return p.file.txmode or self.tx_mode if self.tx_mode != "all" else "all"

    def _run_file(self, p: Prepared, rev: Revision | None, index: int, count: int, *,
                  result: RunResult) -> None:
        check_history(p, rev)
        texts = [s.text for s in p.statements]
        start_ns = time.monotonic_ns()
        resume = rev.applied if rev is not None else 0
        self.log(FileStarted(p.file.name, p.file.version, index, count, len(texts), resume))
        if self.dry_run:
            self._log_statements(p, resume, len(texts))
            result.statements += len(texts) - resume
            self.log(FileDone(p.file.name, p.file.version, len(texts) - resume, time.monotonic_ns() - start_ns))
            return
        conn, store = self.conn, self.store
        assert conn is not None and store is not None
        mode = self._mode_for(p)
        progress = mode == "none" or not conn.dialect.transactional_ddl
        # Better than Atlas: total and hash follow the file as it is now (a fixed file may
        # have another statement count), so a resumed row never ends up with applied > total.
        row = (rev.copy() if rev is not None else
               Revision(p.file.version, p.file.description, TYPE_EXECUTE))
        row.type = TYPE_EXECUTE
        row.total = len(texts)
        row.hash = p.sum_hash
        row.partial_hashes = p.hashes[:resume] if resume else None
        if row.executed_at is None:
            row.executed_at = conn.dialect.executed_at()
        if mode == "file" and conn.dialect.supports_script:
            self._run_file_as_script(p, row, resume, start_ns, result,
                                     row_is_new=rev is None)
            self.log(FileDone(p.file.name, p.file.version, len(texts) - resume, time.monotonic_ns() - start_ns))
            return
        if mode == "file":
            conn.begin()
        new = rev is None  # the first write may be a plain INSERT (see RevisionStore.write)
        try:
            if progress:
                store.write(row, new=new)
                new = False
            for i in range(resume, len(texts)):
                s = p.statements[i]
                self.log(StatementRun(p.file.name, i + 1, s.text, s.line, s.col))
                try:
                    conn.execute(s.text).close()
                except Exception as err:  # the driver's error: recorded, then raised as ours
                    if conn.dialect.connection_lost(conn, err):
                        raise self._lost(p, err, None if mode == "file" and not progress else i) from None
                    raise self._failed(p, i, err, mode, start_ns) from None
                row.applied = i + 1
                row.error = row.error_stmt = ""
                result.statements += 1
                if progress:
                    row.partial_hashes = p.hashes[:i + 1]
                    store.write(row)
            row.applied = len(texts)
            row.partial_hashes = None
            row.error = row.error_stmt = ""
            row.execution_time = time.monotonic_ns() - start_ns
            store.write(row, new=new)
            if mode == "file":
                conn.commit()
        except ConnectionLostError:
            raise
        except BaseException as err:
            if conn.in_tx and mode == "file":
                try:
                    conn.rollback()
                except Exception:
                    if conn.dialect.connection_lost(conn, err):
                        raise self._lost(p, err, None) from None
                    raise
            if isinstance(err, Exception) and conn.dialect.connection_lost(conn, err):
                raise self._lost(p, err, None) from None
            raise
        self.log(FileDone(p.file.name, p.file.version, len(texts) - resume, time.monotonic_ns() - start_ns))

    def _run_file_as_script(self, p: Prepared, row: Revision, resume: int,
                            start_ns: int, result: RunResult, *, row_is_new: bool) -> None:
        """Transactional DDL, one transaction per file: two round trips instead of one per
        statement. The statements go as one script; the revision row and COMMIT as another.
        A failure rolls everything back; the failing statement is then found by replaying
        the file statement by statement in a transaction that is rolled back."""
        conn, store = self.conn, self.store
        assert conn is not None and store is not None
        todo = p.statements[resume:]
        try:
            conn.run_script([s.text for s in todo], begin=True)
        except Exception as err:  # the driver's error: located, recorded, raised as ours
            if conn.dialect.connection_lost(conn, err):
                raise self._lost(p, err, None) from None
            conn.rollback()
            i, cause = self._locate_failure(p, resume, err)
            self._log_statements(p, resume, i + 1)
            raise self._failed(p, i, cause, "file", start_ns) from None
        self._log_statements(p, resume, len(p.statements))
        row.applied = len(p.statements)
        row.partial_hashes = None
        row.error = row.error_stmt = ""
        row.execution_time = time.monotonic_ns() - start_ns
        try:
            conn.dialect.write_and_commit(conn, store.write_sql(new=row_is_new), store.params(row))
        except RevisionStoreError:
            conn.rollback()
            raise
        except Exception as err:
            if conn.dialect.connection_lost(conn, err):  # the COMMIT itself may have happened:
                raise self._lost(p, err, None) from None  # file and row commit together either way
            conn.rollback()
            raise RevisionStoreError(store.describe_failure("writing", err)) from None
        result.statements += len(todo)

    def _log_statements(self, p: Prepared, start: int, stop: int) -> None:
        """Emit StatementRun for statements ``start`` to ``stop - 1`` (0-based) of a file."""
        for i in range(start, stop):
            s = p.statements[i]
            self.log(StatementRun(p.file.name, i + 1, s.text, s.line, s.col))

    def _locate_failure(self, p: Prepared, resume: int, err: BaseException) -> tuple[int, BaseException]:
        """Which statement failed: replay them one by one inside a transaction, then roll back.
        When the replay cannot reproduce it (it failed at COMMIT), blame the last statement."""
        conn = self.conn
        assert conn is not None
        conn.begin()
        try:
            for i in range(resume, len(p.statements)):
                try:
                    conn.execute(p.statements[i].text).close()
                except Exception as replayed:
                    return i, replayed
        finally:
            conn.rollback()
        return len(p.statements) - 1, err

    def _lost(self, p: Prepared, err: BaseException, in_doubt: int | None) -> ConnectionLostError:
        """The connection broke while running ``p``. With ``in_doubt`` None the file and its
        revision row were in one transaction (committed together or not at all): a rerun
        continues exactly once. Otherwise statement ``in_doubt`` (0-based) ran outside such a
        transaction and its progress row may not have been written: the rerun runs it again,
        so the message names it for the user to check first."""
        conn = self.conn
        assert conn is not None
        doing = f"applying {p.file.name} (version {p.file.version})"
        reason = f"the connection to the database was lost ({driver_message(err, conn.target)})"
        if in_doubt is None:
            return ConnectionLostError(
                f"{doing}: {reason}; the file and its revision row commit together, so nothing is "
                "half done: rerun the same command to continue", file=p.file.name)
        s = p.statements[in_doubt]
        return ConnectionLostError(
            f"{doing}: {reason} while statement {in_doubt + 1} at {p.file.name}:{s.line}:{s.col} "
            "ran; it may or may not have completed and the rerun runs it again: check its effect "
            "first, then rerun the same command", file=p.file.name, in_doubt=in_doubt + 1)

    def _failed(self, p: Prepared, i: int, err: BaseException, mode: str, start_ns: int) -> StatementError:
        conn, store = self.conn, self.store
        assert conn is not None and store is not None
        message = driver_message(err, conn.target)
        s = p.statements[i]
        if conn.in_tx:
            conn.rollback()
        if mode == "none" or not conn.dialect.transactional_ddl:
            # What ran is committed: record the error on the committed row (as Atlas's final
            # write does), so status and the next run see it and resume after the last success.
            # Where the file's transaction rolled back nothing is written, as with Atlas (its
            # writes roll back with the file): an error row would make Atlas resume the file
            # keeping the broken file's total, so a fix with another statement count would
            # leave its row partial for good.
            committed = next((r for r in store.read_all() if r.version == p.file.version), None)
            row = committed or Revision(p.file.version, p.file.description, TYPE_EXECUTE,
                                        executed_at=conn.dialect.executed_at())
            row.total = len(p.statements)
            row.hash = p.sum_hash
            row.error = message
            row.error_stmt = s.text
            row.execution_time = time.monotonic_ns() - start_ns
            if row.applied == 0:
                row.partial_hashes = None
            store.write(row)
        return StatementError(file=p.file.name, version=p.file.version, statement=s.text,
                              index=i + 1, line=s.line, col=s.col, db_error=message)
