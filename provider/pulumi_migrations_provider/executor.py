"""Running planned files: transactions per tx mode, progress rows, failure recording.

The guarantee is "exactly once, or an honest stop": after an interruption at any moment, the
rerun either finishes with every statement's effect present once, or stops naming the one
statement in doubt and how to resolve it.

- A file-wide transaction where the database has transactional DDL (PostgreSQL, SQLite under
  ``--tx-mode file``/``all``): the statements and the file's revision row commit together, so
  a rerun starts the file over with nothing half done.
- Otherwise (``--tx-mode none`` on every dialect; MySQL/MariaDB in every mode, where DDL
  commits implicitly) statements run in steps (``indoubt.classify``). A statement that can
  share a transaction with its progress row runs in one with it (under ``none`` one statement
  per transaction; on MySQL under ``file``/``all`` each run of consecutive such statements in
  one). A statement that must run outside a transaction and may be repeated (``IF NOT
  EXISTS``, ``SET``, ``PRAGMA``…) runs, then its progress row is written. Any other (MySQL DDL,
  ``CREATE INDEX CONCURRENTLY``…) is first marked in doubt in the row (``indoubt.mark``, a
  form Atlas reads as a partial file with an error); the next run checks the catalog for its
  effect (``indoubt.took_effect``) and continues, or, when the catalog cannot tell, stops with
  an ``InDoubtError`` until ``Options.resolve_in_doubt`` says ``done`` or ``redo``. A
  transaction the file writes itself (``BEGIN`` … ``COMMIT``) runs as written, as one step
  whose progress row is written just before its ``COMMIT``.

After a statement fails, its transaction (if any) is rolled back first; where statements ran
in steps the row is then re-read from the committed state and the error is recorded on it, so
``status`` shows what went wrong (under ``file``/``all`` only on a row that was committed:
a MySQL file failing in its first transaction leaves none). A failed file whose transaction
rolled back leaves no row, exactly as with Atlas.
Every transaction goes through ``transaction`` (one place for BEGIN/COMMIT/ROLLBACK).

Test hook: ``PULUMI_MIGRATIONS_KILL_POINT=before:N`` (or ``after:N``) makes the process print
``kill point before N`` on stderr and sleep just before (after) the N-th statement it runs,
where "after" is before that statement's progress row is written or committed; the kill suite
SIGKILLs it there.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Callable, Iterator

from . import indoubt, lex
from .dialects import Connection
from .dialects import driver_message
from .dialects.base import Batch, BatchFailed, BatchMiscount
from .errors import (ConnectionLostError, DirError, HistoryChangedError,
                     InternalError, MigrateError, RevisionStoreError, StatementError,
                     StatementTooLargeError)
from .events import (ExecutionDone, ExecutionFailed, ExecutionStarted, FileDone, FileStarted,
                     Logger, log_statements)
from .migdir import MigrationFile
from .revisions import TYPE_EXECUTE, Revision, RevisionStore
from .sumfile import HashFile


@dataclass(slots=True)
class Prepared:
    """A file split and hashed, ready to run.

    The chained partial hashes are computed on demand and only as far as asked
    (``hashes_upto``): a file run in one transaction needs them only to resume, and a progress
    row after statement k needs the first k. Hashing all of a 10 MB seed file's statements
    again costs more than a tenth of its whole apply on SQLite, and on MySQL the row written
    after the file's first statement (its CREATE TABLE) used to hash every INSERT after it.
    """

    file: MigrationFile
    statements: list[lex.Statement]
    sum_hash: str              # atlas.sum hash, without "h1:"
    _chain: lex.HashChain = field(default_factory=lex.HashChain, repr=False, compare=False)

    @property
    def hashes(self) -> list[str]:
        """Chained partial hashes, with "h1:" (``lex.statement_hashes`` of the statements)."""
        return self.hashes_upto(len(self.statements))

    def hashes_upto(self, k: int) -> list[str]:
        """The first ``k`` chained partial hashes (each ``lex.statement_hashes`` would give),
        computing only those not computed yet."""
        chain = self._chain
        done = len(chain.hashes)
        if done < k:
            chain.extend([s.text for s in self.statements[done:k]])
        return chain.hashes[:k]


def prepare(file: MigrationFile, hash_file: HashFile, options: lex.ScanOptions) -> Prepared:
    """Split and hash one file and check its directives. Raises ParseError, DirectiveError (a
    bad or repeated ``atlas:txmode``), or DirError for a file left out of atlas.sum."""
    _ = file.txmode  # raises DirectiveError: found before anything runs, not when reached
    sum_hash = hash_file.hash_of(file.name)
    if sum_hash is None:
        raise DirError(
            f"applying {file.name}: it has no atlas.sum entry (its first line says 'atlas:sum ignore'); "
            "remove the directive and run 'pulumi-migrations hash'")
    stmts = lex.split_statements(file.text(), options, file=file.name)
    return Prepared(file, stmts, sum_hash)


def check_history(p: Prepared, rev: Revision | None) -> None:
    """Statements that already ran in a partially applied file may not change."""
    if rev is None or rev.applied <= 0:
        return
    stored = rev.partial_hashes or []
    mine = p.hashes_upto(rev.applied)
    for i in range(rev.applied):
        if i >= len(mine) or i >= len(stored) or stored[i].removeprefix("h1:") != mine[i].removeprefix("h1:"):
            raise HistoryChangedError(
                f"resuming {p.file.name}: statement {i + 1} already ran but was changed since; "
                f"restore statements 1-{rev.applied} as they were and edit only later ones")


def check_sizes(conn: Connection, files: list[Prepared]) -> None:
    """Every statement fits the server's limit (``Dialect.statement_limit``); called before
    anything is written. Raises StatementTooLargeError."""
    limit = conn.dialect.statement_limit(conn)
    if limit is None:
        return
    most, setting = limit
    for p in files:
        for i, s in enumerate(p.statements):
            if len(s.text) * 4 > most and len(s.text.encode()) > most:
                raise StatementTooLargeError(
                    file=p.file.name, version=p.file.version, statement=s.text, index=i + 1,
                    line=s.line, col=s.col, size=len(s.text.encode()), limit=most + 1024,
                    setting=setting)


@dataclass(slots=True)
class RunResult:
    """What a run did: the files applied (names, in order) and the statements executed."""

    applied: list[str] = field(default_factory=list)
    statements: int = 0


class _Tx:
    """The handle ``transaction`` yields: ``ended()`` says a statement of the file (its own
    COMMIT or ROLLBACK, or MySQL DDL committing implicitly) closed the transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def ended(self) -> None:
        self.conn.in_tx = False


