"""What the linter reports: ``Finding``, the table of codes, and the severity policy.

Codes are Atlas's where Atlas's open analyzers (ariga/atlas ``sql/sqlcheck``) have one, with
the same meaning and Atlas's message wording, so Atlas users recognise them; our own codes
start with ``PM`` and are documented here and in the README. Each code belongs to a category;
for Atlas's codes the category is the name of Atlas's analyzer (``destructive``,
``data_depend``, ``incompatible``, ``condrop``, ``concurrent_index``), so ``-- atlas:nolint destructive`` and a policy
``{"destructive": "warn"}`` mean what they mean in Atlas.

Policy: a mapping from a category or a code to ``"error"``, ``"warn"`` (or ``"warning"``) or
``"off"``; a code's entry wins over its category's. Without a policy, destructive changes
are errors (Atlas's default, ``destructive { error = true }``) and so is PG103 (a statement
PostgreSQL refuses; Atlas makes it a warning); everything else is a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, fields

from ..errors import ConfigError

__all__ = ["Code", "CODES", "CATEGORIES", "Finding", "Policy", "resolve_policy"]


@dataclass(slots=True)
class Code:
    """One finding code: its category, default severity, a title, whether Atlas has it, and
    the squawk rule(s) that report the same thing on PostgreSQL (compared in the tests)."""

    code: str
    category: str
    severity: str
    title: str
    _: KW_ONLY
    atlas: bool = False
    squawk: tuple[str, ...] = ()


_TABLE = (
    Code("DS101", "destructive", "error", "drops a schema", atlas=True, squawk=("ban-drop-schema",)),
    Code("DS102", "destructive", "error", "drops a table", atlas=True, squawk=("ban-drop-table",)),
    Code("DS103", "destructive", "error", "drops a non-virtual column", atlas=True,
         squawk=("ban-drop-column",)),
    Code("MF101", "data_depend", "warning",
         "adds a unique index on existing columns (fails on duplicates)", atlas=True),
    Code("MF102", "data_depend", "warning",
         "makes an existing index unique in one statement (fails on duplicates)", atlas=True),
    Code("MF103", "data_depend", "warning",
         "adds a non-nullable column without a default to an existing table", atlas=True,
         squawk=("adding-required-field",)),
    Code("MF104", "data_depend", "warning",
         "makes a nullable column non-nullable (fails on NULL values)", atlas=True),
    Code("BC101", "incompatible", "warning", "renames a table", atlas=True,
         squawk=("renaming-table",)),
    Code("BC102", "incompatible", "warning", "renames a column", atlas=True,
         squawk=("renaming-column",)),
    Code("CD101", "condrop", "warning", "drops a foreign-key constraint", atlas=True,
         squawk=("ban-drop-constraint",)),
    Code("MY101", "data_depend", "warning",
         "adds a non-nullable column without a default: existing rows get an implicit value",
         atlas=True),
    Code("MY102", "inline_refs", "warning",
         "defines a column with inline REFERENCES, which MySQL ignores", atlas=True),
    Code("PM101", "data_depend", "warning",
         "changes a column to a narrower type (values may fail to convert or be cut)"),
    Code("PM102", "condrop", "warning", "drops a constraint that is not known to be a foreign key",
         squawk=("ban-drop-constraint",)),
    Code("PG101", "concurrent_index", "warning",
         "creates an index without CONCURRENTLY on an existing table (blocks writes)",
         atlas=True, squawk=("require-concurrent-index-creation",)),
    Code("PG102", "concurrent_index", "warning",
         "drops an index without CONCURRENTLY (blocks reads and writes of its table)",
         atlas=True, squawk=("require-concurrent-index-deletion",)),
    Code("PG103", "concurrent_index", "error",
         "runs CONCURRENTLY inside a transaction (PostgreSQL refuses it)",
         atlas=True, squawk=("ban-concurrent-index-creation-in-transaction",)),
    Code("PM201", "locking", "warning",
         "adds a foreign-key or check constraint without NOT VALID (scans under lock)",
         squawk=("constraint-missing-not-valid", "adding-foreign-key-constraint")),
    Code("PM202", "locking", "warning",
         "adds a unique or primary-key constraint that builds its index under ACCESS EXCLUSIVE",
         squawk=("disallowed-unique-constraint", "constraint-missing-not-valid",
                 "adding-serial-primary-key-field")),
    Code("PM203", "locking", "warning",
         "sets NOT NULL: the table is scanned under ACCESS EXCLUSIVE",
         squawk=("adding-not-nullable-field",)),
    Code("PM204", "locking", "warning",
         "changes a column type: the table and its indexes are rewritten under ACCESS EXCLUSIVE",
         squawk=("changing-column-type",)),
    Code("PM205", "locking", "warning",
         "adds a column whose default is volatile (or stored generated): the table is rewritten",
         squawk=("adding-field-with-default",)),
    Code("PM301", "table_copy", "warning", "MySQL/MariaDB copies the whole table (ALGORITHM=COPY)"),
    Code("PM302", "table_copy", "warning",
         "changes ENUM/SET values other than appending at the end (table copy, values remapped)"),
    Code("PM401", "table_copy", "warning",
         "rebuilds a SQLite table (create new_T, copy rows, drop T, rename)"),
    Code("PM001", "unparsed", "warning",
         "an ALTER TABLE/DROP/CREATE INDEX/RENAME TABLE the SQL parser does not read: not linted"),
)
CODES: dict[str, Code] = {c.code: c for c in _TABLE}
CATEGORIES = tuple(dict.fromkeys(c.category for c in _TABLE))
_LEVELS = {"error": "error", "warn": "warning", "warning": "warning", "off": "off"}

Policy = Mapping[str, str]


def resolve_policy(policy: Policy | None) -> dict[str, str]:
    """Code -> "error" | "warning" | "off" for every code, ``policy`` applied.

    Raises ConfigError for an unknown key or level (one line naming the key and the choices).
    """
    out = {code: c.severity for code, c in CODES.items()}
    if not policy:
        return out
    for key in policy:
        if key not in CODES and key not in CATEGORIES:
            raise ConfigError(
                f"reading the lint policy: unknown key {key!r}; use a category "
                f"({', '.join(CATEGORIES)}) or a code ({', '.join(CODES)})")
        value = policy[key]
        if not isinstance(value, str) or value.lower() not in _LEVELS:
            raise ConfigError(f"reading the lint policy: {key!r} is {value!r}; use error, warn or off")
    for code, c in CODES.items():  # categories first, then codes, whatever the dict order
        if c.category in policy:
            out[code] = _LEVELS[policy[c.category].lower()]
    for key, value in policy.items():
        if key in CODES:
            out[key] = _LEVELS[value.lower()]
    return out


@dataclass(slots=True)
class Finding:
    """One finding: where (file, 1-based line of the statement, the statement text), what
    (code, category, severity, message) and on which table; ``rows``/``bytes`` are the live
    estimate for that table, None without facts (or for a table the pending files create)."""

    file: str
    line: int
    statement: str
    code: str
    category: str
    severity: str
    message: str
    table: str | None = None
    rows: int | None = None
    bytes: int | None = None

    def to_dict(self) -> dict[str, object]:
        """The JSON form: exactly the ten fields, in order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def text(self) -> str:
        """``file:line: CODE message (table t: ~N rows, SIZE)``; the parenthesis only with facts."""
        line = f"{self.file}:{self.line}: {self.code} {self.message}"
        if self.table is not None and (self.rows is not None or self.bytes is not None):
            parts = [p for p in (human_rows(self.rows), human_bytes(self.bytes)) if p]
            line += f" (table {self.table}: {', '.join(parts)})"
        return line

    @property
    def nolint(self) -> str:
        """The directive that silences this finding, to put above its statement."""
        return f"-- atlas:nolint {self.code}"


def human_rows(rows: int | None) -> str | None:
    """``~12.4M rows``, ``~8.1k rows``, ``~532 rows``; None for None."""
    if rows is None:
        return None
    for size, unit in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if rows >= size:
            return f"~{rows / size:.1f}{unit} rows"
    return f"~{rows} row" if rows == 1 else f"~{rows} rows"


def human_bytes(n: int | None) -> str | None:
    """``3.1 GB``, ``48 kB``, ``512 B`` (powers of 1024, as PostgreSQL's pg_size_pretty)."""
    if n is None:
        return None
    for size, unit in ((1 << 40, "TB"), (1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "kB")):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{n} B"
