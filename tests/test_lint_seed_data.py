"""Lint on seed-data files: a plain ``INSERT … VALUES`` is parsed from its head only.

No analyzer reads the rows of an ``INSERT … VALUES`` (only the table it names), so
``lint/parsed.py`` parses such a statement as its head plus one row of NULL, once per distinct
head in a file. A 10 MB seed file took ~21 s to lint (sqlglot parsing every literal), which
``status``, ``apply --dry-run`` and every ``pulumi preview`` paid. The findings must be the
same as with the full parse, on every dialect.
"""

from __future__ import annotations

from collections import Counter

import pytest

from pulumi_migrations_provider import lint
from pulumi_migrations_provider.lint import parsed
from pulumi_migrations_provider.migdir import MigrationFile

ROWS = ",\n  ".join(f"({i}, 'it''s; -- {i}', NULL)" for i in range(200))
SEED = (
    "CREATE TABLE items (id int PRIMARY KEY, name varchar(50), note text);\n"
    + "".join(f"INSERT INTO items (id, name, note) VALUES\n  {ROWS};\n" for _ in range(30))
    + "ALTER TABLE users DROP COLUMN email;\n"
    + "INSERT INTO users (id, name) VALUES (1, 'a');\n"
    + "UPDATE users SET nick = '' WHERE nick IS NULL;\n"
    + "ALTER TABLE users ADD COLUMN nick2 varchar(9) NOT NULL;\n"
)
# The SQLite rebuild reads its INSERT … SELECT: that one is never stubbed.
REBUILD = (
    "CREATE TABLE new_users (id integer PRIMARY KEY, name text NOT NULL);\n"
    "INSERT INTO new_users (id, name) VALUES (0, 'seed');\n"
    "INSERT INTO new_users (id, name) SELECT id, name FROM users;\n"
    "DROP TABLE users;\n"
    "ALTER TABLE new_users RENAME TO users;\n"
)


def _texts(files: dict[str, str], dialect: str) -> list[str]:
    parsed.clear()
    found = lint.analyze([MigrationFile(n, t.encode()) for n, t in files.items()], dialect)
    return [f"{f.severity} {f.file}:{f.line} {f.text()}" for f in found]


@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "mysql"])
@pytest.mark.parametrize("files", [{"1_seed.sql": SEED}, {"1_rebuild.sql": REBUILD}],
                         ids=["seed", "rebuild"])
def test_findings_are_those_of_the_full_parse(dialect: str, files: dict[str, str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    stubbed = _texts(files, dialect)
    monkeypatch.setattr(parsed, "_parse_text", lambda text: text)
    assert stubbed == _texts(files, dialect)
    assert stubbed, "the scenario must produce findings"


@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "mysql"])
def test_a_seed_files_inserts_are_parsed_once_per_head(dialect: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    seen: Counter[str] = Counter()
    real = parsed._sqlglot

    def counting(text: str, read: str) -> object:
        seen[text] += 1
        return real(text, read)

    monkeypatch.setattr(parsed, "_sqlglot", counting)
    _texts({"1_seed.sql": SEED}, dialect)
    inserts = {t: n for t, n in seen.items() if t.lstrip().upper().startswith("INSERT")}
    assert sum(inserts.values()) == 2  # 30 INSERTs into items share one head; users has its own
    assert all(t.endswith("VALUES\n  (NULL)") or t.endswith("VALUES (NULL)") for t in inserts)


@pytest.mark.parametrize("text,stub", [
    ("INSERT INTO t (a, b) VALUES (1, 'x;y'), (2, ')')", "INSERT INTO t (a, b) VALUES (NULL)"),
    ('insert into "My T" values(1)', 'insert into "My T" values(NULL)'),
    ("INSERT IGNORE INTO `s`.`t` (`a`) VALUES (1)", "INSERT IGNORE INTO `s`.`t` (`a`) VALUES (NULL)"),
    ("INSERT OR REPLACE INTO t VALUES (1)", "INSERT OR REPLACE INTO t VALUES (NULL)"),
    ("INSERT INTO t SELECT * FROM u", None),
    ("INSERT INTO t DEFAULT VALUES", None),
    ("INSERT INTO t (a, (b)) VALUES (1)", None),
    ("WITH x AS (SELECT 1) INSERT INTO t VALUES (1)", None),
    ("UPDATE t SET a = 1", None),
])
def test_which_statements_are_stubbed(text: str, stub: str | None) -> None:
    assert parsed._parse_text(text) == (text if stub is None else stub)
