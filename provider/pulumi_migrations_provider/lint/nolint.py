"""``-- atlas:nolint [rules…]`` exactly as Atlas reads it (``cmd/atlas`` ``nolintRules``).

- In the file header (the leading comment lines followed by a blank line, the same header that
  holds ``atlas:txmode``): ``-- atlas:nolint`` alone skips the whole file; with arguments, the
  rules apply to every statement of the file.
- Above a statement (a comment attached to it, no blank line between): the rules apply to that
  statement. Atlas's ``Stmt.Directive`` accepts ``--``, ``-- ``, ``#`` and one-line ``/* */``.

A rule is a code (``DS103``) or an analyzer/category name (``destructive``). A statement whose
rules are exactly one empty rule (a bare ``-- atlas:nolint``) is silenced entirely; as in Atlas,
a bare statement directive in a file whose header already names rules only adds nothing.
"""

from __future__ import annotations

import re

from ..lex import Statement
from ..migdir import MigrationFile

__all__ = ["file_ignored", "statement_rules", "silenced"]

# dir.go reDirective (Go's \w is ASCII); the prefix group must equal the comment's prefix.
_DIRECTIVE = re.compile(r"^([ -~]*)atlas:([0-9A-Za-z_]+)(?: +([ -~]*))*")


def _directive(comment: str, prefix: str) -> str | None:
    m = _DIRECTIVE.match(comment)
    if m is None or m.group(2) != "nolint" or m.group(1) != prefix:
        return None
    return m.group(3) or ""


def file_ignored(f: MigrationFile) -> bool:
    """True when the header holds exactly one bare ``atlas:nolint``."""
    return f.directives("nolint") == [""]


def statement_rules(f: MigrationFile, stmt: Statement) -> list[str]:
    """The rules that apply to ``stmt``: the header's, then the statement's own."""
    rules: list[str] = []
    for args in f.directives("nolint"):
        rules += args.split(" ")
    for c in stmt.comments:
        found: list[str | None]
        if c.startswith("/*") and "\n" not in c:
            found = [_directive(c[:-2] if c.endswith("*/") else c, "/*")]
        else:
            found = [_directive(c, p) for p in ("#", "--", "-- ")]
        for arg in found:
            if arg is not None:
                rules += arg.split(" ")
    return rules


def silenced(rules: list[str], code: str, category: str) -> bool:
    """Whether a finding with ``code``/``category`` is silenced by ``rules``."""
    return rules == [""] or code in rules or category in rules
