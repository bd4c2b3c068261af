"""Lint: what pending migration files risk, with Atlas's codes and facts from the live database.

Public API (others call it; the shape is fixed)::

    from pulumi_migrations_provider import lint

    findings = lint.analyze(pending_files, "postgres", facts=None, policy={"destructive": "warn"})
    facts = lint.read_facts("postgres://…", lint.tables(findings), timeout=5.0)
    findings = lint.analyze(pending_files, "postgres", facts=facts)
    for f in findings:
        print(f.text())            # file:line: CODE message (table t: ~N rows, SIZE)
        f.to_dict()                # the JSON object: file, line, statement, code, category,
                                   # severity, message, table, rows, bytes

- ``analyze(files, dialect_name, *, facts=None, policy=None) -> list[Finding]``: ``files`` are
  the pending ``MigrationFile``s in order; ``dialect_name`` is "sqlite", "postgres" or "mysql"
  (also "postgresql"/"mariadb"). Pure: no I/O besides reading the files' bytes. Raises
  ConfigError for a bad policy or dialect, ParseError/FileEncodingError for a file that does not
  split into statements.
- ``read_facts(target, tables, timeout, *, conn=None) -> Facts``: read-only, never waits on
  locks, never raises for an unreachable database (``Facts.note`` says why there are none);
  through ``conn`` (left open) when given.
- ``lint(files, dialect_name, *, target=None, policy=None, timeout=5.0, conn=None) -> (findings,
  facts)``: both steps (static pass, facts for the tables it names, final pass).
- ``has_errors(findings)``: any finding of severity "error" (the CLI's exit 1).

The codes, categories and default severities are in ``findings.CODES`` (Atlas's codes where
Atlas has one); nolint directives as Atlas reads them are in ``nolint``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..errors import ConfigError
from ..migdir import MigrationFile
from .facts import Facts, TableFacts, read_facts
from .findings import CATEGORIES, CODES, Finding, Policy, resolve_policy

__all__ = ["analyze", "read_facts", "lint", "tables", "has_errors", "Finding", "Facts",
           "TableFacts", "CODES", "CATEGORIES", "resolve_policy", "dialect_of"]

_NAMES = {"sqlite": "sqlite", "postgres": "postgres", "postgresql": "postgres",
          "mysql": "mysql", "mariadb": "mysql"}


def dialect_of(name: str) -> str:
    """Our dialect name ("sqlite", "postgres", "mysql") for any spelling; ConfigError else."""
    try:
        return _NAMES[name.lower()]
    except KeyError:
        raise ConfigError(f"linting: unknown dialect {name!r}; use sqlite, postgres or mysql") from None


def analyze(files: Sequence[MigrationFile], dialect_name: str, *, facts: Facts | None = None,
            policy: Policy | None = None) -> list[Finding]:
    """Findings for the pending ``files`` (in order), see the module doc."""
    from .analyzers import analyze_files

    return analyze_files(list(files), dialect_of(dialect_name), facts, resolve_policy(policy))


def tables(findings: Iterable[Finding]) -> list[str]:
    """The tables the findings name, first-seen order, once each."""
    return list(dict.fromkeys(f.table for f in findings if f.table))


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


def lint(files: Sequence[MigrationFile], dialect_name: str, *, target=None,
         policy: Policy | None = None, timeout: float = 5.0,
         conn=None) -> tuple[list[Finding], Facts | None]:
    """Static findings, then (with ``target``) the same analysis with live facts (read through
    ``conn`` when given, see ``read_facts``)."""
    if target is None:
        return analyze(files, dialect_name, policy=policy), None
    resolve_policy(policy)  # a bad policy fails before anything connects
    # The tables any finding could name (every category on, whatever the policy says).
    names = tables(analyze(files, dialect_name, policy={c: "warn" for c in CATEGORIES}))
    facts = read_facts(target, names, timeout, conn=conn)
    return analyze(files, dialect_name, facts=facts, policy=policy), facts
