"""Every error the engine raises, in one hierarchy.

Each error a user can cause is a ``MigrateError`` subclass that carries its details as fields
and renders a one-line message: what we were doing, what went wrong, what to do next. The edges
(the CLI, the Pulumi provider) print ``err.render(their_words)``; nothing below them catches
broadly.

The engine's text is neutral: it never names a CLI flag or a resource input. An error about an
option carries the ``Options`` field it concerns in ``option``; a remedy that needs an option
is a key in ``hint`` (one of ``HINTS``), which each edge words from its own table (the CLI's
in ``cli.py``, the providers' in ``providers/_common.py``) and ``render`` appends. A test checks
that both tables word every key.

A message never contains a database password: URLs are rendered through
``Target.redacted()`` and driver messages pass through ``scrub()`` before they get here.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import TypeVar

    _E = TypeVar("_E", bound="MigrateError")


#: The remedies that name an option, by key: what each edge's table must word. Each wording is
#: appended to the neutral message as it is (so it starts with its own "; " or ", or").
HINTS = {
    "baseline_or_allow_dirty": "mark existing migrations applied (baseline) or apply on top (allow dirty)",
    "exec_order": "run out-of-order files (non-linear) or skip them (linear-skip)",
    "allow_changed": "accept the edit of an applied file once",
    "lock_timeout": "wait longer for a lock",
    "tx_mode_file": "use the per-file transaction mode",
    "revisions_schema": "drop the separate revisions schema",
    "resolve_in_doubt": "say whether a statement left in doubt completed (done) or must run again (redo)",
    "set_allow_partial": "record the file as applied although it stopped midway (set {version}, allow partial)",
    "allow_partial": "how to record a file that stopped midway as fully applied",
    "config_scheme": "give the project file as file://PATH or a path",
    "config_missing": "point to the project file",
    "env_name": "select one of the project file's envs",
    "var_value": "give the project file's variable {name} a value",
    "var_unknown": "declare the variable {name} or stop giving it",
}


class MigrateError(Exception):
    """Base of every error a user can cause (bad input, bad database state, failed statement).

    ``option`` is the ``Options`` field the error is about (or the project-file setting:
    ``config``, ``env``, ``vars``), or None; ``hint`` a key of ``HINTS`` naming the remedy the
    edge words, or None.
    """

    option: str | None = None
    hint: str | None = None

    def about(self: _E, option: str | None = None, hint: str | None = None) -> _E:
        """Set ``option`` and ``hint``; returns the error, for ``raise Error(...).about(...)``."""
        if option is not None:
            self.option = option
        if hint is not None:
            self.hint = hint
        return self

    def render(self, words: dict[str, str]) -> str:
        """The message followed by the remedy in an edge's ``words`` (a table keyed by hint);
        ``{version}`` and ``{name}`` in a wording are the error's ``version`` and ``name``."""
        text = str(self)
        if not self.hint:
            return text
        remedy = words[self.hint]
        for field, default in (("version", "VERSION"), ("name", "NAME")):
            remedy = remedy.replace("{" + field + "}", str(getattr(self, field, None) or default))
        return text + remedy


# --- configuration -------------------------------------------------------------------------


class ConfigError(MigrateError):
    """Bad URL, unknown dialect, conflicting options, directory not found. ``name`` is the
    project-file variable an error about ``vars`` concerns (a hint's ``{name}``), else None."""

    name: str | None = None


# --- the migration directory ----------------------------------------------------------------


class DirError(MigrateError):
    """The migration directory cannot be used as it is."""


class FileNameError(DirError):
    """A ``*.sql`` entry that cannot be a migration file (a directory, unreadable)."""


class DuplicateVersionError(DirError):
    """Two migration files share one version (the revisions table is keyed by version)."""

    def __init__(self, version: str, files: list[str]):
        self.version = version
        self.files = files
        super().__init__(
            f"reading the migration directory: files {', '.join(files)} share version {version!r}; "
            "rename one of them so every version is unique"
        )


class FileEncodingError(DirError):
    """A migration file is not valid UTF-8; ``offset`` is the first bad byte."""

    def __init__(self, message: str, *, file: str, offset: int, line: int, col: int):
        self.file = file
        self.offset = offset
        self.line = line
        self.col = col
        super().__init__(message)


class DirectiveError(DirError):
    """A file directive has a bad value (``atlas:txmode all``, two txmode lines, ...)."""

    def __init__(self, message: str, *, file: str):
        self.file = file
        super().__init__(message)


