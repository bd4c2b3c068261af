"""Statements that cannot share a transaction with their progress row, and whether one that was
interrupted took effect (read from the catalog).

Contract:

- ``classify(dialect, text)`` says how the executor must run a statement outside a file-wide
  transaction (``--tx-mode none``, and MySQL/MariaDB in every mode):

  - ``TX``: it can run in one transaction with its progress row (DML everywhere, DDL where it
    is transactional): committed together or not at all, so it runs exactly once.
  - ``REPEATABLE``: it must run outside a transaction, but running it a second time is harmless
    (``CREATE … IF NOT EXISTS``, ``DROP … IF EXISTS``, ``SET``, ``PRAGMA``, ``VACUUM``…): a
    rerun simply runs it again.
  - ``DOUBT``: it must run outside a transaction and may not run twice (MySQL DDL, PostgreSQL
    ``CREATE INDEX CONCURRENTLY``). The executor writes a progress row marking it in doubt
    before it runs, so an interruption is known. Transaction control written in the file is
    ``DOUBT`` too; ``control`` tells BEGIN/COMMIT/ROLLBACK apart, which the executor runs as
    the file's own transaction instead.

  Which words fall in which class is a dialect fact (``Dialect.statement_class``).

- ``took_effect(conn, text)`` answers, for a statement in doubt, True (its effect is in the
  catalog: the statement completed), False (no trace: it did not, run it again) or None (the
  catalog cannot tell, or the parts disagree). It understands CREATE/DROP of tables, views,
  indexes, databases/schemas, triggers, procedures/functions and sequences; ``ALTER TABLE``
  whose actions all add/drop/rename columns or indexes or rename the table; ``RENAME TABLE``.
  The catalog lookups themselves are the dialect's (``Dialect.catalog_has``).

- The in-doubt mark lives in the revisions row as Atlas can read it: ``applied`` = the
  statements done, ``error`` = ``IN_DOUBT`` + a sentence, ``error_stmt`` = the statement. Atlas
  sees a partially applied file with an error and resumes at that statement (it reruns it);
  ``status`` shows the sentence. ``marked_in_doubt(row, text)`` recognises our mark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .dialects import Connection, Dialect
    from .lex import Statement
    from .revisions import Revision

TX = "tx"
REPEATABLE = "repeatable"
DOUBT = "doubt"

IN_DOUBT = "in doubt: "  # prefix of the revisions row's error column for a statement in doubt

_TOKEN = re.compile(
    r"\s+|--[^\n]*|/\*.*?\*/|`(?:[^`]|``)*`|\"(?:[^\"]|\"\")*\"|'(?:[^'\\]|\\.|'')*'"
    r"|[^\W\d][\w$]*|\d[\w.]*|.", re.S)


@dataclass(slots=True)
class Tok:
    """One token: ``word`` (upper-cased when unquoted), ``quoted`` when it was an identifier in
    quotes (then ``word`` is its exact text), ``raw`` the source text."""

    word: str
    quoted: bool
    raw: str


def tokens(text: str, *, limit: int | None = None) -> list[Tok]:
    """The statement's tokens without whitespace and comments (at most ``limit``)."""
    out: list[Tok] = []
    for m in _TOKEN.finditer(text):
        raw = m.group()
        if raw.isspace() or raw.startswith(("--", "/*")):
            continue
        if raw[0] in "`\"" and len(raw) > 1:
            q = raw[0]
            out.append(Tok(raw[1:-1].replace(q + q, q), True, raw))
        else:
            out.append(Tok(raw.upper(), False, raw))
        if limit is not None and len(out) >= limit:
            break
    return out


# ``head``'s fast path: ``n`` plain tokens, each after optional ASCII spaces and ``--``
# comments: an ASCII word that the next character ends in ``_TOKEN`` too, or a punctuation
# character that ``_TOKEN`` takes as ``.``. Anything else (quotes, block comments, digits,
# non-ASCII text, fewer than ``n`` tokens) falls back to ``tokens``, so both give the same words.
# Possessive: a comment is never given back to be read as words.
_PLAIN_TOKEN = (r"(?:[ \t\n\r]++|--[^\n]*+)*+"
                r"(?:([A-Za-z_][A-Za-z0-9_$]*+)(?=[ \t\n\r(),;.=*])|([(),;.=*]))")
