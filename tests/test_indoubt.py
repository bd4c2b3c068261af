"""``indoubt``: which statements can share a transaction with their progress row, and whether an
interrupted one took effect, read from the real catalogs of MariaDB and PostgreSQL (a statement
is "not done" before it runs and "done" right after)."""

from __future__ import annotations

import pytest

from pulumi_migrations_provider import indoubt
from pulumi_migrations_provider.dialects import for_target, named
from pulumi_migrations_provider.target import Target

from tests.conftest import _fresh_name

CLASSES = [
    # (dialect, statement, class)
    ("mysql", "INSERT INTO t VALUES (1);", indoubt.TX),
    ("mysql", "update t set a = 1;", indoubt.TX),
    ("mysql", "CREATE TABLE t (a INT);", indoubt.DOUBT),
    ("mysql", "ALTER TABLE t ADD COLUMN b INT;", indoubt.DOUBT),
    ("mysql", "CREATE TABLE IF NOT EXISTS t (a INT);", indoubt.REPEATABLE),
    ("mysql", "DROP TABLE IF EXISTS t;", indoubt.REPEATABLE),
    ("mysql", "CREATE OR REPLACE VIEW v AS SELECT 1;", indoubt.REPEATABLE),
    ("mysql", "SET NAMES utf8mb4;", indoubt.REPEATABLE),
    ("mysql", "START TRANSACTION;", indoubt.DOUBT),
    ("mysql", "/* why */ INSERT INTO t VALUES (1);", indoubt.TX),
    ("postgresql", "CREATE TABLE t (a int);", indoubt.TX),
    ("postgresql", "CREATE INDEX CONCURRENTLY i ON t (a);", indoubt.DOUBT),
    ("postgresql", "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);", indoubt.DOUBT),
    ("postgresql", "DROP INDEX CONCURRENTLY i;", indoubt.DOUBT),
    ("postgresql", "VACUUM ANALYZE t;", indoubt.REPEATABLE),
    ("postgresql", "CREATE DATABASE other;", indoubt.DOUBT),
    ("postgresql", "DROP DATABASE IF EXISTS other;", indoubt.REPEATABLE),
    ("postgresql", "COMMIT;", indoubt.DOUBT),
    ("sqlite", "CREATE TABLE t (a int);", indoubt.TX),
    ("sqlite", "PRAGMA foreign_keys = off;", indoubt.REPEATABLE),
    ("sqlite", "VACUUM;", indoubt.REPEATABLE),
    ("sqlite", "BEGIN;", indoubt.DOUBT),
]


@pytest.mark.parametrize("dialect, statement, expected", CLASSES)
def test_statement_classes(dialect: str, statement: str, expected: str) -> None:
    assert indoubt.classify(named(dialect), statement) == expected


# Pieces a statement's first words are made of, the awkward ones included: quotes, comments,
# digits, dots, non-ASCII letters and spaces, the end of the text right after a word.
_HEAD_PIECES = ["INSERT", "into", "t1", "_x", "a$b", "Zürich", "(", ")", ",", ";", ".", "=", "*",
                " ", "\n", "\t", "\r", "\f", "\u00a0", "-- c\n", "--", "/* b */", "'s'", "'it''s'",
                "`q`", '"d"', "1", "2.5", "-", "/", "é", "SELECT", "COMMIT", "BEGIN", "x1"]


def test_head_fast_path_reads_the_words_tokens_does() -> None:
    """``head`` reads plain words without ``tokens``; on any text both must give the same."""
    import random

    rng = random.Random(13)

    def slow(text: str) -> tuple[str, ...]:
        return tuple("" if t.quoted else t.word for t in indoubt.tokens(text, limit=8))

    cases = ["INSERT INTO seed_items (id, name, note, qty, price) VALUES\n  (1, 'a', NULL, 1, 2.00);",
             "-- batch ending at 50; note\nINSERT INTO t (a) VALUES (1);", "COMMIT", "  update t set a=1;"]
    cases += ["".join(rng.choice(_HEAD_PIECES) for _ in range(rng.randint(0, 14))) for _ in range(20_000)]
    for text in cases:
        for n in (1, 3, 8):
            assert indoubt.head(text, n) == slow(text)[:n], (text, n)


