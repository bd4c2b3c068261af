"""The parse of one migration file for the analyzers, cached by content.

Parsing is nearly all of a lint's cost (sqlglot for every dialect, pglast for PostgreSQL, some
0.2 ms a statement), and the analysis across files (``analyzers._State``) depends on the other
pending files and on live facts, while the parse depends on nothing but the file's bytes and
the dialect. So the parse is what is kept: ``parsed(file, dialect)`` returns the file's
statements, each with its sqlglot tree, its pglast statements (PostgreSQL) and its nolint
rules, computed once per (SHA-256 of the bytes, dialect) in the process. The provider server
lints the same directory for every ``Migration`` (100 tenants: 100 times each file, twice per
check: see ``lint.lint``); the CLI's two passes of one lint share it too.

Thread-safe (the provider server runs four calls at once): a file being parsed by one thread
is waited for by the others, not parsed again. Bounded: least recently used files are dropped
beyond ``BUDGET`` bytes of cached source; a file larger than that is parsed every time.
A file that does not split or decode is never cached (the error is raised again next time).
The trees are shared: the analyzers only read them.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp

from .. import dialects, lex
from ..migdir import MigrationFile
from .nolint import file_ignored, statement_rules

__all__ = ["Parsed", "ParsedFile", "parsed", "clear", "BUDGET", "DIALECTS"]

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to Command" warnings

#: our dialect names -> (sqlglot dialect, lex rules)
DIALECTS = {"sqlite": ("sqlite", "sqlite"), "postgres": ("postgres", "postgresql"),
            "mysql": ("mysql", "mysql")}

#: Bytes of source text whose parse is kept. The trees take 60-130 times the source's size
#: (measured: 130x for the benchmark's small DDL files, 66x for a multi-row INSERT file), so
#: this holds up to some 35-70 MB: a directory of ~2,000 small files.
BUDGET = 512 << 10


@dataclass(frozen=True, slots=True)
class Parsed:
    """One statement: the scanned ``stmt``, its sqlglot ``tree`` (None when sqlglot does not
    read it as exactly one statement), ``pg`` the pglast statements (PostgreSQL only; None when
    PostgreSQL's parser refuses it), and the nolint ``rules`` that apply to it."""

    stmt: lex.Statement
    tree: exp.Expression | None
    pg: tuple[Any, ...] | None
    rules: list[str]


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """A file's statements in order; ``ignored`` when its header holds a bare nolint."""

    statements: tuple[Parsed, ...]
    ignored: bool


def _sqlglot(text: str, read: str) -> exp.Expression | None:
    try:
        trees = [t for t in sqlglot.parse(text, read=read) if isinstance(t, exp.Expression)]
    except Exception:  # ParseError, TokenError, and sqlglot's own bugs: skip the statement
        return None
    return trees[0] if len(trees) == 1 else None


def _repair(tree: exp.Expression | None, pg: tuple[Any, ...] | None,
            dialect: str) -> exp.Expression | None:
    """Mend the two ``ALTER TABLE`` forms sqlglot misreads without failing, where the keyword
    ``COLUMN`` is left out (both databases accept that):

    - PostgreSQL ``RENAME a TO b`` comes back as a table rename to ``a`` (``TO b`` dropped):
      PostgreSQL's own parse (``RenameStmt`` of a column) says which column, and its new name;
    - SQLite ``DROP a`` comes back as a bare ``Command`` action, which no analyzer reads: it is
      the ``DROP COLUMN a`` SQLite runs.
    """
    if not isinstance(tree, exp.Alter):
        return tree
    actions = tree.args.get("actions") or []
    if dialect == "postgres" and pg is not None and len(pg) == 1 and len(actions) == 1 \
            and isinstance(actions[0], exp.AlterRename):
        from pglast import ast
        from pglast.enums import ObjectType

        r = pg[0].stmt
        if isinstance(r, ast.RenameStmt) and r.renameType == ObjectType.OBJECT_COLUMN:
            tree.set("actions", [exp.RenameColumn(
                this=exp.Column(this=exp.Identifier(this=r.subname, quoted=True)),
                to=exp.Column(this=exp.Identifier(this=r.newname, quoted=True)))])
    elif dialect == "sqlite":
        for i, a in enumerate(actions):
            rest = a.expression if isinstance(a, exp.Command) else None  # what follows DROP
            if rest is not None and a.name.upper() == "DROP":
                try:
                    col = sqlglot.parse_one(rest if isinstance(rest, str) else rest.sql("sqlite"),
                                            read="sqlite")
                except Exception:
                    continue
                if isinstance(col, exp.Column) and not col.table:
                    actions[i] = exp.Drop(kind="COLUMN", tables=[col])
        tree.set("actions", actions)
    return tree


def _pglast(text: str) -> tuple[Any, ...] | None:
    import pglast

    try:
        return tuple(pglast.parse_sql(text))
    except pglast.parser.ParseError:
        return None


_IDENT = r"""(?:"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|[^\W\d]\w*)"""
#: ``INSERT [modifiers] [INTO] name [(plain column list)] VALUES (`` — seed data and backfills.
#: No analyzer reads the rows of such a statement (only its table, and an ``INSERT … SELECT``
#: in a SQLite rebuild), so it is parsed from a stub with one row of NULL: the same tree shape
#: (``exp.Insert`` of that table, ``exp.Values``) and pglast ``InsertStmt``, without parsing
#: megabytes of literals (a 10 MB seed file took ~21 s to lint); equal stubs share one parse.
_PLAIN_INSERT = re.compile(
    rf"""\s*INSERT\s+(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE|OR\s+[A-Za-z]+)\s+)*"""
    rf"""(?:INTO\s+)?{_IDENT}(?:\s*\.\s*{_IDENT}){{0,2}}\s*(?:\((?:[^()'"`\[\]]|{_IDENT})*\)\s*)?"""
    r"VALUES\s*(?=\()", re.IGNORECASE | re.ASCII)


def _parse_text(text: str) -> str:
    """The text the analyzers' parsers read for a statement: itself, or for a plain
    ``INSERT … VALUES`` its head with one row of NULL (the rows are never analysed)."""
    m = _PLAIN_INSERT.match(text)
    return text if m is None else text[:m.end()] + "(NULL)"


def parse_file(f: MigrationFile, dialect: str) -> ParsedFile:
    """Parse ``f`` for ``dialect`` (uncached). Raises ParseError/FileEncodingError."""
    read, rules_name = DIALECTS[dialect]
    statements = lex.split_statements(f.text(), dialects.named(rules_name).scan_options, file=f.name)
    ignored = file_ignored(f)
    out = []
    stubs: dict[str, tuple[exp.Expression | None, tuple[Any, ...] | None]] = {}
    for s in statements:
        text = _parse_text(s.text)
        trees = stubs.get(text) if text is not s.text else None
        if trees is None:
            pg = _pglast(text) if dialect == "postgres" else None
            trees = _repair(_sqlglot(text, read), pg, dialect), pg
            if text is not s.text:  # a seed file's INSERTs share a handful of heads
                stubs[text] = trees
        out.append(Parsed(s, trees[0], trees[1], [""] if ignored else statement_rules(f, s)))
    return ParsedFile(tuple(out), ignored)


_Key = tuple[str, bytes]
_cache: OrderedDict[_Key, ParsedFile] = OrderedDict()
_sizes: dict[_Key, int] = {}
_pending: dict[_Key, threading.Event] = {}
_lock = threading.Lock()
_held = 0


def parsed(f: MigrationFile, dialect: str) -> ParsedFile:
    """``f`` parsed for ``dialect`` (our name: "sqlite", "postgres", "mysql"), from the cache
    when a file with the same bytes was parsed before. Raises as ``parse_file``."""
    global _held
    size = len(f.data)
    if size > BUDGET:
        return parse_file(f, dialect)
    key = (dialect, hashlib.sha256(f.data).digest())
    while True:
        with _lock:
            hit = _cache.get(key)
            if hit is not None:
                _cache.move_to_end(key)
                return hit
            waiting = _pending.get(key)
            if waiting is None:
                mine = _pending[key] = threading.Event()
                break
        waiting.wait()  # another thread parses it; then look again (it may have failed)
    try:
        result = parse_file(f, dialect)
        with _lock:
            _cache[key] = result
            _sizes[key] = size
            _held += size
            while _held > BUDGET:
                old, _ = _cache.popitem(last=False)
                _held -= _sizes.pop(old)
        return result
    finally:
        with _lock:
            del _pending[key]
        mine.set()


def clear() -> None:
    """Forget every cached parse (tests)."""
    global _held
    with _lock:
        _cache.clear()
        _sizes.clear()
        _held = 0
