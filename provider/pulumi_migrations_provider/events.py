"""Events the executor emits while it works; the CLI and the provider turn them into output.

A logger is any callable taking one event. Events are plain data: tests assert their sequence.
"""

from __future__ import annotations

from typing import Callable, Union

from ._record import FrozenRecord
from .errors import MigrateError


class ExecutionStarted(FrozenRecord):
    """Apply begins: ``files`` will run, moving the database from ``current`` to ``target``."""

    __slots__ = _fields = ("current", "target", "files", "dry_run")
    current: str | None
    target: str | None
    files: tuple[str, ...]
    dry_run: bool

    def __init__(self, current: str | None, target: str | None, files: tuple[str, ...],
                 dry_run: bool) -> None:
        self._assign(current, target, files, dry_run)


class FileStarted(FrozenRecord):
    """A file begins; ``resume_from`` > 0 when earlier statements already ran."""

    __slots__ = _fields = ("file", "version", "index", "count", "statements", "resume_from")
    file: str
    version: str
    index: int  # 1-based position among the files of this run
    count: int  # files in this run
    statements: int
    resume_from: int

    def __init__(self, file: str, version: str, index: int, count: int, statements: int,
                 resume_from: int) -> None:
        self._assign(file, version, index, count, statements, resume_from)


class StatementRun(FrozenRecord):
    """A statement is about to run (or, on ``dry_run``, would run)."""

    __slots__ = _fields = ("file", "index", "text", "line", "col")
    file: str
    index: int  # 1-based within the file
    text: str
    line: int
    col: int

    def __init__(self, file: str, index: int, text: str, line: int, col: int) -> None:
        self._assign(file, index, text, line, col)


class FileDone(FrozenRecord):
    """A file finished; ``duration_ns`` is what it took this run."""

    __slots__ = _fields = ("file", "version", "statements", "duration_ns")
    file: str
    version: str
    statements: int
    duration_ns: int

    def __init__(self, file: str, version: str, statements: int, duration_ns: int) -> None:
        self._assign(file, version, statements, duration_ns)


class ExecutionFailed(FrozenRecord):
    """Apply stopped at ``file`` with ``error``; progress is recorded in the revisions table."""

    __slots__ = _fields = ("file", "error")
    file: str | None
    error: MigrateError

    def __init__(self, file: str | None, error: MigrateError) -> None:
        self._assign(file, error)


class ExecutionDone(FrozenRecord):
    """Apply finished successfully."""

    __slots__ = _fields = ("applied", "statements", "duration_ns")
    applied: tuple[str, ...]
    statements: int
    duration_ns: int

    def __init__(self, applied: tuple[str, ...], statements: int, duration_ns: int) -> None:
        self._assign(applied, statements, duration_ns)


Event = Union[ExecutionStarted, FileStarted, StatementRun, FileDone, ExecutionFailed, ExecutionDone]
Logger = Callable[[Event], None]


def nop_logger(event: Event) -> None:
    """The default logger: ignores everything."""
