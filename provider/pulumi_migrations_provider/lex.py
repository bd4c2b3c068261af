"""Splitting a migration file into statements exactly as Atlas's ``sql/migrate/lex.go`` Scanner does.

The statement texts decide the revision row's ``total`` and its chained ``partial_hashes``, so
they must be byte-for-byte what Atlas emits. This module mirrors the Go scanner case by case (same
order of checks, same quirks) but jumps between "interesting" characters with one compiled
regular expression instead of stepping rune by rune, and inside a statement skips whole runs of
text that no case acts on (strings, inner comments, balanced parentheses) with another
(``_run_pattern``; ``tests/test_lex_fast.py`` holds it to the loop alone on generated inputs).
Between statements, runs of "plain" ones (what the loop would only skip, after the same newline
each) are taken whole by a third (``_bulk_pattern``, ``_take_plain``), without Python-level work
per statement: a seed file of one-row INSERTs is tens of thousands of them.

Quirks reproduced on purpose (all verified against Atlas's golden files and its source):

- the default ``;`` stays in the statement text, a custom delimiter is stripped;
- a ``--`` comment with no newline after it is not a comment (it becomes statement text);
- leading comments are attached to the statement unless a blank line follows them;
- ``BEGIN`` / ``BEGIN ATOMIC`` blocks only group with the default delimiter, and a block that
  never finds its ``END`` is abandoned (scanning carries on after ``BEGIN``);
- the Postgres ``E'...'`` option never changes anything: Atlas tests the character before the
  cursor, which is always the quote itself, so ``E'it\\'s'`` is an unclosed quote in Atlas too;
- ``\\s`` in Atlas's regular expressions is ASCII ``[\\t\\n\\f\\r ]`` while whitespace skipping and
  trimming use Go's ``unicode.IsSpace``; both sets are spelled out below.

Error columns are counted in UTF-8 bytes, as Atlas prints them; ``Statement.col`` is counted in
characters.
"""

from __future__ import annotations

import base64
import functools
import gc
import hashlib
import itertools
import operator
import re
import sys
from collections.abc import Iterable, Sequence
from typing import NamedTuple
import dataclasses
from dataclasses import dataclass

from .errors import ParseError

__all__ = [
    "ScanOptions",
    "Statement",
    "split_statements",
    "HashChain",
    "statement_hashes",
]


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """Which dialect features the scanner honours (Atlas's ``ScannerOptions``). Each dialect
    names the ones its family turns on (``Dialect.scan_features``; ``Dialect.scan_options``
    builds this value from them)."""

    match_begin: bool = False  # BEGIN ... END grouping
    match_begin_atomic: bool = False  # BEGIN ATOMIC ... END (PG)
    match_dollar_quote: bool = False  # $tag$ ... $tag$
    backslash_escapes: bool = False  # MySQL
    escaped_string_ext: bool = False  # PG E'...' (a no-op, exactly like Atlas; see module doc)
    hash_comments: bool = False  # '#' comments (MySQL)
    # MySQL runs /*! ... */ and MariaDB /*M! ... */ as code; at a statement's head Atlas (and
    # the text here) drops it with the other leading comments: refused (see _executable_comment)
    executable_comments: bool = False

    def replace(self, **changes: bool) -> ScanOptions:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)



class Statement(NamedTuple):
    """One scanned statement.

    ``text`` is exactly Atlas's ``Stmt.Text``. ``pos`` is the character offset of the statement
    start in the original file text (the ``-- atlas:delimiter`` line included); ``line`` and
    ``col`` are 1-based (``col`` in characters). ``comments`` are the leading comments Atlas
    attaches to the statement, each with its terminator (``"-- x\\n"``, ``"/* y */"``).

    A named tuple (immutable, hashable, compared by value, ``repr`` as a dataclass's): a frozen
    dataclass took ~1.1 µs to build, a third of all the splitting time on a file of one-row
    INSERTs; a tuple subclass is built in C (``_new_statement``) in a sixth of that.
    """

    text: str
    pos: int
    line: int
    col: int
    comments: tuple[str, ...] = ()


# Builds a Statement from one (text, pos, line, col, comments) tuple without running Python code.
_new_statement = functools.partial(tuple.__new__, Statement)