_PLAIN: dict[int, re.Pattern[str]] = {}


def head(text: str, n: int = 8) -> tuple[str, ...]:
    """The first ``n`` words of a statement, upper-cased (quoted identifiers as ``""``).

    Called for every statement of a file that runs in steps (MySQL, ``--tx-mode none``): most
    start with plain words, read here by one match without building tokens (a 66,655-statement
    seed file spent ~0.4 s in ``tokens``, 0.1-0.2 s this way, ~0.01 s reusing the last match
    for a text that starts with the characters it read); ``tests/test_indoubt.py`` compares
    both ways."""
    last = _LAST.get(n)
    if last is not None and text.startswith(last[0]):
        return last[1]
    plain = _PLAIN.get(n)
    if plain is None:
        plain = _PLAIN[n] = re.compile(_PLAIN_TOKEN * n)
    m = plain.match(text)
    if m is not None:
        g = m.groups()
        words = tuple(p if w is None else w.upper() for w, p in zip(g[0::2], g[1::2]))
        # The match read nothing past the character after it (a word's lookahead): a text that
        # starts with the same characters matches the same way (a seed file's INSERTs do).
        _LAST[n] = (text[:m.end() + 1], words)
        return words
    return tuple("" if t.quoted else t.word for t in tokens(text, limit=n))


_LAST: dict[int, tuple[str, tuple[str, ...]]] = {}  # n -> the last plain match's text and words


def classify(dialect: Dialect, text: str) -> str:
    """``TX``, ``REPEATABLE`` or ``DOUBT`` for ``text`` (see the module docstring)."""
    return dialect.statement_class(head(text))


def control(words: tuple[str, ...]) -> str | None:
    """"begin", "commit" or "rollback" for a statement that opens or ends a transaction the
    file writes itself (``BEGIN``, ``START TRANSACTION``, ``COMMIT``, ``END``, ``ROLLBACK``,
    ``ABORT``; not ``ROLLBACK TO`` a savepoint, nor ``BEGIN … END`` blocks, which are inside
    ``CREATE`` statements), else None."""
    first = words[0] if words else ""
    if first == "BEGIN" or (first == "START" and words[1:2] == ("TRANSACTION",)):
        return "begin"
    if first in ("COMMIT", "END"):
        return "commit"
    if first in ("ROLLBACK", "ABORT") and "TO" not in words[1:3]:
        return "rollback"
    return None


def marked_in_doubt(row: Revision | None, text: str) -> bool:
    """Whether ``row`` marks the statement ``text`` (the next one to run) as in doubt."""
    return (row is not None and row.applied < row.total and row.error.startswith(IN_DOUBT)
            and row.error_stmt == text)


def mark(row: Revision, index: int, where: str, text: str) -> None:
    """Set the in-doubt mark on ``row`` for statement ``index`` (0-based) at ``where``."""
    row.applied = index
    row.error = (f"{IN_DOUBT}statement {index + 1} ({where}) runs next and cannot share a "
                 "transaction with this row; if the run stopped here it may or may not have "
                 "completed (pulumi-migrations apply checks it, or asks)")
    row.error_stmt = text


@dataclass(slots=True)
class DbObject:
    """A catalog object a statement creates or removes: ``kind`` is one of table, view, index,
    column, database, schema, trigger, routine; ``parent`` the table of an index, column or
    trigger; ``schema`` None for the session's current one. ``present`` says whether the object
    exists once the statement completed."""

    kind: str
    schema: str | None
    name: str
    parent: str | None
    present: bool


def took_effect(conn: Connection, text: str) -> bool | None:
    """True/False/None: see the module docstring."""
    objects = effects(text, fold=conn.dialect.folds_unquoted)
    if not objects:
        return None
    seen = set()
    for obj in objects:
        has = conn.dialect.catalog_has(conn, obj)
        if has is None:
            return None
        seen.add(has == obj.present)
    return seen.pop() if len(seen) == 1 else None