def test_head_of_a_text_starting_like_the_last_one() -> None:
    """``head`` reuses the last plain match for a text that starts with the characters it read
    (a seed file's INSERTs): texts extending, cutting or changing the last one right after
    that point give what ``tokens`` gives."""
    import random

    rng = random.Random(14)

    def slow(text: str, n: int) -> tuple[str, ...]:
        return tuple("" if t.quoted else t.word for t in indoubt.tokens(text, limit=n))[:n]

    def piece() -> str:
        return "".join(rng.choice(_HEAD_PIECES) for _ in range(rng.randint(0, 4)))

    for _ in range(6_000):
        base = "".join(rng.choice(_HEAD_PIECES) for _ in range(rng.randint(0, 14)))
        n = rng.choice((1, 3, 8))
        cut = rng.randint(0, len(base))
        for text in (base + piece(), base[:cut] + piece(), base[:cut]):
            assert indoubt.head(base, n) == slow(base, n), base
            assert indoubt.head(text, n) == slow(text, n), (base, text, n)


def _conn(url: str):  # noqa: ANN202 - the engine's Connection
    t = Target.parse(url)
    conn = for_target(t).connect(t, timeout=10)
    assert conn is not None
    return conn


MARIADB_STEPS = [
    "CREATE TABLE t (a INT, old INT);",
    "CREATE INDEX ix_a ON t (a);",
    "ALTER TABLE t ADD COLUMN b INT, ADD INDEX ix_b (b);",
    "ALTER TABLE t DROP COLUMN old;",
    "ALTER TABLE t RENAME COLUMN b TO c;",
    "CREATE VIEW v AS SELECT a FROM t;",
    "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1;",
    "CREATE PROCEDURE p() SELECT 1;",
    # online DDL options (audit of issue 8: these made the statement uncheckable)
    "ALTER TABLE t ADD COLUMN d INT, ALGORITHM=COPY;",
    "ALTER TABLE t ADD COLUMN e INT, ALGORITHM = INPLACE, LOCK = NONE;",
    "ALTER TABLE t LOCK=SHARED, DROP COLUMN e;",
    "ALTER ONLINE TABLE t ADD COLUMN f INT;",
    "ALTER TABLE t WAIT 5 ADD INDEX ix_d (d);",
    "DROP INDEX ix_a ON t;",
    "ALTER TABLE t RENAME TO t2;",
    "RENAME TABLE t2 TO t3;",
    "CREATE TABLE `{other}`.`Odd Name` (a INT);",
    "DROP TABLE `{other}`.`Odd Name`;",
]


def test_mariadb_catalog_tells_done_from_not_done(maria_url: str, maria_server) -> None:  # noqa: ANN001
    other = _fresh_name()
    maria_server.create_database(other)
    conn = _conn(maria_url)
    try:
        for statement in (step.replace("{other}", other) for step in MARIADB_STEPS):
            assert indoubt.took_effect(conn, statement) is False, statement
            conn.execute(statement).close()
            assert indoubt.took_effect(conn, statement) is True, statement
        assert indoubt.took_effect(conn, "ALTER TABLE t3 MODIFY a BIGINT;") is None
        assert indoubt.took_effect(conn, "CALL p();") is None
    finally:
        conn.close()


def test_postgres_catalog_tells_done_from_not_done(pg_url: str) -> None:
    conn = _conn(pg_url)
    try:
        for statement in ["CREATE TABLE \"T\" (a int);",
                          "CREATE INDEX CONCURRENTLY ix_a ON \"T\" (a);",
                          "ALTER TABLE \"T\" ADD COLUMN b int;",
                          "DROP INDEX CONCURRENTLY ix_a;"]:
            assert indoubt.took_effect(conn, statement) is False, statement
            conn.execute(statement).close()
            assert indoubt.took_effect(conn, statement) is True, statement
    finally:
        conn.close()