# Go's unicode.IsSpace (used by strings.TrimSpace / TrimLeftFunc). Python's str.isspace() also
# accepts \x1c-\x1f, which Go does not, so the set is explicit.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
_SPACES = re.compile("[" + re.escape(_GO_SPACE) + "]*")
# Go's regexp \s (ASCII only, no \v).
_RE_WS = "\t\n\f\r "
_WS = r"[\t\n\f\r ]"

_DELIMITER_CMD = "delimiter"
_DEFAULT_DELIM = ";"
_QUOTES = "'\"`"

# `^\$([A-Za-zÈ-ÿ_][\wÈ-ÿ]*)*\$`; (XY*)* equals (XY*)? here because X is a subset of Y.
_DOLLAR = re.compile(r"\$(?:[A-Za-z\u00c8-\u00ff_][0-9A-Za-z_\u00c8-\u00ff]*)?\$")
_BEGIN_ATOMIC = re.compile(_WS + r"*[Bb][Ee][Gg][Ii][Nn]" + _WS + r"+[Aa][Tt][Oo][Mm][Ii][Cc]" + _WS + "+")
_BEGIN = re.compile(_WS + r"*[Bb][Ee][Gg][Ii][Nn]" + _WS + "+")
_END = re.compile(_WS + r"*[Ee][Nn][Dd]" + _WS + "*")
# Python frames per nested BEGIN scan (stmt -> block -> _scan_block -> stmt).
_FRAMES_PER_BLOCK = 3
# dir.go reDirective: `^([ -~]*)atlas:(\w+)(?: +([ -~]*))*` (Go's \w is ASCII).
_DIRECTIVE = re.compile(r"([ -~]*)atlas:([0-9A-Za-z_]+)(?: +([ -~]*))*")
_DIRECTIVE_START = "-- atlas:"
# Closing-quote finders when backslash escapes are on.
_ESCAPED_QUOTE_END = {
    q: re.compile(r"[^%s\\]*(?:\\[\s\S][^%s\\]*)*%s" % (q, q, q)) for q in _QUOTES
}
# Go's %q of the quote rune, as Atlas prints it.
_QUOTE_NAMES = {"'": "'\\''", '"': "'\"'", "`": "'`'"}

_JUMP_CACHE: dict[tuple[str, ScanOptions], re.Pattern[str]] = {}
_RUN_CACHE: dict[tuple[str, ScanOptions], re.Pattern[str] | None] = {}
# Per (delimiter, options): the jump and run patterns, and the bulk patterns by separator
# (``_bulk_pattern``, compiled when ``_take_plain`` first meets a separator): one lookup per
# scanner.
_Patterns = tuple[re.Pattern[str], re.Pattern[str] | None, dict[str, re.Pattern[str] | None]]
_PATTERNS: dict[tuple[str, ScanOptions], _Patterns] = {}
# The whitespace between statements that ``_take_plain`` takes runs of statements after: it
# ends with a newline (each statement then starts in column 1); others go through the loop.
_SEPARATORS = frozenset(("\n", "\n\n", "\r\n", "\r\n\r\n"))
# How deep the run pattern follows nested parentheses; deeper ones go through the loop.
_RUN_PAREN_DEPTH = 3


def _jump_pattern(delim: str, opts: ScanOptions) -> re.Pattern[str]:
    """Return the regex finding the next character that any scanner case could act on."""
    key = (delim, opts)
    pat = _JUMP_CACHE.get(key)
    if pat is None:
        singles = set("()" + _QUOTES + delim[0])
        if opts.hash_comments:
            singles.add("#")
        if opts.match_dollar_quote:
            singles.add("$")
        alts = ["[" + "".join(re.escape(c) for c in sorted(singles)) + "]", "--", r"/\*"]
        if delim == _DEFAULT_DELIM and (opts.match_begin or opts.match_begin_atomic):
            alts.append(r"[Bb](?=[Ee][Gg][Ii][Nn]" + _WS + ")")
        pat = _JUMP_CACHE[key] = re.compile("|".join(alts))
    return pat


def _patterns(delim: str, opts: ScanOptions) -> _Patterns:
    """The jump pattern, the run pattern and the bulk patterns by separator (see ``_PATTERNS``)."""
    key = (delim, opts)
    got = _PATTERNS.get(key)
    if got is None:
        got = _PATTERNS[key] = (_jump_pattern(delim, opts), _run_pattern(delim, opts), {})
    return got


