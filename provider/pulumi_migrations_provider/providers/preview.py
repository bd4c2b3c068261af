"""What a ``Migration`` shows in ``pulumi preview --diff``: the ``migrations`` input.

Why it is built this way: the engine renders a resource's preview diff as its old *inputs* (what
``check`` returned at the last ``up``, kept in the state) against the new checked inputs
(pulumi ``pkg/backend/display/object_diff.go``: ``getResourcePropertiesDetails`` →
``printOldNewDiffs(old.Inputs, new.Inputs)``; the Python dynamic-provider server sends no
detailed diff). Whatever ``check`` adds to the inputs is therefore on the old side of the next
preview. Values describing the database *before* ``up`` (pending files, a plan line) would show
there after ``up`` as if files were removed or a plan were being replaced. Contract:

- ``check`` adds only values that are still true after ``up``: ``migrations`` maps each file of
  the declared state (the directory up to ``target_version``, in order) to
  ``{"statements": N}`` (Atlas's statement split for the target's dialect; unknown while the URL
  is), plus ``"findings"`` (one lint line each, ``describe_finding``) for the files that were
  pending when the entry was made.
- ``carry_over``: an entry recorded in the previous inputs is kept verbatim while its file is
  not pending (and still has as many statements), so an applied file is an unchanged line in
  every later preview, never a removal or an edit. A file ``up`` would apply is a ``+`` line
  with its statement count and findings.
- ``PENDING_KEY`` (``__pending``) holds the file names pending now, for ``diff`` only: keys
  starting with ``__`` are never displayed (``resource.IsInternalPropertyKey``).
- The one-line plan depends on the database at the moment of the preview, so it is not an
  input: ``check`` logs it (the engine prints it under the stack); ``plan`` and ``pending`` are
  outputs, set by ``up`` and ``refresh``.

Lint (``lint_pending``): the pending files are analysed together, in order (``lint.lint``, with
live row counts and sizes when the database answered; static when it is unreachable, and then
the files without a recorded entry count as pending). ``lint=`` is the policy, as the CLI's
``--policy``: ``{"destructive": "warn", "DS103": "off", …}``. A finding of severity error
fails the check (preview and up) with ``file:line``, the code and the nolint to add
(``error_reason``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pulumi.output import Unknown

from .. import dialects, lex, lint
from ..lint import Finding
from ..migdir import MigrationDir, MigrationFile
from ..target import Target

if TYPE_CHECKING:
    from ..dialects import Connection

__all__ = ["MIGRATIONS_KEY", "PENDING_KEY", "LINT_KEY", "declared_files", "statement_count",
           "entry", "carry_over", "describe", "Linted", "lint_pending", "describe_finding",
           "error_reason"]

MIGRATIONS_KEY = "migrations"
PENDING_KEY = "__pending"
LINT_KEY = "lint"
#: Seconds the read of live facts (row estimates, sizes) may take during a preview.
FACTS_TIMEOUT = 5.0


def declared_files(directory: MigrationDir, target_version: Any) -> list[MigrationFile]:
    """The files of the declared state: the directory up to ``target_version`` (all files when
    the version is unknown or unset)."""
    files = list(directory.files)
    if isinstance(target_version, str):
        versions = [f.version for f in files]
        if target_version in versions:
            return files[:versions.index(target_version) + 1]
    return files


def statement_count(file: MigrationFile, dialect: str | None) -> int | Unknown:
    """How many statements ``up`` runs for ``file`` (Atlas's split for ``dialect``); unknown
    without a dialect. Raises ParseError (file:line:col) for a file that does not split.

    Every check of every resource counts every declared file: the counts are kept per (dialect,
    SHA-256 of the bytes) in the process, so 100 resources of one 2,000-file directory split
    each file once (a split costs ~10 us for a small file; hashing it ~0.4 us)."""
    if dialect is None:
        return Unknown()
    key = (dialect, hashlib.sha256(file.data).digest())
    count = _COUNTS.get(key)
    if count is None:
        count = len(lex.split_statements(file.text(), dialects.named(dialect).scan_options,
                                         file=file.name))
        with _COUNTS_LOCK:
            if len(_COUNTS) >= _COUNTS_SIZE:
                _COUNTS.clear()
            _COUNTS[key] = count
    return count


_COUNTS: dict[tuple[str, bytes], int] = {}
_COUNTS_SIZE = 50_000  # ~150 bytes each
_COUNTS_LOCK = threading.Lock()


def entry(statements: int | Unknown, findings: Sequence[str] = ()) -> dict[str, Any]:
    """One file's value in ``migrations``: ``{"statements": N}`` and its findings, if any."""
    value: dict[str, Any] = {"statements": statements}
    if findings:
        value["findings"] = list(findings)
    return value


def carry_over(name: str, fresh: Mapping[str, Any], olds: Mapping[str, Any],
               pending: Iterable[str] | None) -> Mapping[str, Any]:
    """The previous entry for file ``name`` when it is not pending now (``pending`` None means
    unknown: then a recorded entry is kept too) and its statement count is unchanged; else
    ``fresh``."""
    recorded = olds.get(MIGRATIONS_KEY)
    if not isinstance(recorded, Mapping):
        return fresh
    old = recorded.get(name)
    if not isinstance(old, Mapping) or (pending is not None and name in set(pending)):
        return fresh
    count = fresh.get("statements")
    if isinstance(count, int) and old.get("statements") != count:
        return fresh
    return dict(old)


def describe(files: Sequence[MigrationFile], dialect: str | None, olds: Mapping[str, Any],
             pending: Sequence[str] | None,
             findings: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """The ``migrations`` input for ``files`` (see the module doc). ``findings`` maps a pending
    file name to its lint lines. Raises ParseError for a file that does not split."""
    findings = findings or {}
    out: dict[str, Any] = {}
    for f in files:
        fresh = entry(statement_count(f, dialect), findings.get(f.name, ()))
        out[f.name] = carry_over(f.name, fresh, olds, pending)
    return out


class Linted:
    """The lint of one preview: ``lines`` per file name, the error-severity ``errors``, and a
    ``note`` when facts could not be read or lint could not run."""

    def __init__(self, lines: dict[str, list[str]] | None = None,
                 errors: list[Finding] | None = None, note: str | None = None) -> None:
        self.lines = lines or {}
        self.errors = errors or []
        self.note = note


def lint_pending(files: Sequence[MigrationFile], target: Target | None, olds: Mapping[str, Any],
                 pending: Sequence[str] | None, policy: Mapping[str, str] | None,
                 conn: Connection | None = None) -> Linted:
    """Lint the files ``up`` would apply (see the module doc). Without a target (URL unknown)
    nothing is linted: the dialect is not known yet. Live facts are read through ``conn`` when
    given (the status look's, left open). Raises ConfigError for a bad policy, ParseError for a
    file that does not split."""
    if target is None:
        return Linted(note="lint runs once the database URL is known")
    recorded = olds.get(MIGRATIONS_KEY)
    recorded = recorded if isinstance(recorded, Mapping) else {}
    if pending is None:
        todo = [f for f in files if f.name not in recorded]
    else:
        names = set(pending)
        todo = [f for f in files if f.name in names]
    if not todo:
        return Linted()
    dialect = lint.dialect_of(target.dialect)
    if pending is None:
        found = lint.analyze(todo, dialect, policy=policy)
        note: str | None = "pending is unknown, so lint read no live facts: findings are static"
    else:
        found, facts = lint.lint(todo, dialect, target=target, policy=policy,
                                 timeout=FACTS_TIMEOUT, conn=conn)
        note = facts.note if facts is not None else None
    lines: dict[str, list[str]] = {}
    for f in found:
        lines.setdefault(f.file, []).append(describe_finding(f))
    return Linted(lines, [f for f in found if f.severity == "error"], note)


def describe_finding(f: Finding) -> str:
    """One finding under its file: ``L4 error: DS103 <message> (table t: ~N rows, SIZE)``."""
    return f"L{f.line} {f.severity}: {f.text()[len(f'{f.file}:{f.line}: '):]}"


def error_reason(f: Finding) -> str:
    """Why an error-severity finding fails the preview, and the three ways out."""
    return (f"linting {f.text()}: change the statement, add '{f.nolint}' above it, "
            f"or set lint={{\"{f.code}\": \"warn\"}} on the Migration")