class ChecksumMissingError(DirError):
    """The directory has migration files but no ``atlas.sum``."""


class ChecksumFormatError(DirError):
    """``atlas.sum`` cannot be parsed (a line without ``h1:``, a blank line); ``line`` is 1-based."""

    def __init__(self, message: str, *, line: int):
        self.line = line
        super().__init__(message)


class ChecksumError(DirError):
    """``atlas.sum`` does not match the directory.

    ``reason`` is one of ``added``, ``edited``, ``removed`` (Atlas's walk), or ``mismatch`` when
    the file's total line disagrees with its own entries. ``line`` is 1-based in ``atlas.sum``.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 reason: str = "mismatch"):
        self.file = file
        self.line = line
        self.reason = reason
        super().__init__(message)


# --- statement splitting --------------------------------------------------------------------


class ParseError(MigrateError):
    """A migration file could not be split into statements."""

    def __init__(self, reason: str, *, file: str | None = None, line: int = 0, col: int = 0):
        self.reason = reason
        self.file = file
        self.line = line
        self.col = col
        where = f"{file}:{line}:{col}" if file else f"{line}:{col}"
        super().__init__(
            f"splitting statements: {where}: {reason}; fix the file and run 'pulumi-migrations hash'"
        )


# --- history / ordering ---------------------------------------------------------------------


class HistoryError(MigrateError):
    """The revisions table and the directory disagree in a way we refuse to guess about."""


class NotCleanError(HistoryError):
    """First run on a database that already holds tables, without a baseline."""


class MissingMigrationError(HistoryError):
    """A partially applied revision has no file in the directory."""


class HistoryChangedError(HistoryError):
    """A statement that already ran in a partially applied file was edited."""


class NonLinearError(HistoryError):
    """Files were added out of order (before the last applied version)."""

    def __init__(self, message: str, out_of_order: list[str]):
        self.out_of_order = out_of_order
        super().__init__(message)


class AppliedFileChangedError(HistoryError):
    """A fully applied file's content differs from what was recorded when it ran."""

    def __init__(self, message: str, files: list[str]):
        self.files = files
        super().__init__(message)


class VersionError(HistoryError):
    """A requested version does not exist, or lies below what is applied."""


class PartialRevisionError(HistoryError):
    """``set`` would keep or mark applied a file that stopped midway (``--allow-partial``
    records it as fully applied)."""

    def __init__(self, message: str, version: str):
        self.version = version
        super().__init__(message)


class UnverifiableResumeError(HistoryError):
    """A partially applied file cannot be resumed: its row says statements ran but keeps fewer
    statement hashes than that, so what ran cannot be checked against the file. Atlas leaves
    such a row when it resumes a file whose fix added statements: it keeps the first attempt's
    ``total`` (applied 4 of 3, still partial for its ``Pending``) and resets the hashes of a
    finished file. Nothing was run; ``set`` with allow-partial records the file as applied."""

    def __init__(self, *, file: str, version: str, applied: int, total: int, hashes: int,
                 statements: int):
        self.file = file
        self.version = version
        if applied > total and hashes == 0:
            why = (f"its revision row says {applied} of {total} statements ran and keeps no "
                   "statement hashes (Atlas leaves this when it resumes a file whose fix added "
                   "statements, and stops there itself next time)")
        else:
            why = (f"its revision row says {applied} of {total} statements ran but keeps "
                   f"{hashes} statement hash{'es' if hashes != 1 else ''}")
        if applied >= statements:
            todo = (f"if the database has the effect of all {statements} statements of {file} "
                    "as it is now, record it as applied")
        else:
            todo = (f"check which statements of {file} took effect, run the others by hand, "
                    "then record it as applied")
        super().__init__(f"resuming {file} (version {version}): {why}, so what ran cannot be "
                         f"checked against the file; nothing was run: {todo}")
        self.about(hint="set_allow_partial")


# --- execution ------------------------------------------------------------------------------


class _AtStatement(MigrateError):
    """An error about one statement of a file: its fields, and how messages quote it."""

    def __init__(self, message: str, *, file: str, version: str, statement: str, index: int,
                 line: int, col: int):
        self.file = file
        self.version = version
        self.statement = statement
        self.index = index  # 1-based position of the statement in its file
        self.line = line
        self.col = col
        super().__init__(f"applying {file} (version {version}): statement {index} at "
                         f"{file}:{line}:{col} {message}")

    @staticmethod
    def quoted(statement: str) -> str:
        stmt = " ".join(statement.split())
        return "[" + (stmt[:117] + "..." if len(stmt) > 120 else stmt) + "]"