def _run_pattern(delim: str, opts: ScanOptions) -> re.Pattern[str] | None:
    """Return the regex that skips, inside a statement, what the scanner loop would only step over.

    From a position past the statement start, the loop in ``_Scanner.stmt`` spends most of its
    time on characters and constructs whose only effect is to move on: ordinary characters,
    closed quoted strings, comments (only those at the statement start are collected), a ``-``,
    ``/``, ``$`` or ``B`` that starts nothing, and parenthesised groups that close again
    (depth-neutral, up to ``_RUN_PAREN_DEPTH`` deep; inside them the delimiter means nothing).
    This pattern consumes a run of exactly those in one C-level match and stops before anything
    that can have an effect (a delimiter at this depth, an unmatched parenthesis, a dollar quote,
    a ``BEGIN``, an unclosed quote or comment, a comment without its newline), which the loop
    then handles as before. It is written as "unrolled loops" (``N*(?:S N*)*`` with every ``S``
    starting on a character outside ``N``), so a failing group backtracks in linear time.

    None when the delimiter starts with a character that has another meaning (then the loop
    alone scans, as it always did).
    """
    key = (delim, opts)
    if key in _RUN_CACHE:
        return _RUN_CACHE[key]
    specials = set("()-/" + _QUOTES)
    if opts.hash_comments:
        specials.add("#")
    if opts.match_dollar_quote:
        specials.add("$")
    begin_words = delim == _DEFAULT_DELIM and (opts.match_begin or opts.match_begin_atomic)
    if begin_words:
        specials.update("Bb")
    if delim[0] in specials:
        _RUN_CACHE[key] = None
        return None
    cls = "".join(re.escape(c) for c in sorted(specials))
    outside = "[^" + cls + re.escape(delim[0]) + "]*"  # N at the statement's own depth
    inside = "[^" + cls + "]*"  # N within parentheses: the delimiter is ordinary there
    steps = []  # the S alternatives (a group is added per depth below)
    for q in _QUOTES:
        if opts.backslash_escapes:
            steps.append(r"%s[^%s\\]*(?:\\[\s\S][^%s\\]*)*%s" % (q, q, q, q))
        else:
            steps.append("%s[^%s]*%s" % (q, q, q))
    # "/*" up to the first "*/" and not one further: a lazy ".*?" would extend on backtracking.
    steps += [r"-(?!-)", r"--[^\n]*\n", r"/(?!\*)", r"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/"]
    if opts.hash_comments:
        steps.append(r"#[^\n]*\n")
    if opts.match_dollar_quote:
        steps.append(r"\$(?!" + _DOLLAR.pattern[2:] + ")")
    if begin_words:
        steps.append(r"[Bb](?![Ee][Gg][Ii][Nn]" + _WS + ")")
    simple = "|".join(steps)
    group = r"\(" + inside + "(?:(?:" + simple + ")" + inside + r")*\)"  # one level deep
    for _ in range(_RUN_PAREN_DEPTH - 1):
        group = r"\(" + inside + "(?:(?:" + simple + "|" + group + ")" + inside + r")*\)"
    pattern = outside + "(?:(?:" + simple + "|" + group + ")" + outside + ")*"
    if sys.version_info >= (3, 11):
        # Every part matches in one way only, so possessive repeats (3.11+) match the same
        # text; they save the engine its backtracking marks (~15% faster).
        pattern = pattern.replace("]*", "]*+").replace(")*", ")*+")
    pat = _RUN_CACHE[key] = re.compile(pattern)
    return pat


