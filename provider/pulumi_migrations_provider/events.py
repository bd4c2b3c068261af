"""Events the executor emits while it works; the CLI and the provider turn them into output.

A logger is any callable taking one event. Events are plain data: tests assert their sequence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

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
