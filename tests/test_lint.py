"""Lint: the corpus per dialect (exact findings, and what Atlas's open analyzers report on it),
live facts on seeded tables of real servers, nolint, the CLI's exit codes and JSON, and the
database behaviour our findings claim (checked on the real servers, not assumed).

The corpus is ``tests/testdata/lint/<dialect>`` (its README says what each file holds).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from pulumi_migrations_provider import engine, lint
from pulumi_migrations_provider.errors import ConfigError
from pulumi_migrations_provider.lint.facts import COUNT_LIMIT
from pulumi_migrations_provider.lint.findings import human_bytes, human_rows
from pulumi_migrations_provider.migdir import MigrationDir, MigrationFile
from pulumi_migrations_provider.reports import Options
from tests import dbtools
from tests.dirtools import make_dir
from tests.paths import TESTDATA
from tests.test_cli import run

CORPUS = TESTDATA / "lint"
DIALECTS = ("postgres", "mysql", "sqlite")
URL_FIXTURE = {"postgres": "pg_url", "mysql": "maria_url", "sqlite": "sqlite_url"}
JSON_KEYS = ["file", "line", "statement", "code", "category", "severity", "message", "table",
             "rows", "bytes"]


def _corpus(dialect: str) -> MigrationDir:
    return MigrationDir.load(CORPUS / dialect / "migrations", unique_versions=False)


def _lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]


def _files(**files: str) -> list[MigrationFile]:
    return [MigrationFile(name, text.encode()) for name, text in files.items()]


def _codes(findings) -> list[tuple[str, int, str]]:
    return [(f.file, f.line, f.code) for f in findings]


# --- the corpus ------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_corpus_static_findings_are_exact(dialect: str) -> None:
    d = _corpus(dialect)
    got = [f"{f.severity.ljust(7)} {f.text()}" for f in lint.analyze(d.files[1:], dialect)]
    assert got == _lines(CORPUS / dialect / "expected.txt")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_corpus_against_atlas(dialect: str) -> None:
    """Every finding Atlas's open analyzers report on the corpus is ours too, unless atlas.txt
    lists it as a deliberate difference ("-", with the reason); every finding of ours with an
    Atlas code is either Atlas's ("=") or a documented difference ("+")."""
    ours = {f.text() for f in lint.analyze(_corpus(dialect).files[1:], dialect)}
    same, missing, extra = set(), set(), set()
    for line in _lines(CORPUS / dialect / "atlas.txt"):
        mark, text = line[0], line[2:]
        if mark in "-+":
            text, sep, why = text.partition(" | ")
            assert sep and why.strip(), f"difference without a reason: {line}"
        {"=": same, "-": missing, "+": extra}[mark].add(text)
    assert same <= ours, sorted(same - ours)
    assert not (missing & ours), sorted(missing & ours)
    assert extra <= ours, sorted(extra - ours)
    undocumented = {t for t in ours - same - extra if lint.CODES[t.split()[1]].atlas}
    assert not undocumented, sorted(undocumented)


def _apply_base(url: str, d: MigrationDir) -> None:
    engine.apply(url, d, Options(to_version="1"))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_corpus_live_facts_on_seeded_tables(dialect: str, request: pytest.FixtureRequest,
                                            tmp_path: Path) -> None:
    """With --url: only the pending files (the revisions table says 1 is applied), findings as
    in expected-live.txt, and each finding on a seeded table carries its live rows and size."""
    url = request.getfixturevalue(URL_FIXTURE[dialect])
    src = CORPUS / dialect / "migrations"
    d = MigrationDir.load(shutil.copytree(src, tmp_path / "m"), unique_versions=False)
    d.write_sum()
    _apply_base(url, d)
    res = run("lint", "--dir", tmp_path / "m", "--url", url, "--format", "json")
    assert res.exit_code == 1, res.output  # destructive findings are errors
    data = json.loads(res.stdout)
    assert "note" not in data, data
    findings = data["findings"]
    assert all(list(f) == JSON_KEYS for f in findings)
    got = [f"{f['severity'].ljust(7)} {f['file']}:{f['line']}: {f['code']} {f['message']}"
           for f in findings]
    assert got == _lines(CORPUS / dialect / "expected-live.txt")
    seeded = {"users": 5000, "orders": 20000, "purchases": 20000, "old_logs": 300 if dialect == "postgres" else 0}
    for f in findings:
        base = {"organizations": "orgs"}.get(f["table"], f["table"])
        if base in seeded and f["rows"] is not None:
            exact = dialect != "mysql"  # InnoDB's TABLE_ROWS is an estimate
            want = seeded[base]
            assert (f["rows"] == want) if exact else (want / 2 <= f["rows"] <= want * 2 + 10), f
            assert f["bytes"] > 0, f
    on_seeded = [f for f in findings if f["table"] in ("users", "purchases", "orders")]
    assert on_seeded and all(f["rows"] is not None for f in on_seeded)
    # the text form names the table's size once per finding
    text = run("lint", "--dir", tmp_path / "m", "--url", url)
    users_line = next(ln for ln in text.stdout.splitlines() if '"users"' in ln and "(table users:" in ln)
    assert "rows" in users_line