def _bulk_pattern(delim: str, opts: ScanOptions, sep: str) -> re.Pattern[str] | None:
    """Return the regex matching, after the separator ``sep``, one whole "plain" statement.

    A plain statement is one the loop in ``_Scanner.stmt`` scans without doing anything but
    skipping and collecting leading comments: zero or more whole ``--`` (and, with
    ``hash_comments``, ``#``) comment lines, each right after the previous one, then the
    statement, which does not start with whitespace (the blank line that would drop the
    comments, or the spaces ``skip_spaces`` would take), with what can be a comment (``-``,
    ``/``, ``#``) or with a ``DELIMITER`` command, and where the run pattern (applied there, as
    ``stmt`` does) ends right before the delimiter. For such a statement the loop collects each
    comment line, emits exactly the text from its first character to after the delimiter and
    changes no other state, so ``_take_plain`` takes runs of them with ``findall``.

    Group 1 is the comment lines and the statement with its delimiter. When no plain statement
    follows, the second alternative takes the rest of the input in one step (``.+`` with DOTALL
    jumps to the end) and group 1 is empty: ``findall`` never skips text, and its list ends with
    ``""`` exactly when the run stopped early. None when there is no run pattern, or before
    Python 3.11: the equivalence needs the run to be atomic (its possessive repeats: no
    backtracking to an earlier delimiter).
    """
    run = _run_pattern(delim, opts)
    pat = None
    if run is not None and sys.version_info >= (3, 11):
        first = "(?![-/#" + re.escape(_GO_SPACE) + "])"
        first += "(?!" + "".join(f"[{c.upper()}{c}]" for c in _DELIMITER_CMD) + ")"
        comment = r"--[^\n]*+\n" + (r"|#[^\n]*+\n" if opts.hash_comments else "")
        stmt = "((?:" + comment + ")*+" + first + run.pattern + re.escape(delim) + ")"
        pat = re.compile(re.escape(sep) + stmt + "|(?s:.+)")
        assert pat.groups == 1
    return pat


def _unescape_delim(d: str) -> str:
    """Apply Atlas's ``\\n``, ``\\r``, ``\\t`` unescaping to a delimiter value."""
    return d.replace("\\n", "\n").replace("\\r", "\r").replace("\\t", "\t")


def _go_quote(s: str) -> str:
    """Go's ``%q`` for printable-ASCII strings (directive values are always printable ASCII)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _ScanError(Exception):
    """A scanner failure; ``offset`` is the absolute index Atlas's ``Scanner.error`` gets."""

    def __init__(self, offset: int, reason: str):
        super().__init__(reason)
        self.offset = offset
        self.reason = reason


