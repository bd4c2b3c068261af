"""The splitter's fast paths (the run pattern, ``lex._run_pattern``, and the runs of plain
statements taken whole, ``lex._take_plain``) against the loop alone.

``lex._split(..., fast=False)`` scans with the case-by-case loop only: the code Atlas's goldens
(tests/test_lex.py) pinned before the fast path existed. The fast path must give the same
statements (text, position, comments) and the same errors (reason, line, col) on every input.
Inputs are generated from the tokens that matter to the scanner (quotes, escapes, delimiters,
comments, parentheses, dollar quotes, BEGIN/END, directives), seeded so a failure reproduces.
"""

from __future__ import annotations

import random

import pytest

from pulumi_migrations_provider import dialects, lex
from pulumi_migrations_provider.errors import ParseError
from pulumi_migrations_provider.lex import ScanOptions

# Each dialect's splitter options, as the dialect states them (Dialect.scan_features).
MYSQL, POSTGRES, SQLITE = (dialects.named(n).scan_options for n in ("mysql", "postgres", "sqlite"))

ALL = ScanOptions(match_begin=True, match_begin_atomic=True, match_dollar_quote=True,
                  backslash_escapes=True, escaped_string_ext=True, hash_comments=True)
GENERIC = ScanOptions(match_begin_atomic=True, match_dollar_quote=True)
OPTIONS = {"sqlite": SQLITE, "postgres": POSTGRES, "mysql": MYSQL, "all": ALL,
           "generic": GENERIC, "none": ScanOptions()}

TOKENS = (
    "'", '"', "`", "''", "\\", "\\'", '\\"', "\\\\", ";", ";;", "--", "-- x", "-", "/", "/*",
    "*/", "*", "#", "\n", "\n\n", " ", "\t", "(", ")", "((", "))", "$", "$$", "$a$", "$1",
    "BEGIN ", "begin\n", "BEGIN ATOMIC ", "END", "END;", "end ;", "E'", "//", "|", "é", "日",
    "SELECT 1", "INSERT INTO t VALUES ", "x", "b", "Bx", "delimiter ", "DELIMITER //\n",
    "DELIMITER ;\n", "DELIMITER $$\n", "\u00a0", "\u2028",
)
PREFIXES = ("", "", "", "-- atlas:delimiter //\n", "-- atlas:delimiter $$\n",
            "-- atlas:delimiter ;;\n", "-- comment\n", "/* c */\n")


def _outcome(text: str, opts: ScanOptions, fast: bool) -> object:
    try:
        return [(s.text, s.pos, s.line, s.col, s.comments) for s in lex._split(text, opts, None, fast)]
    except ParseError as err:
        return ("error", err.reason, err.line, err.col)