def settle(conn: Connection | None, s: Statement, index: int, *, file: str, version: str,
           resolve: str | None) -> bool:
    """Whether statement ``index`` (1-based) ``s`` of ``file``, left in doubt by an earlier run,
    completed: the catalog's answer through ``conn`` (``took_effect``; no ``conn``, or a catalog
    it cannot read, is no answer), else ``resolve`` ("done" or "redo":
    ``Options.resolve_in_doubt``); InDoubtError when neither tells. A lost connection's driver
    error propagates, for the caller to word. One rule for a run (``Executor._settle_in_doubt``)
    and its dry run (``engine._dry_run_rows``)."""
    done: bool | None = None
    if conn is not None:
        try:
            done = took_effect(conn, s.text)
        except Exception as err:
            if conn.dialect.connection_lost(conn, err):
                raise
            done = None  # e.g. no privilege to read that part of the catalog
    if done is None:
        if resolve is None:
            from .errors import InDoubtError

            raise InDoubtError(file=file, version=version, statement=s.text, index=index,
                               line=s.line, col=s.col)
        done = resolve == "done"
    return done


_CREATE_KINDS = {"TABLE": "table", "VIEW": "view", "INDEX": "index", "DATABASE": "database",
                 "SCHEMA": "schema", "TRIGGER": "trigger", "PROCEDURE": "routine",
                 "FUNCTION": "routine", "SEQUENCE": "table"}


_SKIP_BEFORE_KIND = {"OR", "REPLACE", "UNIQUE", "FULLTEXT", "SPATIAL", "TEMPORARY", "ALGORITHM",
                     "DEFINER", "SQL", "SECURITY", "UNDEFINED", "MERGE", "TEMPTABLE", "INVOKER",
                     "AGGREGATE", "MATERIALIZED", "=", "@", "."}


class _Parser:
    def __init__(self, toks: list[Tok], fold: bool) -> None:
        self.t = toks
        self.i = 0
        self.fold = fold

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return "" if not 0 <= j < len(self.t) or self.t[j].quoted else self.t[j].word

    def accept(self, *words: str) -> bool:
        n = len(words)
        if tuple(self.peek(k) for k in range(n)) == words:
            self.i += n
            return True
        return False

    def ident(self) -> str | None:
        if self.i >= len(self.t):
            return None
        tok = self.t[self.i]
        if not tok.quoted and not re.match(r"[^\W\d][\w$]*$", tok.raw):
            return None
        self.i += 1
        if tok.quoted:
            return tok.word
        return tok.raw.lower() if self.fold else tok.raw

    def qualified(self) -> tuple[str | None, str] | None:
        first = self.ident()
        if first is None:
            return None
        if self.peek() == ".":
            self.i += 1
            second = self.ident()
            return None if second is None else (first, second)
        return None, first

    def if_exists(self) -> None:
        self.accept("IF", "NOT", "EXISTS") or self.accept("IF", "EXISTS")

    def skip_to_comma(self) -> None:
        depth = 0
        while self.i < len(self.t):
            w = self.peek()
            if w == "(":
                depth += 1
            elif w == ")":
                depth -= 1
            elif depth == 0 and w in (",", ";"):
                return
            self.i += 1


def effects(text: str, *, fold: bool) -> list[DbObject] | None:
    """The catalog objects ``text`` creates or removes, or None when it does anything else.
    ``fold``: unquoted identifiers are stored lower-cased (PostgreSQL)."""
    p = _Parser(tokens(text), fold)
    try:
        if p.accept("CREATE"):
            return _create(p)
        if p.accept("DROP"):
            return _drop(p)
        if p.accept("ALTER", "TABLE") or p.accept("ALTER", "ONLINE", "TABLE"):
            return _alter_table(p)
        if p.accept("RENAME", "TABLE"):
            return _rename_table(p)
    except IndexError:
        return None
    return None


def _create(p: _Parser) -> list[DbObject] | None:
    while p.peek() in _SKIP_BEFORE_KIND or (p.peek(-1) in ("=", "@") and p.peek() not in _CREATE_KINDS):
        p.i += 1
        if p.i >= len(p.t):
            return None
    kind = _CREATE_KINDS.get(p.peek())
    if kind is None or p.peek(-1) == "MATERIALIZED":
        return None
    p.i += 1
    if kind == "index":
        p.accept("CONCURRENTLY")
        p.if_exists()
        name = p.ident()
        if name is None or not p.accept("ON"):
            return None
        p.accept("ONLY")
        table = p.qualified()
        return None if table is None else [DbObject("index", table[0], name, table[1], True)]
    p.if_exists()
    q = p.qualified()
    if q is None:
        return None
    if kind == "trigger":
        while p.i < len(p.t) and not p.accept("ON"):
            p.i += 1
        table = p.qualified()
        if table is None:
            return None
        return [DbObject("trigger", table[0] or q[0], q[1], table[1], True)]
    return [DbObject(kind, q[0], q[1], None, True)]