class _Scanner:
    """One Atlas ``Scanner`` over ``src[start:]``; offsets are absolute indexes into ``src``."""

    __slots__ = ("src", "n", "opts", "inp", "i", "delim", "comments", "jump", "run", "fast",
                 "dropped", "memo", "level", "bulk")

    def __init__(
        self,
        src: str,
        start: int,
        opts: ScanOptions,
        memo: dict[tuple[int, str, bool], int] | None = None,
        fast: bool = True,
        level: int = 0,
    ):
        self.src = src
        self.n = len(src)
        self.opts = opts
        self.inp = start  # start of Go's s.input
        self.i = start  # Go's s.pos, absolute
        self.delim = _DEFAULT_DELIM
        self.comments: list[str] = []
        self.jump, run, self.bulk = _patterns(_DEFAULT_DELIM, opts)
        self.fast = fast  # False: the loop alone (the reference the fast path is tested against)
        self.run = run if fast else None
        self.level = level  # how many BEGIN blocks this scan is nested in
        self.dropped = 0  # length of a dropped directive line (Go's s.total does not count it)
        # Shared by all nested scanners of one split: see scan_to_end.
        self.memo: dict[tuple[int, str, bool], int] = {} if memo is None else memo

    # -- setup ------------------------------------------------------------------------------

    def init(self) -> None:
        """Honour a ``-- atlas:delimiter`` directive on the first line (``Scanner.init``)."""
        src, start = self.src, self.inp
        if not src.startswith(_DIRECTIVE_START, start):
            return
        m = _DIRECTIVE.match(src, start)
        if m is None or m.group(2) != "delimiter" or m.group(1) != "-- ":
            return
        value = m.group(3) or ""
        self.set_delim(value, start)
        nl = src.find("\n", start)
        if nl < 0:
            raise _ScanError(start, f"no input found after delimiter {_go_quote(value)}")
        self.inp = self.i = nl + 1
        self.dropped = nl + 1 - start

    def set_delim(self, d: str, at: int) -> None:
        """Switch to delimiter ``d`` (unescaped); an empty one is an error (``setDelim``)."""
        if d == "":
            raise _ScanError(at, "empty delimiter")
        self.delim = _unescape_delim(d)
        self.jump, run, self.bulk = _patterns(self.delim, self.opts)
        self.run = run if self.fast else None

    # -- scanning ---------------------------------------------------------------------------

    def skip_spaces(self) -> None:
        """Drop leading Unicode whitespace from the input (``skipSpaces``)."""
        m = _SPACES.match(self.src, self.inp)   # "\s*": always matches
        assert m is not None
        self.inp = self.i = m.end()

    def emit(self, end: int) -> tuple[int, str, list[str]]:
        """Cut ``src[inp:end]`` as a statement (``Scanner.emit``): (start, text, comments)."""
        start = self.inp
        text = self.src[start:end]
        comments = self.comments
        self.inp = self.i = end
        self.comments = []
        if self.delim != _DEFAULT_DELIM and text.endswith(self.delim):
            text = text[: -len(self.delim)]
        return start, text.strip(_GO_SPACE), comments

    def stmt(self) -> tuple[int, str, list[str]] | None:
        """Scan the next statement; None at end of input (``Scanner.stmt``)."""
        src, n, opts = self.src, self.n, self.opts
        depth = opening = 0
        self.skip_spaces()
        while True:
            i = self.i
            run = self.run
            if i == self.inp:
                if n - i > len(_DELIMITER_CMD) and src[i] in "Dd":
                    head = src[i : i + len(_DELIMITER_CMD)]
                    if head.isascii() and head.lower() == _DELIMITER_CMD:
                        self.delimiter_command()
                        continue
                # At the start only a comment is collected (and only here is DELIMITER a
                # command): anything else is stepped over as anywhere in the statement.
                if run is not None and i < n and src[i] not in "-/#":
                    i = run.match(src, i).end()  # type: ignore[union-attr]  # always matches
            elif run is not None:  # past the start: skip what the cases below only step over
                i = run.match(src, i).end()  # type: ignore[union-attr]  # always matches
            if run is not None and depth == 0 and src.startswith(self.delim, i):
                # What the cases below do with it (the run pattern exists only for delimiters
                # whose first character has no other meaning), without the search.
                return self.emit(i + len(self.delim))
            m = self.jump.search(src, i)
            if m is None:
                self.i = n
                if depth > 0:
                    raise _ScanError(opening, "unclosed '('")
                if n > self.inp:
                    return self.emit(n)
                return None
            k = m.start()
            c = src[k]
            self.i = k + 1
            if c == "(":
                if depth == 0:
                    opening = k + 1
                depth += 1
            elif c == ")":
                if depth == 0:
                    raise _ScanError(k + 1, "unexpected ')'")
                depth -= 1
            elif c in _QUOTES:
                self.skip_quote(k, c)
            elif depth == 0 and src.startswith(self.delim, k):
                return self.emit(k + len(self.delim))
            elif c == "$" and opts.match_dollar_quote and (dq := _DOLLAR.match(src, k)):
                tag = dq.group()
                j = src.find(tag, dq.end())
                if j < 0 and self.delim == _DEFAULT_DELIM:
                    # Atlas sends the rest of the file as one statement, and PostgreSQL fails on
                    # it only when it is reached, after earlier files ran: refuse it up front.
                    # (Under a custom delimiter Atlas's goldens pin an unclosed "$$" as text.)
                    raise _ScanError(k + 1, f"unclosed dollar quote {tag}")
                self.i = n if j < 0 else j + len(tag)
            elif c == "#" and opts.hash_comments:
                self.comment(k, 1, "\n")
            elif c == "-" and src.startswith("-", k + 1):
                self.comment(k, 2, "\n")
            elif c == "/" and src.startswith("*", k + 1):
                self.comment(k, 2, "*/")
            elif self.delim == _DEFAULT_DELIM and c in "Bb":
                if opts.match_begin_atomic and (bm := _BEGIN_ATOMIC.match(src, k)):
                    if self.block(bm.end(), atomic=True):
                        return self.emit(self.i)
                elif (
                    opts.match_begin
                    and (k == self.inp or src[k - 1] in _RE_WS)
                    and (bm := _BEGIN.match(src, k))
                ):
                    if self.block(bm.end(), atomic=False):
                        return self.emit(self.i)

    def delimiter_command(self) -> None:
        """Handle a MySQL-client ``DELIMITER x`` line at the statement start (``delimCmd``)."""
        src, start = self.src, self.inp
        self.i = start + len(_DELIMITER_CMD)
        if src[self.i] != " ":
            return
        nl = src.find("\n", self.i)
        self.i = self.n if nl < 0 else nl + 1
        delim = src[start + len(_DELIMITER_CMD) : self.i].strip(_GO_SPACE)
        if delim.startswith("'") and delim.endswith("'"):
            delim = delim[1:-1].replace("''", "'")
        self.set_delim(delim, start)
        self.emit(self.i)
        self.skip_spaces()

    def skip_quote(self, k: int, q: str) -> None:
        """Skip a quoted string opened at ``k`` (``skipQuote``)."""
        if self.opts.backslash_escapes:
            m = _ESCAPED_QUOTE_END[q].match(self.src, k + 1)
            end = -1 if m is None else m.end()
        else:
            j = self.src.find(q, k + 1)
            end = -1 if j < 0 else j + 1
        if end < 0:
            raise _ScanError(k + 1, f"unclosed quote {_QUOTE_NAMES[q]}")
        self.i = end

    def comment(self, k: int, left: int, right: str) -> None:
        """Skip a comment opened at ``k``; at the statement start, collect it (``comment``)."""
        src = self.src
        body = k + left
        idx = src.find(right, body)
        if idx < 0:
            if right == "*/":
                # Atlas carries on after an unclosed "/*" and sends the rest of the file to the
                # database as part of one statement; SQLite then takes it all as a comment and
                # the statements after it are silently lost. We refuse the file instead
                # (README, "Where we differ from Atlas").
                raise _ScanError(k + 1, "unclosed comment '/*'")  # col of the '/', as for quotes
            self.i = body  # "--" or "#" at the end of input without a newline: not a comment
            return
        end = idx + len(right)
        self.i = end
        if k != self.inp:
            return
        self.comments.append(src[self.inp : end])
        self.inp = end
        if src.startswith("\n\n", end) or (right == "\n" and src.startswith("\n", end)):
            self.comments = []
        self.skip_spaces()

    def block(self, start: int, *, atomic: bool) -> bool:
        """Scan a BEGIN [ATOMIC] body from ``start`` up to its END (``skipBegin[Atomic]``).

        Returns True and moves past the END statement when found; otherwise the block is
        abandoned and scanning resumes at ``start`` (errors inside are swallowed, as in Atlas).
        One known divergence: when an ``-- atlas:delimiter`` line directly follows ``BEGIN``,
        Atlas resumes at a BYTE offset short by that line's length; with non-ASCII text after
        it that can land inside a UTF-8 sequence, which a ``str`` cannot represent.
        """
        level = self.level + 1
        if _FRAMES_PER_BLOCK * level + 200 > sys.getrecursionlimit() / 2:
            sys.setrecursionlimit(sys.getrecursionlimit() + 200 * _FRAMES_PER_BLOCK)
        body = _Scanner(self.src, start, self.opts, self.memo, self.fast, level)
        end = -1
        try:
            body.init()
            end = body.scan_to_end(atomic)
        except _ScanError:
            pass
        if end < 0:
            self.i = start
            return False
        self.i = end - body.dropped
        return True

    def scan_to_end(self, atomic: bool) -> int:
        """Scan statements until one is END (``END``/``END;`` unless ``atomic``).

        Returns the absolute offset after that statement, or -1 at end of input. The outcome
        from a statement boundary depends only on (offset, delimiter, atomic), so it is
        memoized for every boundary passed: without that, "begin" words that never find an
        END rescan the rest of the file once each (Atlas does the same, only faster).
        """
        memo, visited = self.memo, []
        result = -1
        try:
            while True:
                key = (self.inp, self.delim, atomic)
                known = memo.get(key)
                if known is not None:
                    result = known
                    break
                visited.append(key)
                got = self.stmt()
                if got is None:
                    break
                text = got[1]
                m = _END.match(text)
                if m is not None and (
                    atomic or m.end() == len(text) or text[m.end() :] == _DEFAULT_DELIM
                ):
                    result = self.i
                    break
        except _ScanError:
            result = -1
        for key in visited:
            memo[key] = result
        return result


