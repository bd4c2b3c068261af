"""SQLite connections that a Ctrl-C or SIGTERM stops in the middle of a statement.

SQLite runs a statement in C without coming back to Python, and Python runs a signal's handler
only between bytecodes of the main thread: without help, an interrupt waits for the statement
to finish (a 20 s INSERT ran to its end, then was rolled back). ``StoppableConnection`` (the
``factory`` of ``sqlite3.connect``) fixes that:

- Its progress handler, which SQLite calls every ``CHECK_EVERY`` virtual machine instructions,
  is Python code, so a pending signal handler runs inside it, within a fraction of a
  millisecond, and raises there (``KeyboardInterrupt``, or ``interrupts.Terminated`` for
  SIGTERM). sqlite3 would swallow an exception that leaves the callback, so the handler is the
  ``__next__`` of a primed generator (``_watch``) that is parked on a ``yield`` inside a
  ``try``: the exception is raised where that generator resumes, is caught and kept, and the
  callback returns 1, which makes SQLite abort the statement with SQLITE_INTERRUPT (an
  ``OperationalError`` "interrupted", code 9). A plain function cannot catch it: the handler
  runs as the function is entered, before its ``try``.
- ``stopped(err)`` turns that "interrupted" back into the interrupt that caused it; the
  dialect's ``SQLiteConnection`` calls it wherever a statement is stepped (``execute``,
  ``query``, ``execute_script``). The engine then sees exactly what a Ctrl-C between two
  statements gives: the transaction rolls back, nothing is recorded as failed, the lock is
  released, the CLI says its one line. A statement shorter than ``CHECK_EVERY`` instructions
  never calls the handler, so the few made on ``raw`` directly (PRAGMAs) need no conversion.
- ``set_deadline`` (``lint.facts``' bounded look): past it, the handler stops the statement too,
  and the "interrupted" error is left as it is, for the caller to treat as a timeout.

Why not ``Connection.interrupt()`` from a thread woken by ``signal.set_wakeup_fd``: the wakeup
fd is one per process (asyncio and programs embedding the engine use it), it needs a thread
per run, and the Python handler would still run at some later bytecode, after the statement's
"interrupted" error had been raised, racing with the executor recording it as a failure. Here
the interrupt is known before the statement's error exists.

The handler is installed only on the main thread, the one that receives signals: a Pulumi
provider's or a fan-out's worker threads pay nothing (and would take the GIL at every call).
Cost, measured (tests/bench/README.md, "Interrupting SQLite statements"): ~0.09 µs per call,
one call per ~110 µs of a CPU-bound statement at ``CHECK_EVERY`` = 10,000 (0.08%); statements
shorter than that (seed INSERTs) never call it.
"""

from __future__ import annotations

import sqlite3
import sys
import time

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, Generator

#: SQLite virtual machine instructions between two calls of the progress handler: ~0.1 ms of a
#: CPU-bound statement, ~1 s if every instruction read a page from a slow disk.
CHECK_EVERY = 10_000

_SQLITE_INTERRUPT = 9


class _Watch:
    """What the progress handler shares with its connection (no reference back to it)."""

    __slots__ = ("caught", "deadline")

    def __init__(self) -> None:
        self.caught: list[BaseException] = []
        self.deadline: float | None = None


def _watch(w: _Watch) -> Generator[int, None, None]:
    """The progress handler's body: 0 to go on, 1 to abort the statement. Prime it with
    ``next``; each later ``next`` is one call from SQLite. Everything after the priming runs
    inside the ``try`` except the few instructions that record an exception (a second signal
    landing exactly there ends the generator: see ``StoppableConnection.stopped``)."""
    stop = 0
    while True:
        try:
            while True:
                yield stop
                deadline = w.deadline
                stop = 0 if deadline is None or time.monotonic() < deadline else 1
        except GeneratorExit:
            return
        except BaseException as exc:  # what a signal's handler raised here
            w.caught.append(exc)
            stop = 1


def _on_main_thread() -> bool:
    threading = sys.modules.get("threading")  # never imported: no thread was started with it
    return threading is None or threading.current_thread() is threading.main_thread()


class StoppableConnection(sqlite3.Connection):
    """A ``sqlite3.Connection`` whose statements a signal stops (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watch = _Watch()
        self._handler: Generator[int, None, None] | None = None
        if _on_main_thread():
            self._arm()

    def _arm(self) -> None:
        handler = _watch(self._watch)
        next(handler)
        self.set_progress_handler(handler.__next__, CHECK_EVERY)
        self._handler = handler

    def set_deadline(self, deadline: float | None) -> None:
        """Abort statements once ``time.monotonic()`` passes ``deadline`` (None: never); the
        error is then sqlite3's own "interrupted"."""
        self._watch.deadline = deadline
        if deadline is not None and self._handler is None:
            self._arm()

    def stopped(self, err: sqlite3.OperationalError) -> BaseException | None:
        """The interrupt that made SQLite abort with ``err``, or None when ``err`` is another
        error (or the deadline's)."""
        code = getattr(err, "sqlite_errorcode", None)  # Python 3.11+
        if (code != _SQLITE_INTERRUPT) if code is not None else (str(err) != "interrupted"):
            return None
        caught = self._watch.caught
        stop = caught[0].with_traceback(None) if caught else None
        caught.clear()
        handler = self._handler
        if handler is not None and getattr(handler, "gi_frame") is None:  # it has ended
            # An exception left the generator (a second signal while it recorded the first):
            # sqlite3 swallowed it, and a finished handler would abort every statement.
            self._arm()
            stop = stop or KeyboardInterrupt()
        return stop
