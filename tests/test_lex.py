"""The statement splitter against Atlas's own golden files, error table and semantics tests."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from tests.paths import ATLAS_TESTDATA
from pulumi_migrations_provider import dialects
from pulumi_migrations_provider.errors import ParseError
from pulumi_migrations_provider.lex import (
    ScanOptions,
    Statement,
    split_statements,
    statement_hashes,
)

CONFORMANCE = ATLAS_TESTDATA
# Each dialect's splitter options, as the dialect states them (Dialect.scan_features).
MYSQL, POSTGRES, SQLITE = (dialects.named(n).scan_options for n in ("mysql", "postgres", "sqlite"))
SEPARATOR = "\n-- end --\n"

# Option sets named in tests/testdata/SOURCE.md for each golden folder.
LEX_ALL = ScanOptions(
    match_begin=True,
    match_begin_atomic=True,
    match_dollar_quote=True,
    backslash_escapes=True,
    escaped_string_ext=True,
    hash_comments=True,
)
LEX_PG = LEX_ALL.replace(hash_comments=False)  # "_pg" files: no '#' comments
LEXGROUP = ScanOptions(match_begin=True)
ESCAPED_MY = ScanOptions(backslash_escapes=True)
ESCAPED_PG = ScanOptions(escaped_string_ext=True)
# Atlas's generic Stmts(): what lex_test.go's TestLex_Errors and StmtDecls tests run.
GENERIC = ScanOptions(match_begin_atomic=True, match_dollar_quote=True)


def _golden_cases() -> list:
    cases = []
    for folder in ("lex", "lexgroup", "lexescaped"):
        for sql in sorted((CONFORMANCE / folder).glob("*.sql")):
            if folder == "lex":
                opts = LEX_PG if "_pg" in sql.name else LEX_ALL
            elif folder == "lexgroup":
                opts = LEXGROUP
            else:
                opts = ESCAPED_MY if sql.name == "1.my.sql" else ESCAPED_PG
            cases.append(pytest.param(sql, opts, id=f"{folder}/{sql.name}"))
    return cases


GOLDEN_CASES = _golden_cases()


def texts(src: str, opts: ScanOptions = SQLITE) -> list[str]:
    return [s.text for s in split_statements(src, opts)]


def error_of(src: str, opts: ScanOptions = SQLITE) -> str:
    with pytest.raises(ParseError) as info:
        split_statements(src, opts)
    err = info.value
    return f"{err.line}:{err.col}: {err.reason}"


def test_conformance_data_present():
    assert len(GOLDEN_CASES) == 23


@pytest.mark.parametrize(("sql", "opts"), GOLDEN_CASES)
def test_golden(sql: Path, opts: ScanOptions):
    src = sql.read_bytes().decode("utf-8")
    golden = (sql.parent / (sql.name + ".golden")).read_bytes().decode("utf-8")
    assert SEPARATOR.join(texts(src, opts)) == golden


@pytest.mark.parametrize(
    ("name", "opts", "expected"),
    [
        ("2.pg.sql", ESCAPED_MY, "4:40: unclosed quote '\\''"),
        ("1.my.sql", ESCAPED_PG, "4:42: unclosed quote '\\''"),
    ],
)
def test_lexescaped_errors(name: str, opts: ScanOptions, expected: str):
    src = (CONFORMANCE / "lexescaped" / name).read_bytes().decode("utf-8")
    assert error_of(src, opts) == expected


def test_golden_options_matter():
    """The goldens distinguish option sets (so the parametrized runs above are meaningful)."""
    trigger = (CONFORMANCE / "lexgroup" / "1_trigger.sql").read_text()
    assert SEPARATOR.join(texts(trigger, ScanOptions())) != SEPARATOR.join(texts(trigger, LEXGROUP))
    pg_expr = (CONFORMANCE / "lex" / "18_pg_expr.sql").read_text()
    with pytest.raises(ParseError):  # '#' comments swallow the closing quotes
        split_statements(pg_expr, LEX_ALL)


# lex_test.go TestLex_Errors, run through the generic Stmts() options.
@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("'this quote is unclosed at 1:1", "1:1: unclosed quote '\\''"),
        ("12345'this quote is unclosed at pos 7", "1:6: unclosed quote '\\''"),
        ("unclosed '", "1:10: unclosed quote '\\''"),
        ('"unclosed double', "1:1: unclosed quote '\"'"),
        ('unclosed double at 2:2\n "', "2:2: unclosed quote '\"'"),
        ('unclosed double at 2:2\n\n\n\n1234"', "5:5: unclosed quote '\"'"),
        ("(unclosed parentheses", "1:1: unclosed '('"),
        ("()(unclosed parentheses", "1:3: unclosed '('"),
        ("1234)6789", "1:5: unexpected ')'"),
    ],
    ids=[
        "single-1:1", "single-1:6", "single-eos", "double-1:1", "double-2:2", "double-5:5",
        "paren-1:1", "paren-1:3", "unexpected-paren",
    ],
)
def test_atlas_error_table(src: str, expected: str):
    assert error_of(src, GENERIC) == expected


def test_parse_error_carries_file_and_position():
    with pytest.raises(ParseError) as info:
        split_statements("SELECT 1;\nSELECT `x;\n", MYSQL, file="2_b.sql")
    err = info.value
    assert (err.file, err.line, err.col, err.reason) == ("2_b.sql", 2, 8, "unclosed quote '`'")
    assert "2_b.sql:2:8: unclosed quote '`'" in str(err)


def test_error_column_counts_utf8_bytes_like_atlas():
    # 'é' is two bytes: Atlas reports the quote at byte column 4, not character column 3.
    assert error_of("é 'x", SQLITE) == "1:4: unclosed quote '\\''"


# lex_test.go TestLocalFile_StmtDecls: comments attached to statements and positions.
STMT_DECLS = """cmd0;
-- test
cmd1;