@contextmanager
def transaction(conn: Connection, *, script: list[str] | None = None, commit: bool = True,
                begin: Callable[[], None] | None = None) -> Iterator[_Tx]:
    """One transaction on ``conn``: BEGIN (sent with ``script`` in one round trip when given;
    ``begin`` runs the file's own BEGIN instead), the body, then COMMIT (ROLLBACK when
    ``commit`` is false). Any exception, from the script, the body or the COMMIT, rolls back
    and propagates. The body may end the transaction itself (``Dialect.write_and_commit``, or
    a statement of the file and ``_Tx.ended``); then nothing is left to do."""
    try:
        if begin is not None:
            begin()
            conn.in_tx = True
        elif script is None:
            conn.begin()
        else:
            conn.run_script(script, begin=True)
        yield _Tx(conn)
        if conn.in_tx:
            if commit:
                conn.commit()
            else:
                conn.rollback()
    finally:
        if conn.in_tx:
            conn.rollback()


class _Failed(Exception):
    """Internal: statement ``index`` of ``p`` failed with the driver's ``err``. Raised inside a
    transaction; turned into a StatementError (and recorded) once that is rolled back."""

    def __init__(self, p: Prepared, index: int, err: BaseException):
        super().__init__(p.file.name, index)
        self.p = p
        self.index = index
        self.err = err