def _position(text: str, offset: int) -> tuple[int, int]:
    """Return Atlas's (line, col) for an error at ``offset``: col counts UTF-8 bytes."""
    line = text.count("\n", 0, offset) + 1
    line_start = text.rfind("\n", 0, offset) + 1
    return line, len(text[line_start:offset].encode("utf-8"))


def split_statements(
    text: str, options: ScanOptions, *, file: str | None = None
) -> list[Statement]:
    """Split a migration file's text into statements, exactly as Atlas's scanner does, with
    the dialect's ``options`` (``Dialect.scan_options``).

    Returns the statements in file order (an empty list for a file holding only whitespace
    and comments). Raises ``ParseError`` with Atlas's reason text and position, e.g.
    ``unclosed quote '\\''`` at 4:40, ``unclosed '('``, ``unexpected ')'``,
    ``no input found after delimiter ";;"``. For ``empty delimiter`` (which Atlas reports
    without a position) the line/col of the directive or ``DELIMITER`` command is given.
    """
    # Each BEGIN that never finds its END nests one scan inside the previous one (as in Atlas),
    # so a file with many "begin" words needs a deeper stack than Python's default: _Scanner.block
    # raises the limit as the nesting grows; it is restored here.
    limit = sys.getrecursionlimit()
    # A split allocates one tuple per statement and no reference cycles; the cyclic collector,
    # triggered by those allocations, would only walk the growing list again and again (~10%
    # of splitting a file of one-row INSERTs), so it is paused meanwhile (as Mercurial's
    # util.nogc does while building large lists) and resumed as it was.
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        return _split(text, options, file)
    finally:
        if collecting:
            gc.enable()
        if sys.getrecursionlimit() != limit:
            sys.setrecursionlimit(limit)