# --- nolint as Atlas reads it ----------------------------------------------------------------


def test_nolint_file_and_statement_levels() -> None:
    files = _files(**{
        "1_a.sql": "-- atlas:nolint\n\nDROP TABLE a;\n",
        "2_b.sql": "-- atlas:nolint destructive\n\nDROP TABLE b;\nALTER TABLE b2 RENAME COLUMN x TO y;\n",
        "3_c.sql": "DROP TABLE c;\n-- atlas:nolint DS102 BC101\nDROP TABLE d;\n-- atlas:nolint\nDROP TABLE e;\n"
                   "-- atlas:nolint incompatible\n\nDROP TABLE f;\n#atlas:nolint DS102\nDROP TABLE g;\n",
    })
    got = _codes(lint.analyze(files, "mysql"))
    assert got == [("2_b.sql", 4, "BC102"), ("3_c.sql", 1, "DS102"), ("3_c.sql", 8, "DS102")]


def test_tables_created_by_an_earlier_pending_file_are_new() -> None:
    files = _files(**{
        "1_a.sql": "CREATE TABLE t (id int);\n",
        "2_b.sql": "ALTER TABLE t ADD COLUMN n int NOT NULL;\nCREATE UNIQUE INDEX i ON t (id);\n"
                   "ALTER TABLE t RENAME COLUMN id TO pk;\nCREATE INDEX j ON t (pk);\nDROP TABLE t;\n",
    })
    assert lint.analyze(files, "postgres") == []
    assert _codes(lint.analyze(files[1:], "postgres")) == [
        ("2_b.sql", 1, "MF103"), ("2_b.sql", 2, "MF101"), ("2_b.sql", 2, "PG101"),
        ("2_b.sql", 3, "BC102"), ("2_b.sql", 4, "PG101"), ("2_b.sql", 5, "DS102")]


def test_policy_levels_and_errors() -> None:
    files = _files(**{"1.sql": "DROP TABLE a;\nALTER TABLE b RENAME TO c;\n"})
    assert [f.severity for f in lint.analyze(files, "sqlite")] == ["error", "warning"]
    relaxed = lint.analyze(files, "sqlite", policy={"destructive": "warn", "BC101": "error"})
    assert [f.severity for f in relaxed] == ["warning", "error"]
    assert _codes(lint.analyze(files, "sqlite", policy={"destructive": "off", "DS102": "warn"})) == \
        [("1.sql", 1, "DS102"), ("1.sql", 2, "BC101")]
    with pytest.raises(ConfigError, match="unknown key 'nope'"):
        lint.analyze(files, "sqlite", policy={"nope": "off"})
    with pytest.raises(ConfigError, match="'DS102' is 'loud'"):
        lint.analyze(files, "sqlite", policy={"DS102": "loud"})
    with pytest.raises(ConfigError, match="unknown dialect"):
        lint.analyze(files, "oracle")


def test_human_sizes() -> None:
    assert human_rows(12_400_000) == "~12.4M rows" and human_rows(532) == "~532 rows"
    assert human_bytes(int(3.1 * 2**30)) == "3.1 GB" and human_bytes(48 * 1024) == "48 kB"
    f = lint.Finding("1.sql", 3, "ALTER …", "PM204", "locking", "warning", "rewrites", "orders",
                     12_400_000, int(3.1 * 2**30))
    assert f.text() == "1.sql:3: PM204 rewrites (table orders: ~12.4M rows, 3.1 GB)"
    assert list(f.to_dict()) == JSON_KEYS
