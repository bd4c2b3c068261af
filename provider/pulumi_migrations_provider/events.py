"""Events the executor emits while it works; the CLI and the provider turn them into output.

A logger is any callable taking one event. Events are plain data: tests assert their sequence.
The executor sends statements through ``log_statements``: a logger with a ``statements_run``
method takes a run of statements in one call instead of one ``StatementRun`` each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence, Union

from .errors import MigrateError


@dataclass(frozen=True, slots=True)
class ExecutionStarted:
    """Apply begins: ``files`` will run, moving the database from ``current`` to ``target``."""

    current: str | None
    target: str | None
    files: tuple[str, ...]
    dry_run: bool


@dataclass(frozen=True, slots=True)
class FileStarted:
    """A file begins; ``resume_from`` > 0 when earlier statements already ran."""

    file: str
    version: str
    index: int  # 1-based position among the files of this run
    count: int  # files in this run
    statements: int
    resume_from: int


@dataclass(frozen=True, slots=True)
class StatementRun:
    """A statement is about to run (or, on ``dry_run``, would run)."""

    file: str
    index: int  # 1-based within the file
    text: str
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class FileDone:
    """A file finished; ``duration_ns`` is what it took this run."""

    file: str
    version: str
    statements: int
    duration_ns: int


@dataclass(frozen=True, slots=True)
class ExecutionFailed:
    """Apply stopped at ``file`` with ``error``; progress is recorded in the revisions table."""

    file: str | None
    error: MigrateError


@dataclass(frozen=True, slots=True)
class ExecutionDone:
    """Apply finished successfully."""

    applied: tuple[str, ...]
    statements: int
    duration_ns: int


Event = Union[ExecutionStarted, FileStarted, StatementRun, FileDone, ExecutionFailed, ExecutionDone]
Logger = Callable[[Event], None]


def nop_logger(event: Event) -> None:
    """The default logger: ignores everything."""


def log_statements(logger: Logger, file: str, statements: Sequence[Any], start: int,
                   stop: int) -> None:
    """Emit ``StatementRun`` for ``statements[start:stop]`` (``lex.Statement``s, 0-based; the
    events' ``index`` is 1-based), in order.

    A logger that has a ``statements_run(file, statements, start, stop)`` method gets one call
    instead, with the same meaning (the CLI's printer and its JSON log: a seed file of 66,655
    one-row INSERTs made as many events, ~0.15 s); ``nop_logger`` gets nothing at all."""
    if logger is nop_logger or start >= stop:
        return
    bulk = getattr(logger, "statements_run", None)
    if bulk is not None:
        bulk(file, statements, start, stop)
        return
    for i in range(start, stop):
        s = statements[i]
        logger(StatementRun(file, i + 1, s.text, s.line, s.col))