def _split(text: str, options: ScanOptions, file: str | None, fast: bool = True) -> list[Statement]:
    """Run the top-level scanner over ``text`` (see ``split_statements``); ``fast=False`` scans
    with the loop alone, the reference ``tests/test_lex_fast.py`` compares the fast path with."""
    scanner = _Scanner(text, 0, options, fast=fast)
    out: list[Statement] = []
    line, last = 1, 0
    try:
        scanner.init()
        while True:
            if fast:
                line, last = _take_plain(text, scanner, out, line, last)
            got = scanner.stmt()
            if got is None:
                break
            start, stmt_text, comments = got
            line += text.count("\n", last, start)
            last = start
            col = start - text.rfind("\n", 0, start)
            out.append(_new_statement((stmt_text, start, line, col, tuple(comments))))
    except _ScanError as err:
        at_line, at_col = _position(text, err.offset)
        if err.reason == "empty delimiter":  # no position in Atlas: point at the directive
            at_col += 1
        raise ParseError(err.reason, file=file, line=at_line, col=at_col) from None
    if options.executable_comments:
        _executable_comment(text, out, file)
    return out


def _executable_comment(text: str, statements: list[Statement], file: str | None) -> None:
    """Refuse a MySQL/MariaDB executable comment (``/*!40101 SET NAMES utf8 */``) leading a
    statement: it would be dropped with the leading comments, so the server would run the rest
    without it (an empty statement fails with "Query was empty" once earlier ones ran)."""
    # Only statements with leading comments, picked in C: searching the text for "/*!" first
    # cost ~25 ms on a 10 MB file whose strings hold "/*" (two scans, each stopping at every one).
    for s in filter(_COMMENTS, statements):
        for comment in s.comments:
            if comment.startswith(("/*!", "/*M!")):
                at = text.rfind(comment, 0, s.pos + len(comment))
                line, col = _position(text, at if at >= 0 else s.pos)
                raise ParseError(
                    f"the executable comment {comment[:24]!r} leads a statement and would not be "
                    "run (leading comments are dropped, as Atlas does); write it as a statement "
                    "of its own without the comment markers",
                    file=file, line=line, col=col + 1)


_TRIM_END = operator.methodcaller("rstrip", _GO_SPACE)
_COMMENTS = operator.itemgetter(4)  # Statement.comments
_COMMENT_LINE_STARTS = ("--", "#")  # the comment lines _bulk_pattern lets through


