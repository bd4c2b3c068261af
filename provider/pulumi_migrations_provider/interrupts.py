"""How the CLI stops on Ctrl-C and SIGTERM: as an exception in the main thread, never lost.

Contract:

- ``install()`` makes SIGTERM raise ``Terminated`` (a ``KeyboardInterrupt``) like Ctrl-C, so the
  engine stops the same way for both: the statement under way finishes or rolls back, progress is
  recorded, locks are released.
- An interrupt that lands while Python runs a finalizer (a driver's ``__del__`` during garbage
  collection: PyMySQL's ``MySQLResult.__del__`` was seen in ``test_signals``) cannot propagate:
  Python would print it as "Exception ignored in …" with a traceback and go on, so the run
  would ignore the signal. ``install()``'s unraisable hook catches exactly those and delivers
  them again a millisecond later through SIGALRM, outside the finalizer (again, if that moment
  is in another finalizer).
- ``stopping()``: the run is stopping on an interrupt; from then on an unraisable error is
  dropped (a driver object the interrupt cut short in its ``__init__`` fails in its ``__del__``),
  and an interrupt still waiting for redelivery is forgotten.
- ``finish()``: the work is done; further Ctrl-C/SIGTERM are ignored and no redelivery is left
  armed, so nothing can turn into a traceback during the last flushes.

Only the main thread receives signals; this module is used by the CLI only (the engine never
installs handlers: a Pulumi provider process and Python programs keep their own).
"""

from __future__ import annotations

import signal
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

_REDELIVERY_SECONDS = 0.001


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C."""


_pending: type[KeyboardInterrupt] | None = None
_stopping = False


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    global _pending
    stop, _pending = _pending, None
    if stop is not None and not _stopping:
        raise stop()


def _can_arm() -> bool:
    return hasattr(signal, "setitimer") and hasattr(signal, "SIGALRM")


def _unraisable(unraisable: Any) -> None:
    global _pending
    if _stopping:
        return
    exc = unraisable.exc_value
    if isinstance(exc, KeyboardInterrupt) and _can_arm():
        # Raised inside a finalizer: swallowed there, so raise it again just outside it.
        _pending = Terminated if isinstance(exc, Terminated) else KeyboardInterrupt
        signal.setitimer(signal.ITIMER_REAL, _REDELIVERY_SECONDS)
        return
    sys.__unraisablehook__(unraisable)


def install() -> None:
    """SIGTERM raises ``Terminated``; an interrupt swallowed by a finalizer is redelivered.
    Idempotent: the console script installs before importing the CLI and ``cli.run`` again, and
    a redelivery armed in between stays pending."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    if _can_arm():
        signal.signal(signal.SIGALRM, _on_alarm)
    sys.unraisablehook = _unraisable


def stopping() -> None:
    """The run is stopping on an interrupt: drop unraisable errors and any pending redelivery."""
    global _pending, _stopping
    _stopping, _pending = True, None
    if _can_arm():
        signal.setitimer(signal.ITIMER_REAL, 0)


def report(stop: KeyboardInterrupt) -> int:
    """The run stops on ``stop``: ``stopping()``, one line on stderr, and the exit code the shell
    gives a process stopped by that signal (130 for SIGINT, 143 for SIGTERM)."""
    terminated = isinstance(stop, Terminated)
    stopping()  # nothing but our one line goes out from here on
    try:
        sys.stderr.write("error: terminated (SIGTERM); rerun the same command to continue\n" if terminated
                         else "error: interrupted; rerun the same command to continue\n")
    except (OSError, ValueError):
        pass
    return 143 if terminated else 130


def finish() -> None:
    """The work is over: ignore further interrupts and disarm a pending redelivery."""
    global _pending
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if _can_arm():
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
    _pending = None