-- hello
-- world
cmd2;

-- skip
-- this
# comment

/* Skip this as well */

# Skip this
/* one */

# command
cmd3;

/* comment1 */
/* comment2 */
cmd4;

--atlas:nolint
-- atlas:nolint destructive
cmd5;

#atlas:lint error
/*atlas:nolint DS101*/
/* atlas:lint not a directive */
/*
atlas:lint not a directive
*/
cmd6;

-- atlas:nolint
cmd7;
"""


def test_statement_comments_and_positions():
    stmts = split_statements(STMT_DECLS, MYSQL)
    assert [s.text for s in stmts] == [f"cmd{i};" for i in range(8)]
    for s in stmts:
        assert s.pos == STMT_DECLS.index(s.text)
        assert STMT_DECLS[s.pos :].startswith(s.text)
        assert s.line == STMT_DECLS.count("\n", 0, s.pos) + 1
        assert s.col == 1
    assert stmts[0].comments == ()
    assert stmts[1].comments == ("-- test\n",)
    assert stmts[2].comments == ("-- hello\n", "-- world\n")
    assert stmts[3].comments == ("# command\n",)
    assert stmts[4].comments == ("/* comment1 */", "/* comment2 */")
    assert stmts[5].comments == ("--atlas:nolint\n", "-- atlas:nolint destructive\n")
    assert stmts[6].comments == (
        "#atlas:lint error\n",
        "/*atlas:nolint DS101*/",
        "/* atlas:lint not a directive */",
        "/*\natlas:lint not a directive\n*/",
    )
    assert stmts[7].comments == ("-- atlas:nolint\n",)


def test_statement_line_and_column():
    src = "-- header\n\n  CREATE TABLE t(a int);  INSERT INTO t VALUES (1);\nSELECT 1"
    stmts = split_statements(src, SQLITE)
    assert stmts == [
        Statement("CREATE TABLE t(a int);", 13, 3, 3),
        Statement("INSERT INTO t VALUES (1);", 37, 3, 27),
        Statement("SELECT 1", 63, 4, 1),
    ]


# --- the atlas:delimiter directive ----------------------------------------------------------


def test_delimiter_directive_splits_and_strips():
    src = "-- atlas:delimiter //\nCREATE TABLE t(a int);\nINSERT INTO t VALUES (1);//\nSELECT 2//"
    stmts = split_statements(src, POSTGRES)
    assert [s.text for s in stmts] == [
        "CREATE TABLE t(a int);\nINSERT INTO t VALUES (1);",
        "SELECT 2",
    ]
    # Positions count from the original text, directive line included.
    assert (stmts[0].pos, stmts[0].line, stmts[0].col) == (22, 2, 1)
    assert stmts[1].line == 4


def test_delimiter_directive_unescapes_newlines_and_tabs():
    assert texts("-- atlas:delimiter \\n\\n\nA;\nB;\n\nC", SQLITE) == ["A;\nB;", "C"]
    assert texts("-- atlas:delimiter \\t|\nA\t|B", SQLITE) == ["A", "B"]
    assert texts("-- atlas:delimiter \\r\\n\\r\\n\nA\r\n\r\nB", SQLITE) == ["A", "B"]


def test_delimiter_directive_only_on_line_one_with_exact_prefix():
    # Not on line 1, or without the space after "--": silently ignored, ';' splits.
    assert texts("-- atlas:txmode none\n-- atlas:delimiter //\nA;//\nB;") == ["A;", "//\nB;"]
    stmts = split_statements("--atlas:delimiter //\nA;B;", SQLITE)
    assert [(s.text, s.comments) for s in stmts] == [
        ("A;", ("--atlas:delimiter //\n",)),
        ("B;", ()),
    ]


def test_delimiter_directive_errors():
    assert error_of("-- atlas:delimiter //", SQLITE) == (
        '1:0: no input found after delimiter "//"'
    )
    with pytest.raises(ParseError) as info:
        split_statements("-- atlas:delimiter\nA;", SQLITE)
    assert info.value.reason == "empty delimiter"
    with pytest.raises(ParseError) as info:
        split_statements("-- atlas:delimiter   \nA;", SQLITE)
    assert info.value.reason == "empty delimiter"


# --- MySQL DELIMITER command ----------------------------------------------------------------


def test_mysql_delimiter_command_in_every_dialect():
    src = (
        "DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;\nCALL p();\n"
    )
    expected = ["CREATE PROCEDURE p() BEGIN SELECT 1; END", "CALL p();"]
    for opts in (MYSQL, SQLITE, ScanOptions()):
        assert texts(src, opts) == expected
    # Quoted form, case-insensitive keyword; 'DELIMITER' not followed by a space is plain SQL.
    assert texts("delimiter '||'\nA||B") == ["A", "B"]
    assert texts("DELIMITERX;") == ["DELIMITERX;"]


def test_mysql_delimiter_command_empty_is_an_error():
    with pytest.raises(ParseError) as info:
        split_statements("SELECT 1;\nDELIMITER  \nSELECT 2;", MYSQL)
    assert (info.value.reason, info.value.line) == ("empty delimiter", 2)


# --- comments, parentheses, quoting, BEGIN blocks ------------------------------------------


def test_final_line_comment_without_newline_is_a_statement():
    assert texts("CREATE TABLE t(a int);\n-- trailing comment") == [
        "CREATE TABLE t(a int);",
        "-- trailing comment",
    ]
    assert texts("CREATE TABLE t(a int);\n-- trailing comment\n") == ["CREATE TABLE t(a int);"]


def test_comment_group_followed_by_blank_line_is_dropped():
    stmts = split_statements("-- a\n\n-- b\nSELECT 1;", SQLITE)
    assert stmts[0].comments == ("-- b\n",)
    assert split_statements("/* a */\n\nSELECT 1;", SQLITE)[0].comments == ()
    assert split_statements("/* a */\nSELECT 1;", SQLITE)[0].comments == ("/* a */",)


def test_semicolon_inside_parentheses_and_quotes_does_not_split():
    assert texts("INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`, (1;2));SELECT 1;") == [
        "INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`, (1;2));",
        "SELECT 1;",
    ]
    assert texts("SELECT 'it''s';SELECT 2;") == ["SELECT 'it''s';", "SELECT 2;"]


def test_backslash_escapes_only_when_enabled():
    src = "SELECT 'a\\'';SELECT 2;"
    assert texts(src, MYSQL) == ["SELECT 'a\\'';", "SELECT 2;"]
    # Without escapes the backslash is plain text and the last quote is left open.
    assert error_of(src, SQLITE) == "1:12: unclosed quote '\\''"


def test_e_strings_do_not_escape_like_atlas():
    # Atlas's E'...' support never triggers: the PG scanner fails on E'it\'s'.
    assert error_of("SELECT E'it\\'s';", POSTGRES) == "1:15: unclosed quote '\\''"


def test_hash_comments_only_for_mysql():
    src = "# note\nSELECT 1;\nSELECT a #> 'x';\nSELECT 2;"
    # MySQL: the '#' inside the statement comments out its ';' up to the newline.
    assert texts(src, MYSQL) == ["SELECT 1;", "SELECT a #> 'x';\nSELECT 2;"]
    assert split_statements(src, MYSQL)[0].comments == ("# note\n",)
    assert texts(src, POSTGRES) == ["# note\nSELECT 1;", "SELECT a #> 'x';", "SELECT 2;"]


def test_begin_end_grouping_per_dialect():
    src = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE b SET c = 1;\nEND;\nSELECT 1;"
    grouped = ["CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE b SET c = 1;\nEND;", "SELECT 1;"]
    assert texts(src, SQLITE) == grouped
    assert texts(src, MYSQL) == grouped
    # Atlas's generic scanner has no MatchBegin: the trigger body is split.
    assert len(texts(src, GENERIC)) == 3
    # Transaction BEGIN; is not a block; END IF; does not close one.
    assert texts("BEGIN;\nSELECT 1;\nCOMMIT;", SQLITE) == ["BEGIN;", "SELECT 1;", "COMMIT;"]
    nested = "CREATE PROCEDURE p() BEGIN IF x THEN SELECT 1; END IF; END;\nSELECT 2;"
    assert texts(nested, MYSQL) == [nested.split("\n")[0], "SELECT 2;"]


def test_begin_without_end_is_abandoned():
    assert texts("SELECT begin FROM t;\nSELECT 2;", SQLITE) == ["SELECT begin FROM t;", "SELECT 2;"]


def test_many_begin_words_without_end():
    """Each "begin" nests a scan to the end of the file (as in Atlas): no recursion error."""
    src = "".join(f"UPDATE t SET x = {i} WHERE begin > 3;\n" for i in range(3000))
    stmts = split_statements(src, MYSQL)
    assert len(stmts) == 3000
    assert stmts[-1].text == "UPDATE t SET x = 2999 WHERE begin > 3;"
    assert stmts[-1].line == 3000


def test_begin_atomic_postgres():
    src = (
        "CREATE FUNCTION f() RETURNS int LANGUAGE SQL\nBEGIN ATOMIC\n"
        "  SELECT 1;\n  SELECT 2;\nEND;\nSELECT 3;"
    )
    assert texts(src, POSTGRES) == [src.rsplit("\n", 1)[0], "SELECT 3;"]


def test_dollar_quotes_postgres_only():
    src = "CREATE FUNCTION f() AS $body$ SELECT 1; $body$ LANGUAGE sql;\nSELECT 2;"
    assert texts(src, POSTGRES) == [src.split("\n")[0], "SELECT 2;"]
    assert len(texts(src, SQLITE)) == 3


def test_empty_and_comment_only_inputs():
    assert split_statements("", SQLITE) == []
    assert split_statements("  \n\t\n", SQLITE) == []
    assert split_statements("-- only a comment\n\n/* and another */\n", SQLITE) == []


def test_dialect_presets():
    assert dialects.named("mariadb").scan_options is MYSQL
    assert dialects.named("postgresql").scan_options is POSTGRES is dialects.named("postgres").scan_options
    assert MYSQL == ScanOptions(match_begin=True, backslash_escapes=True, hash_comments=True,
                                executable_comments=True)  # ours: refused at a statement head
    assert POSTGRES == ScanOptions(
        match_begin=True, match_begin_atomic=True, match_dollar_quote=True, escaped_string_ext=True
    )
    assert SQLITE == ScanOptions(match_begin=True)


# --- partial hashes --------------------------------------------------------------------------


def test_statement_hashes_are_chained():
    stmts = ["CREATE TABLE t(a int);", "INSERT INTO t VALUES (1);"]
    first = base64.b64encode(hashlib.sha256(stmts[0].encode()).digest()).decode()
    both = base64.b64encode(hashlib.sha256("".join(stmts).encode()).digest()).decode()
    assert statement_hashes(stmts) == ["h1:" + first, "h1:" + both]
    assert statement_hashes(stmts[:1]) == ["h1:" + first]
    assert statement_hashes([]) == []


def test_statement_hashes_known_values():
    # SHA-256("CREATE TABLE t(a int);") and SHA-256("CREATE TABLE t(a int);SELECT 1;"),
    # standard base64 with padding (computed independently with coreutils sha256sum | base64).
    assert statement_hashes(["CREATE TABLE t(a int);", "SELECT 1;"]) == KNOWN_HASHES


KNOWN_HASHES = [
    "h1:mLHu1EvMNNNlmAS587mlh95FIJ+LdJCCFsHpM1Oiq1w=",
    "h1:uhq10D0uMjg52DacrFJzPrCXSxGdL0Zpsi7cEz83KiM=",
]


def test_statement_hashes_feed_utf8():
    assert statement_hashes(["é"]) == ["h1:SplVfkAzw1Od4utlRyAXytX5VX96BiWgnxw/biumnEw="]


@pytest.mark.parametrize("src, options, line, col, reason", [
    ("CREATE TABLE b (id INT);\n/* never closed\nCREATE TABLE c (id INT);\n", SQLITE, 2, 1,
     "unclosed comment '/*'"),
    ("SELECT 1;\n  /* open", MYSQL, 2, 3, "unclosed comment '/*'"),
    ("CREATE TABLE b (id INT);\nSELECT $$ never closed;\n", POSTGRES, 2, 8, "unclosed dollar quote $$"),
    ("SELECT 1;\nSELECT $body$ x;\n", POSTGRES, 2, 8, "unclosed dollar quote $body$"),
], ids=["comment-swallows-sql", "comment-at-end", "dollar", "tagged-dollar"])
def test_unclosed_comment_or_dollar_quote_is_an_error(src: str, options: object, line: int, col: int,
                                                      reason: str) -> None:
    """Better than Atlas: it carries on past an unclosed ``/*`` or ``$$`` and sends the rest of
    the file as one statement (SQLite then silently drops the statements inside the comment)."""
    with pytest.raises(ParseError) as info:
        split_statements(src, options, file="2_b.sql")  # type: ignore[arg-type]
    assert (info.value.line, info.value.col, info.value.reason) == (line, col, reason)


def test_line_comment_at_end_without_newline_is_still_a_statement() -> None:
    """Atlas's quirk is kept: only ``/*`` must be closed; a final ``--`` line is text."""
    assert [s.text for s in split_statements("SELECT 1;\n-- tail", SQLITE)] == ["SELECT 1;", "-- tail"]