def _kill_point() -> tuple[str, int] | None:
    spec = os.environ.get("PULUMI_MIGRATIONS_KILL_POINT", "")
    where, _, n = spec.partition(":")
    return (where, int(n)) if where in ("before", "after") and n.isdigit() else None


class Executor:
    """Runs prepared files against one connection under the chosen tx mode.

    ``store`` is None on a dry run: nothing is executed or written, events are still emitted.
    ``resolve_in_doubt`` ("done", "redo" or None) answers for a statement left in doubt whose
    effect the catalog cannot show. ``lock_timeout`` is the bound the session's lock waits
    have (``Connection.lock``): a file's script and the replay that locates its failure share
    one such deadline (None: the replay waits as the script did).
    """

    def __init__(self, conn: Connection | None, store: RevisionStore | None, *, tx_mode: str,
                 logger: Logger, dry_run: bool, resolve_in_doubt: str | None = None,
                 lock_timeout: float | None = None):
        self.conn = conn
        self.store = store
        self.tx_mode = tx_mode
        self.log = logger
        self.dry_run = dry_run
        self.resolve_in_doubt = resolve_in_doubt
        self.lock_timeout = lock_timeout
        self._count = 0
        self._at = 0
        self._kill_point = _kill_point()

    def run(self, files: list[Prepared], existing: dict[str, Revision], *,
            current: str | None) -> RunResult:
        result = RunResult()
        started = time.monotonic_ns()
        self.log(ExecutionStarted(current, files[-1].file.version if files else None,
                                  tuple(p.file.name for p in files), self.dry_run))
        conn = self.conn
        # tx-mode all: one transaction for the run where DDL can be rolled back; MySQL's DDL
        # commits implicitly, so there each file runs as under tx-mode file.
        outer = (self.tx_mode == "all" and not self.dry_run and conn is not None
                 and conn.dialect.transactional_ddl)
        try:
            try:
                with transaction(conn) if outer and conn is not None else nullcontext():
                    for index, p in enumerate(files, 1):
                        self._run_file(p, existing.get(p.file.version), index, len(files),
                                       in_outer=outer, result=result)
                        result.applied.append(p.file.name)
            except _Failed as failed:
                # What ran is committed where the file ran in steps: the error is recorded on the
                # committed row (as Atlas's final write does), so status and the next run see it.
                # Where the file's transaction rolled back nothing is written, as with Atlas (its
                # writes roll back with the file): an error row would make Atlas resume the file
                # keeping the broken file's total, so a fix with another statement count would
                # leave its row partial for good. On MySQL (tx-mode file) that is so while the
                # file's row was never committed: it fails in the DML its first statements form.
                none = self._mode_for(failed.p) == "none"
                steps = none or not (conn is not None and conn.dialect.transactional_ddl)
                raise self._failed(failed.p, failed.index, failed.err, record=steps,
                                   create=none) from None
            except Exception as err:
                if not isinstance(err, MigrateError) and conn is not None and conn.dialect.connection_lost(conn, err):
                    raise self._lost(files[min(len(result.applied), len(files) - 1)], err, None) from None
                raise
        except MigrateError as err:
            if outer:
                result.applied.clear()
            self.log(ExecutionFailed(getattr(err, "file", None), err))
            raise
        self.log(ExecutionDone(tuple(result.applied), result.statements, time.monotonic_ns() - started))
        return result

    def _mode_for(self, p: Prepared) -> str:
        return p.file.txmode or self.tx_mode if self.tx_mode != "all" else "all"

    def _run_file(self, p: Prepared, rev: Revision | None, index: int, count: int, *,
                  in_outer: bool, result: RunResult) -> None:
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
        conn = self.conn
        assert conn is not None
        # Better than Atlas: total and hash follow the file as it is now (a fixed file may
        # have another statement count), so a resumed row never ends up with applied > total.
        row = (rev.copy() if rev is not None else
               Revision(p.file.version, p.file.description, TYPE_EXECUTE))
        row.type = TYPE_EXECUTE
        row.total = len(texts)
        row.hash = p.sum_hash
        row.partial_hashes = p.hashes_upto(resume) if resume else None
        if row.executed_at is None:
            row.executed_at = conn.dialect.executed_at()
        new = rev is None  # the first write may be a plain INSERT (see RevisionStore.write)
        mode = self._mode_for(p)
        if resume < len(texts) and indoubt.marked_in_doubt(rev, texts[resume]):
            resume = self._settle_in_doubt(p, row, resume, start_ns)
            new = False
        if in_outer:
            self._run_in_open_tx(p, row, resume, start_ns, result, new=new)
        elif mode != "none" and conn.dialect.transactional_ddl:
            self._run_file_in_one_tx(p, row, resume, start_ns, result, new=new)
        else:
            self._run_in_steps(p, row, resume, mode, start_ns, result, new=new)
        self.log(FileDone(p.file.name, p.file.version, len(texts) - resume, time.monotonic_ns() - start_ns))

    # --- the three ways of running a file -------------------------------------------------------

    def _run_in_open_tx(self, p: Prepared, row: Revision, resume: int, start_ns: int,
                        result: RunResult, *, new: bool) -> None:
        """tx-mode all: the run's transaction is open; statements one by one, then the row."""
        store = self.store
        assert store is not None
        for i in range(resume, len(p.statements)):
            self._execute(p, i, result)
        self._progress(row, p, len(p.statements), start_ns)
        store.write(row, new=new)

    def _run_file_in_one_tx(self, p: Prepared, row: Revision, resume: int, start_ns: int,
                            result: RunResult, *, new: bool) -> None:
        """Transactional DDL, one transaction per file: two round trips where the dialect runs
        scripts. The statements go as one script (with BEGIN); the revision row and COMMIT as
        another. A failure rolls everything back; the failing statement is then found by
        replaying the file statement by statement in a transaction that is rolled back."""
        conn, store = self.conn, self.store
        assert conn is not None and store is not None
        todo = [s.text for s in p.statements[resume:]]
        if not conn.dialect.supports_script:
            with transaction(conn):
                self._run_in_open_tx(p, row, resume, start_ns, result, new=new)
            return
        stage = "script"
        started = time.monotonic()
        before = self._count
        self._count += len(todo)
        self._maybe_pause("before", since=before)
        try:
            with transaction(conn, script=todo):
                stage = "row"
                self._maybe_pause("after", since=before)
                self._log_statements(p, resume, len(p.statements))
                self._progress(row, p, len(p.statements), start_ns)
                conn.dialect.write_and_commit(conn, store.write_sql(new=new), store.params(row))
        except MigrateError:
            raise
        except Exception as err:  # the driver's error: located, recorded, raised as ours
            if conn.dialect.connection_lost(conn, err):  # the COMMIT itself may have happened:
                raise self._lost(p, err, None) from None  # file and row commit together either way
            if stage == "row":
                raise RevisionStoreError(store.describe_failure("writing", err)) from None
            i, cause = self._locate_failure(p, resume, err, started)
            self._log_statements(p, resume, i + 1)
            raise _Failed(p, i, cause) from None
        result.statements += len(todo)

    def _run_in_steps(self, p: Prepared, row: Revision, resume: int, mode: str, start_ns: int,
                      result: RunResult, *, new: bool) -> None:
        """No file-wide transaction (see the module docstring): each step is a statement, or a
        run of consecutive transactional ones, committed with its progress row where the
        database can; a statement that cannot be is marked in doubt before it runs. The row
        written after a step already carries the mark of the next statement when that one is
        in doubt (a mark on a statement that never started is checked and found not done), so
        DDL costs no extra round trip. A transaction the file opens itself (``BEGIN`` …
        ``COMMIT``) is one step (``_run_files_own_tx``)."""
        conn, store = self.conn, self.store
        assert conn is not None and store is not None
        n = len(p.statements)
        heads = [indoubt.head(s.text) for s in p.statements]
        kinds = [conn.dialect.statement_class(h) for h in heads]
        control = [indoubt.control(h) for h in heads]

        def advance(done: int) -> None:
            """``row`` after ``done`` statements, marking the next one if it is in doubt."""
            self._progress(row, p, done, start_ns)
            if done < n and kinds[done] == indoubt.DOUBT and control[done] is None:
                s = p.statements[done]
                indoubt.mark(row, done, f"{p.file.name}:{s.line}:{s.col}", s.text)

        i = resume
        if i >= n:  # nothing to run (an empty file; or the last statement was settled done)
            if new:
                advance(n)
                store.write(row, new=True)
            return
        if kinds[i] != indoubt.TX and (new or not indoubt.marked_in_doubt(row, p.statements[i].text)):
            # The row exists before anything ran outside a transaction (a first file's effects
            # must never look like a dirty database), marking the statement if in doubt.
            advance(i)
            store.write(row, new=new)
            new = False
        while i < n:
            if control[i] == "begin":
                i = self._run_files_own_tx(p, row, i, kinds, control, advance, result)
            elif control[i] is not None:  # COMMIT/ROLLBACK outside a transaction: a no-op
                self._execute(p, i, result)
                i += 1
                advance(i)
                store.write(row)
            elif kinds[i] == indoubt.TX:
                j = i + 1
                while mode != "none" and j < n and kinds[j] == indoubt.TX and control[j] is None:
                    j += 1
                try:
                    with transaction(conn):
                        self._at = i
                        try:  # logged as one run: up to the one that failed, if one did
                            self._execute_run(p, i, j, result)
                        finally:
                            self._log_statements(p, i, self._at + 1)
                        advance(j)
                        store.write(row, new=new)
                except (MigrateError, _Failed):
                    raise
                except Exception as err:  # BEGIN or COMMIT
                    if conn.dialect.connection_lost(conn, err):
                        raise self._lost(p, err, None) from None
                    if conn.dialect.is_busy(err):  # another writer holds the SQLite file: the
                        # step did not commit, and its error cannot be written either
                        raise self._failed(p, i, err, record=False) from None
                    raise RevisionStoreError(store.describe_failure("writing", err)) from None
                i = j
            else:
                self._execute(p, i, result, in_doubt=kinds[i] == indoubt.DOUBT)
                i += 1
                advance(i)
                store.write(row, new=new)
            new = False

    def _run_files_own_tx(self, p: Prepared, row: Revision, i: int, kinds: list[str],
                          control: list[str | None], advance: Callable[[int], None],
                          result: RunResult) -> int:
        """Statement ``i`` is the file's own BEGIN: run it and what follows as written, up to
        its COMMIT or ROLLBACK; return the index after that. The row written just before the
        file's COMMIT already counts the COMMIT, so it is committed by it or not at all; after
        a ROLLBACK (or a kill inside) the row still points at the BEGIN, and the rerun starts
        there: exactly once either way. MySQL DDL inside commits the transaction implicitly:
        it is marked in doubt inside it first, and the rest runs in steps again."""
        conn, store = self.conn, self.store
        assert conn is not None and store is not None
        n = len(p.statements)
        k = i + 1
        try:
            with transaction(conn, begin=lambda: self._execute(p, i, result)) as tx:
                while k < n and control[k] not in ("commit", "rollback"):
                    if kinds[k] == indoubt.DOUBT and not conn.dialect.transactional_ddl and control[k] is None:
                        advance(k)  # marks it: committed by the DDL's implicit commit
                        store.write(row)
                        self._execute(p, k, result, in_doubt=True)
                        tx.ended()
                        advance(k + 1)
                        store.write(row)
                        return k + 1
                    self._execute(p, k, result)
                    k += 1
                if k == n:  # the file ends inside its transaction: it commits with the row
                    advance(n)
                    store.write(row)
                    return n
                if control[k] == "commit":
                    advance(k + 1)
                    store.write(row)
                self._execute(p, k, result)
                tx.ended()
        except (MigrateError, _Failed):
            raise
        except Exception as err:  # the closing COMMIT or ROLLBACK of ours
            if conn.dialect.connection_lost(conn, err):
                raise self._lost(p, err, None) from None
            raise RevisionStoreError(store.describe_failure("writing", err)) from None
        if control[k] == "rollback":
            advance(k + 1)
            store.write(row)
        return k + 1

    # --- helpers ----------------------------------------------------------------------------------

    def _execute(self, p: Prepared, i: int, result: RunResult, *, in_doubt: bool = False,
                 log: bool = True) -> None:
        """Run statement ``i`` (0-based), logged first unless ``log`` is false (the caller
        logs a run of statements at once). Raises _Failed, or ConnectionLostError."""
        conn = self.conn
        assert conn is not None
        s = p.statements[i]
        if log:
            log_statements(self.log, p.file.name, p.statements, i, i + 1)
        self._count += 1
        self._maybe_pause("before")
        try:
            conn.execute(s.text).close()
        except Exception as err:  # the driver's error: recorded, then raised as ours
            if conn.dialect.connection_lost(conn, err):
                raise self._lost(p, err, i if in_doubt else None) from None
            raise _Failed(p, i, err) from None
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM (interrupts.py) while the server runs it
            conn.dialect.stop_statement(conn)
            raise
        self._maybe_pause("after")
        result.statements += 1

    def _execute_run(self, p: Prepared, i: int, j: int, result: RunResult) -> None:
        """Statements ``i`` to ``j - 1``, inside the transaction they share with their progress
        row: in batches where the dialect makes them (``Dialect.batches``: MySQL's runs of
        plain DML, one round trip for many; the next batch is made while the server runs the
        one sent), else one by one. ``self._at`` follows the statement under way (the one that
        failed, on an error). Raises _Failed, or ConnectionLostError."""
        conn = self.conn
        assert conn is not None
        dialect = conn.dialect
        plan = dialect.batches(conn, [s.text for s in p.statements[i:j]])
        if plan is None:
            for k in range(i, j):
                self._at = k
                self._execute(p, k, result, log=False)
            return
        sent: tuple[Batch, int] | None = None  # a batch in flight, and self._count before it

        def finish() -> None:
            nonlocal sent
            assert sent is not None
            batch, before = sent
            sent = None
            try:
                dialect.finish_batch(conn, batch)
            except BatchFailed as failed:
                self._at = i + batch.start + failed.done
                err = failed.err
                if failed.alone:  # its own words, as one by one (it cannot succeed alone)
                    dialect.end_batches(conn)
                    try:
                        conn.execute(p.statements[self._at].text).close()
                    except Exception as own:
                        if dialect.connection_lost(conn, own):
                            raise
                        err = own
                raise _Failed(p, self._at, err) from None
            except BatchMiscount as odd:  # read whole: the transaction rolls back as usual
                raise InternalError(
                    f"applying {p.file.name} (version {p.file.version}): statements "
                    f"{i + batch.start + 1} to {i + batch.stop} went to the server as one batch "
                    f"of {odd.count} and gave {odd.done} results, which cannot happen; none of them "
                    "was kept (their transaction rolled back) and the next run resumes there: please "
                    "report this as a bug") from None
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM while the server runs it: as _execute
                dialect.stop_statement(conn)
                raise
            self._at = i + batch.stop - 1
            self._maybe_pause("after", since=before)
            result.statements += batch.stop - batch.start

        try:
            try:
                for step in plan:
                    if sent is not None:
                        finish()
                    if isinstance(step, int):
                        dialect.end_batches(conn)  # (nothing to end unless a batch went before)
                        self._at = i + step
                        self._execute(p, i + step, result, log=False)
                        continue
                    self._at = i + step.start
                    before = self._count
                    self._count += step.stop - step.start
                    self._maybe_pause("before", since=before)
                    dialect.send_batch(conn, step)
                    sent = (step, before)
                if sent is not None:
                    finish()
            except BaseException as stop:
                # Stopped (a failure, an interrupt) with multi-statements on, maybe while a batch
                # ran: read its results first (stopped on the server too on an interrupt), then
                # switch them off, as far as the connection allows; what stopped us is what
                # propagates (the transaction then rolls back).
                try:
                    if sent is not None:
                        if isinstance(stop, KeyboardInterrupt):
                            dialect.stop_statement(conn)
                        dialect.finish_batch(conn, sent[0])
                except Exception:
                    pass
                try:
                    dialect.end_batches(conn)
                except Exception:
                    pass
                raise
            dialect.end_batches(conn)
        except (MigrateError, _Failed):
            raise
        except Exception as err:
            if dialect.connection_lost(conn, err):
                raise self._lost(p, err, None) from None
            raise

    def _maybe_pause(self, where: str, *, since: int | None = None) -> None:
        """The test hook (module docstring); ``since``: the statements ``since + 1`` to
        ``self._count`` went in one script."""
        point = self._kill_point
        if point is None or point[0] != where:
            return
        first = self._count if since is None else since + 1
        if first <= point[1] <= self._count:
            import sys

            sys.stderr.write(f"kill point {where} {point[1]}\n")
            sys.stderr.flush()
            time.sleep(3600)

    def _progress(self, row: Revision, p: Prepared, done: int, start_ns: int) -> None:
        """``row`` after the first ``done`` statements of ``p`` (the final row at the end)."""
        row.applied = done
        row.error = row.error_stmt = ""
        row.partial_hashes = p.hashes_upto(done) if done < len(p.statements) else None
        row.execution_time = time.monotonic_ns() - start_ns

    def _settle_in_doubt(self, p: Prepared, row: Revision, i: int, start_ns: int) -> int:
        """The last run stopped while statement ``i`` (marked in doubt) ran: ask the catalog
        whether it took effect, else ``resolve_in_doubt``. Records a "done" answer and returns
        where to continue (``i`` to run it again, ``i + 1`` when it completed); raises
        InDoubtError when nobody can tell."""
        conn, store = self.conn, self.store
        assert conn is not None and store is not None
        try:
            done = indoubt.settle(conn, p.statements[i], i + 1, file=p.file.name,
                                  version=p.file.version, resolve=self.resolve_in_doubt)
        except Exception as err:
            if isinstance(err, MigrateError) or not conn.dialect.connection_lost(conn, err):
                raise
            raise self._lost(p, err, None) from None
        if not done:
            return i
        self._progress(row, p, i + 1, start_ns)
        store.write(row)
        return i + 1

    def _log_statements(self, p: Prepared, start: int, stop: int) -> None:
        """Emit StatementRun for statements ``start`` to ``stop - 1`` (0-based) of a file."""
        log_statements(self.log, p.file.name, p.statements, start, stop)

    def _locate_failure(self, p: Prepared, resume: int, err: BaseException,
                        started: float) -> tuple[int, BaseException]:
        """Which statement failed: replay them one by one inside a transaction, then roll back.
        When the replay cannot reproduce it (it failed at COMMIT), blame the last statement.

        The script started at ``started`` (``time.monotonic()``) and the replay share one
        deadline for lock waits: a statement that gave up waiting for a lock another session
        holds would otherwise wait as long again in the replay (issue 8: 4.2 s for
        ``--lock-timeout 2s``). The replay's lock waits get what is left, which after such a
        wait is next to nothing: the held lock fails the same statement at once. A replay that
        cannot even begin (SQLite waits for the file at BEGIN) blames the first statement."""
        conn = self.conn
        assert conn is not None
        bound = self.lock_timeout
        try:
            if bound is not None:
                conn.dialect.bound_lock_waits(conn, max(0.0, started + bound - time.monotonic()))
            try:
                with transaction(conn, commit=False):
                    for i in range(resume, len(p.statements)):
                        try:
                            conn.execute(p.statements[i].text).close()
                        except Exception as replayed:
                            if conn.dialect.connection_lost(conn, replayed):
                                raise
                            return i, replayed
            except Exception as busy:
                if not conn.dialect.is_busy(busy) or conn.dialect.connection_lost(conn, busy):
                    raise
                return resume, busy  # the replay's BEGIN waited for what the script did
            finally:
                if bound is not None and not conn.dialect.connection_lost(conn, err):
                    conn.dialect.bound_lock_waits(conn, bound)
        except Exception as lost:
            if conn.dialect.connection_lost(conn, lost):
                raise self._lost(p, lost, None) from None
            raise
        return len(p.statements) - 1, err

    def _lost(self, p: Prepared, err: BaseException, in_doubt: int | None) -> ConnectionLostError:
        """The connection broke while running ``p``. With ``in_doubt`` None, what ran since the
        last progress row was in one transaction with the next one (committed together or not
        at all): a rerun continues exactly once. Otherwise statement ``in_doubt`` (0-based) ran
        outside a transaction; its row marks it in doubt and the rerun checks it."""
        conn = self.conn
        assert conn is not None
        doing = f"applying {p.file.name} (version {p.file.version})"
        reason = f"the connection to the database was lost ({driver_message(err, conn.target)})"
        if in_doubt is None:
            return ConnectionLostError(
                f"{doing}: {reason}; what ran since the last recorded statement commits together "
                "with its revision row, so nothing is half done: rerun the same command to "
                "continue", file=p.file.name)
        s = p.statements[in_doubt]
        return ConnectionLostError(
            f"{doing}: {reason} while statement {in_doubt + 1} at {p.file.name}:{s.line}:{s.col} "
            "ran; it may or may not have completed and is marked in doubt: rerun the same "
            "command, which checks its effect before going on", file=p.file.name,
            in_doubt=in_doubt + 1)

    def _failed(self, p: Prepared, i: int, err: BaseException, *, record: bool,
                create: bool = True) -> StatementError:
        """The error for statement ``i`` failing, recorded (with ``record``) on the committed
        row so status and the next run see it; without ``create`` only on a row that was
        committed (none means the file's transaction rolled back whole, its row with it, and
        Atlas then has no row either). No transaction is open any more."""
        conn, store = self.conn, self.store
        assert conn is not None and store is not None
        s = p.statements[i]
        unsendable = conn.dialect.unsendable(conn, err, s.text)
        message, stored = unsendable or (driver_message(err, conn.target), s.text)
        committed = (next((r for r in store.read_all() if r.version == p.file.version), None)
                     if record else None)
        if record and (committed is not None or create):
            row = committed or Revision(p.file.version, p.file.description, TYPE_EXECUTE,
                                        executed_at=conn.dialect.executed_at())
            row.total = len(p.statements)
            row.hash = p.sum_hash
            row.error = message
            row.error_stmt = stored
            if row.applied == 0:
                row.partial_hashes = None
            store.write(row)
        return StatementError(file=p.file.name, version=p.file.version, statement=s.text,
                              index=i + 1, line=s.line, col=s.col, db_error=message,
                              held=conn.dialect.is_busy(err),
                              unsendable=unsendable is not None)