def _inputs(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        body = "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 40)))
        out.append(rng.choice(PREFIXES) + body)
    return out


def _differences(texts: list[str], opts: ScanOptions) -> list[tuple[str, object, object]]:
    """The inputs (with both outcomes) on which the fast path and the loop alone disagree."""
    differ = []
    for text in texts:
        fast, slow = _outcome(text, opts, True), _outcome(text, opts, False)
        if fast != slow:
            differ.append((text, fast, slow))
    return differ


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_fast_path_equals_loop_on_generated_inputs(name):
    differ = _differences(_inputs(seed=sum(map(ord, name)), count=3000), OPTIONS[name])
    assert not differ, differ[:3]


@pytest.mark.parametrize("name", ["sqlite", "postgres", "mysql"])
def test_fast_path_equals_loop_on_data_statements(name):
    """Seed-data shapes: multi-row INSERTs with every kind of string content, nested parens."""
    rng = random.Random(7)
    values = ("'it''s'", "'a;b'", "'x -- y'", "'/* no */'", "'(p)'", "NULL", "-1", "2.5",
              "'naïve'", "'\\\\'", "\"q\"", "'$1'", "'#h'", "lower('B')", "coalesce((1), (2))",
              "'begin end'", "((((3))))")
    rows = []
    for i in range(300):
        row = ", ".join(rng.choice(values) for _ in range(rng.randint(1, 6)))
        rows.append(f"INSERT INTO t VALUES ({i}, {row});" + rng.choice(("\n", " ", "\n-- c\n", "")))
    text = "".join(rows)
    assert _outcome(text, OPTIONS[name], True) == _outcome(text, OPTIONS[name], False)
    assert len(lex.split_statements(text, OPTIONS[name])) == 300


def test_run_pattern_stops_before_what_has_an_effect():
    pat = lex._run_pattern(";", POSTGRES)
    assert pat is not None
    cases = {
        "a, 'x;y', (b; c) ; rest": "a, 'x;y', (b; c) ",   # a delimiter at depth 0
        "a 'unclosed": "a ",                             # the loop reports the quote
        "f(a, (b) ) ) x": "f(a, (b) ) ",                   # an unmatched ')'
        "a $tag$ body $tag$": "a ",                      # a dollar quote
        "a $1 + 2;": "a $1 + 2",                         # a '$' that starts nothing
        "x -- comment\ny;": "x -- comment\ny",            # a comment inside the statement
        "x -- no newline": "x ",                          # not a comment: the loop decides
        "x begin y": "x ",                               # a BEGIN word
        "x bEgIn\ty": "x ",
        "x beginning": "x beginning",
        "((((deep)))) end": "",                           # deeper than the pattern follows
        "(/**//*/)": "",                                  # a comment ends at its first "*/"
    }
    for src, consumed in cases.items():
        m = pat.match(src)
        assert m is not None and src[:m.end()] == consumed, (src, src[:m.end()] if m else None)
    assert lex._run_pattern("$$", POSTGRES) is None  # '$' means something else here
    assert lex._run_pattern("$$", MYSQL) is not None


def test_failing_group_does_not_backtrack_exponentially():
    """An unclosed '(' followed by a long text is rejected in linear time (seconds, not ages)."""
    text = "INSERT INTO t VALUES (" + "a, 'b', c " * 20000 + ";\n"
    with pytest.raises(ParseError, match="unclosed '\\('"):
        lex.split_statements(text, POSTGRES)


# Runs of statements between which the splitter takes its bulk path (lex._take_plain): plain
# statements after a newline separator, with the pieces that end or change a run in between.
STATEMENTS = (
    "INSERT INTO t VALUES (1, 'a;b', 'it''s');", "INSERT INTO t VALUES (2, 'x -- y\n-- z', NULL);",
    "UPDATE t SET a = 'b' WHERE (c = ';');", ";", "SELECT 1;", "SELECT '\\';", "SELECT '\\\\';",
    "SELECT \"q;\", `b;`;", "SELECT (((((1)))));", "SELECT 1 /* c; */ + 2;",
    "SELECT 1 -- c;\n + 2;",
    "DELETE FROM t;", "delimiterx;", "SELECT $$a;b$$;", "SELECT $1;", "SELECT E'\\'';",
    "CREATE TRIGGER x BEGIN SELECT 1; END;", "begin;", "BEGIN ATOMIC SELECT 1; END;", "END;",
    "SELECT 'é日\u2028';", "x", "SELECT '\n\n';", "SELECT 1 # c;\n;", "SELECT 'unclosed;",
    "SELECT 1)", "SELECT (1;", "SELECT 1 //", "SELECT 2 ;;", "SELECT 3 $$", "SELECT 4  ;; ",
)
PIECES = (
    "-- c\n", "-- c;\n", "--\n", "# h\n", "/* b */\n", "/* b */", "-- atlas:nolint\n", "\n",
    "DELIMITER //\n", "DELIMITER ;\n", "delimiter ;;\n", "DELIMITER $$\n", "-- c", "  ",
    "\u00a0", "\t",
)
SEPARATORS = ("\n", "\n", "\n", "\n\n", "\r\n", "\r\n\r\n", " ", "\n  ", "", "\n\n\n", "\t\n")
RUN_PREFIXES = ("", "", "\n", "-- atlas:delimiter //\n", "-- atlas:delimiter ;;\n",
                "-- atlas:delimiter $$\n", "-- atlas:delimiter \\n\\n\n", "-- header\n\n")


def _runs(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts = [rng.choice(RUN_PREFIXES)]
        for _ in range(rng.randint(1, 30)):
            if rng.random() < 0.25:
                parts.append(rng.choice(PIECES))
            parts.append(rng.choice(STATEMENTS if rng.random() < 0.9 else TOKENS))
            parts.append(rng.choice(SEPARATORS))
        out.append("".join(parts))
    return out


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_bulk_path_equals_loop_on_runs_of_statements(name):
    differ = _differences(_runs(seed=13 + sum(map(ord, name)), count=1500), OPTIONS[name])
    assert not differ, differ[:3]


@pytest.mark.parametrize("name", ["sqlite", "postgres", "mysql"])
def test_bulk_path_takes_runs_and_their_comments(name):
    """A long run goes through the bulk path (one findall), comments attached as the loop does."""
    text = "".join(f"-- row {i}\n-- more\nINSERT INTO t VALUES ({i}, 'a;\nb');\n" if i % 7 == 0
                   else f"INSERT INTO t VALUES ({i}, 'a;\nb');\n" for i in range(500))
    got = lex._split(text, OPTIONS[name], None, True)
    assert got == lex._split(text, OPTIONS[name], None, False)
    assert len(got) == 500 and got[7].comments == ("-- row 7\n", "-- more\n")
    assert got[7].line == 19 and got[7].col == 1 and got[7].text.startswith("INSERT")
    calls = []
    real = lex._Scanner.stmt

    def spy(self):
        calls.append(self.inp)
        return real(self)

    lex._Scanner.stmt = spy  # type: ignore[method-assign]
    try:
        lex._split(text, OPTIONS[name], None, True)
    finally:
        lex._Scanner.stmt = real  # type: ignore[method-assign]
    assert len(calls) == 2  # the loop scans the first statement and finds the end: one run


def test_statement_keeps_its_api():
    s = lex.split_statements("-- c\nSELECT 1;", SQLITE)[0]
    assert (s.text, s.pos, s.line, s.col, s.comments) == ("SELECT 1;", 5, 2, 1, ("-- c\n",))
    assert s == lex.Statement("SELECT 1;", 5, 2, 1, ("-- c\n",)) and hash(s) == hash(s)
    assert lex.Statement("x", 0, 1, 1).comments == ()
    assert repr(s) == "Statement(text='SELECT 1;', pos=5, line=2, col=1, comments=('-- c\\n',))"
    with pytest.raises(AttributeError):
        s.text = "y"  # type: ignore[misc]