class StatementError(_AtStatement):
    """The database rejected a statement; the revision row keeps the progress and the error."""

    def __init__(self, *, file: str, version: str, statement: str, index: int, line: int,
                 col: int, db_error: str, held: bool = False, unsendable: bool = False):
        self.db_error = db_error
        self.held = held  # it gave up waiting for a lock another session holds
        if unsendable:  # the connection's character set lacks a character of it
            super().__init__(
                f"cannot be sent: {db_error} {self.quoted(statement)}; nothing of it was sent: "
                f"connect with a character set that holds it (charset=utf8mb4 in the URL) or "
                "change the statement, and apply again: the next run resumes with this file",
                file=file, version=version, statement=statement, index=index, line=line, col=col)
            return
        if held:
            super().__init__(
                f"waited for a lock another session holds, and gave up: {db_error} "
                f"{self.quoted(statement)}; nothing is wrong with the statement, and the next run "
                "resumes with this file: apply again once that session has finished",
                file=file, version=version, statement=statement, index=index, line=line, col=col)
            self.about("lock_timeout", "lock_timeout")
            return
        super().__init__(
            f"failed: {db_error} {self.quoted(statement)}; fix the statement and apply again: the "
            "next run resumes with this file",
            file=file, version=version, statement=statement, index=index, line=line, col=col)


class StatementTooLargeError(_AtStatement):
    """A statement is larger than the server accepts (MySQL's ``max_allowed_packet``); found
    before anything ran."""

    def __init__(self, *, file: str, version: str, statement: str, index: int, line: int,
                 col: int, size: int, limit: int, setting: str):
        self.size = size
        self.limit = limit
        super().__init__(
            f"is {size:,} bytes, more than the server accepts ({setting} allows {limit:,}); "
            f"nothing was run: raise {setting} on the server (SET GLOBAL {setting} = ..., up to "
            "1 GB) or split the statement",
            file=file, version=version, statement=statement, index=index, line=line, col=col)


class InDoubtError(_AtStatement):
    """An earlier run stopped while a statement that cannot share a transaction with its
    progress row ran (MySQL DDL, ``CREATE INDEX CONCURRENTLY``…), and the catalog cannot show
    whether it completed. Nothing was run; ``Options.resolve_in_doubt`` answers once."""

    def __init__(self, *, file: str, version: str, statement: str, index: int, line: int, col: int):
        super().__init__(
            f"was interrupted by an earlier run and may or may not have completed "
            f"{self.quoted(statement)}; its effect cannot be read from the catalog: check the "
            "database, then say whether it completed",
            file=file, version=version, statement=statement, index=index, line=line, col=col)
        self.about(option="resolve_in_doubt", hint="resolve_in_doubt")


class ConnectError(MigrateError):
    """The database could not be reached or refused our credentials."""


class ConnectionLostError(ConnectError):
    """The connection broke during a run (server stopped or restarted, session killed, network).
    ``in_doubt`` is the 1-based statement of ``file`` that may or may not have completed (None
    when the run left nothing in doubt: the file's transaction, with its revision row, either
    committed or not)."""

    def __init__(self, message: str, *, file: str | None = None, in_doubt: int | None = None):
        self.file = file
        self.in_doubt = in_doubt
        super().__init__(message)


class LockError(MigrateError):
    """Another migration run holds the lock."""


class RevisionStoreError(MigrateError):
    """Reading or writing the revisions table failed."""


class InternalError(MigrateError):
    """Something that cannot happen did (a bug of ours); what it touched was rolled back."""


# --- installation ---------------------------------------------------------------------------


class MissingDependencyError(MigrateError, ImportError):
    """An optional dependency group (a pip extra) is not installed: ``module`` cannot be
    imported, and ``extra`` names the extra that installs it. Also an ``ImportError``, so code
    probing for an optional import catches it as one."""

    def __init__(self, *, module: str, extra: str, needed_for: str):
        self.module = module
        self.extra = extra
        super().__init__(
            f"{needed_for}: the Python package {module!r} is not installed; install it with "
            f"pip install 'pulumi-migrations[{extra}]'", name=module)


# --- fan-out ---------------------------------------------------------------------------------


class FanOutError(MigrateError):
    """Some tenants of a fan-out failed (the others ran); ``failed`` names them."""

    def __init__(self, message: str, failed: list[str]):
        self.failed = failed
        super().__init__(message)