def _take_plain(text: str, scanner: _Scanner, out: list[Statement], line: int, last: int
                ) -> tuple[int, int]:
    """Append the run of plain statements (``_bulk_pattern``) at the scanner's position to
    ``out``, move the scanner past them and return ``_split``'s new (line, last).

    They are the statements ``scanner.stmt()`` would return one by one, with the same texts,
    positions and (empty) comments, built without a Python-level step per statement: a file of
    one-row INSERTs holds ~65,000 of them in 10 MB, and per-statement work, not scanning,
    bounded its speed. A run is the statements that follow one another with the same
    whitespace, ending in a newline, between them (one of ``_SEPARATORS``): then the starts and
    lines follow from the texts' lengths and newlines, and every column is 1.
    """
    pos = scanner.inp
    end = _SPACES.match(text, pos).end()  # type: ignore[union-attr]  # always matches
    sep = text[pos:end]
    if sep not in _SEPARATORS or end == len(text):
        return line, last
    if sep in scanner.bulk:
        bulk = scanner.bulk[sep]
    else:
        bulk = scanner.bulk[sep] = _bulk_pattern(scanner.delim, scanner.opts, sep)
    if bulk is None:
        return line, last
    chunks = bulk.findall(text, pos)
    if chunks and not chunks[-1]:
        chunks.pop()  # the rest of the input, where the run stopped
    if not chunks:
        return line, last
    width = len(sep)
    # Entry i is statement i's start (line); the extra last one is the end of the run (+ width).
    starts = list(itertools.accumulate(map(operator.add, map(len, chunks), itertools.repeat(width)),
                                       initial=end))
    first_line = line + text.count("\n", last, end)
    newlines = map(operator.add, map(str.count, chunks, itertools.repeat("\n")),
                   itertools.repeat(sep.count("\n")))
    lines = list(itertools.accumulate(newlines, initial=first_line))
    delim = scanner.delim
    texts: Iterable[str] = chunks
    if delim != _DEFAULT_DELIM:  # emit strips a custom delimiter, then the whitespace
        texts = map(_TRIM_END, map(operator.getitem, chunks,
                                   itertools.repeat(slice(0, -len(delim)))))
    base = len(out)
    one, none = itertools.repeat(1), itertools.repeat(())
    # tuple.__new__ straight from map: ~15% faster than through _new_statement's partial.
    rows = zip(texts, starts, lines, one, none)
    out.extend(map(tuple.__new__, itertools.repeat(Statement), rows))
    # Chunks that start with comment lines (a statement never starts with "-" or "#"): the
    # statement starts after them, a line further down per comment, and carries them.
    for i in [i for i, chunk in enumerate(chunks) if chunk[0] in "-#"]:
        chunk, at, comments = chunks[i], 0, []
        while chunk.startswith(_COMMENT_LINE_STARTS, at):
            nl = chunk.index("\n", at) + 1
            comments.append(chunk[at:nl])
            at = nl
        if delim == _DEFAULT_DELIM:
            stmt_text = chunk[at:]
        else:
            stmt_text = chunk[at : -len(delim)].rstrip(_GO_SPACE)
        out[base + i] = _new_statement(
            (stmt_text, starts[i] + at, lines[i] + len(comments), 1, tuple(comments)))
    scanner.inp = scanner.i = starts[-1] - width
    return lines[-2], starts[-2]


class HashChain:
    """Atlas's chained partial hashes (``Executor.Execute``), fed statement by statement.

    One running SHA-256 is fed each statement's UTF-8 text in turn (nothing else, no
    separator); after each, its digest is recorded in ``hashes`` as ``"h1:" + base64``
    (standard alphabet, padded). Entry *i* therefore covers statements 1..i. ``extend`` feeds
    more statements, so a caller can stop at the first *k* and go on later.
    """

    __slots__ = ("_sha", "hashes")

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self.hashes: list[str] = []

    def extend(self, statements: Iterable[str]) -> list[str]:
        """Feed ``statements`` (texts, in order); return ``hashes``, now one longer each."""
        h, out = self._sha, self.hashes
        for stmt in statements:
            h.update(stmt.encode("utf-8"))
            out.append("h1:" + base64.b64encode(h.digest()).decode("ascii"))
        return out


def statement_hashes(statements: Sequence[str]) -> list[str]:
    """Return Atlas's chained partial hashes for statement texts (``HashChain``)."""
    return HashChain().extend(statements)