def _drop(p: _Parser) -> list[DbObject] | None:
    p.accept("TEMPORARY")
    kind = _CREATE_KINDS.get(p.peek())
    if kind is None:
        return None
    p.i += 1
    p.accept("CONCURRENTLY")
    p.if_exists()
    names = []
    while True:
        q = p.qualified()
        if q is None:
            return None
        names.append(q)
        if p.peek() != ",":
            break
        p.i += 1
    table = None
    if p.accept("ON"):
        table = p.qualified()
        if table is None:
            return None
    if table is not None:  # DROP INDEX i ON t (MySQL), DROP TRIGGER tr ON t (PostgreSQL)
        return [DbObject(kind, table[0], n, table[1], False) for _, n in names]
    return [DbObject(kind, s, n, None, False) for s, n in names]


def _alter_table(p: _Parser) -> list[DbObject] | None:
    p.accept("ONLY")
    p.if_exists()
    q = p.qualified()
    if q is None:
        return None
    schema, table = q
    out: list[DbObject] = []
    if p.accept("WAIT"):  # MariaDB: WAIT n | NOWAIT
        p.i += 1
    else:
        p.accept("NOWAIT")
    while p.i < len(p.t) and p.peek() != ";":
        if p.peek() in ("ALGORITHM", "LOCK"):  # MySQL online DDL options: no effect of their own
            p.i += 1
        elif p.accept("ADD"):
            if p.peek() in ("INDEX", "KEY") or p.peek() == "UNIQUE":
                p.accept("UNIQUE")
                p.accept("INDEX") or p.accept("KEY")
                p.if_exists()
                name = p.ident()
                if name is None:
                    return None
                out.append(DbObject("index", schema, name, table, True))
            elif p.peek() in ("CONSTRAINT", "PRIMARY", "FOREIGN", "CHECK", "FULLTEXT", "SPATIAL",
                              "PARTITION", "PERIOD", "SYSTEM"):
                return None
            else:
                p.accept("COLUMN")
                p.if_exists()
                if p.peek() == "(":
                    return None
                name = p.ident()
                if name is None:
                    return None
                out.append(DbObject("column", schema, name, table, True))
        elif p.accept("DROP"):
            if p.accept("INDEX") or p.accept("KEY"):
                p.if_exists()
                name = p.ident()
                if name is None:
                    return None
                out.append(DbObject("index", schema, name, table, False))
            elif p.peek() in ("CONSTRAINT", "PRIMARY", "FOREIGN", "CHECK", "PARTITION", "DEFAULT"):
                return None
            else:
                p.accept("COLUMN")
                p.if_exists()
                name = p.ident()
                if name is None:
                    return None
                out.append(DbObject("column", schema, name, table, False))
        elif p.accept("RENAME", "COLUMN"):
            old, _, new = p.ident(), p.accept("TO"), p.ident()
            if old is None or new is None:
                return None
            out += [DbObject("column", schema, old, table, False),
                    DbObject("column", schema, new, table, True)]
        elif p.accept("RENAME"):
            p.accept("TO") or p.accept("AS")
            new_q = p.qualified()
            if new_q is None:
                return None
            out += [DbObject("table", schema, table, None, False),
                    DbObject("table", new_q[0] or schema, new_q[1], None, True)]
        else:
            return None
        p.skip_to_comma()
        if p.peek() == ",":
            p.i += 1
    return out or None


def _rename_table(p: _Parser) -> list[DbObject] | None:
    out: list[DbObject] = []
    while True:
        old, ok, new = p.qualified(), p.accept("TO"), p.qualified()
        if old is None or new is None or not ok:
            return None
        out += [DbObject("table", old[0], old[1], None, False),
                DbObject("table", new[0], new[1], None, True)]
        if p.peek() != ",":
            return out
        p.i += 1
