"""What many ``Migration`` resources of one directory share in one provider process: the lint's
parse cache (``lint/parsed.py``), the statement counts of ``providers/preview``, the directory
cache, and one connection per check. Each file is parsed once per content and dialect in the
process, whatever the policy, the facts or the number of resources; an edited file is parsed
again; threads wait for a parse in progress instead of repeating it; the cache is bounded; a
file that does not split is never cached.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pulumi_migrations_provider import lex, lint
from pulumi_migrations_provider.errors import ParseError
from pulumi_migrations_provider.lint import parsed
from pulumi_migrations_provider.migdir import MigrationDir, MigrationFile
from pulumi_migrations_provider.providers import MigrationProvider, preview
from tests.dirtools import make_dir

# Statements on tables no pending file creates: every one is a finding on PostgreSQL.
FILES = {
    "1_accounts.sql": "ALTER TABLE accounts DROP COLUMN email;\n"
                      "CREATE INDEX accounts_name ON accounts (name);\n",
    "2_orders.sql": "ALTER TABLE orders ALTER COLUMN total SET NOT NULL;\n"
                    "-- atlas:nolint DS103\nALTER TABLE orders DROP COLUMN note;\n",
    "3_users.sql": "CREATE TABLE users (id int PRIMARY KEY);\nDROP TABLE legacy;\n",
}


def _files(files: dict[str, str] = FILES) -> list[MigrationFile]:
    return [MigrationFile(name, text.encode()) for name, text in files.items()]


def _texts(findings: list[lint.Finding]) -> list[str]:
    return [f"{f.severity} {f.text()}" for f in findings]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts ``parse_file`` calls per file name, on an empty cache."""
    counts: Counter[str] = Counter()
    real = parsed.parse_file

    def counting(f: MigrationFile, dialect: str) -> parsed.ParsedFile:
        counts[f.name] += 1
        return real(f, dialect)

    parsed.clear()
    monkeypatch.setattr(parsed, "parse_file", counting)
    yield counts
    parsed.clear()


def test_same_files_are_parsed_once_whatever_the_policy_and_findings_are_unchanged(
        parses: Counter[str]) -> None:
    reference = _texts(lint.analyze(_files(), "postgres"))
    assert parses == Counter(dict.fromkeys(FILES, 1))  # the first analysis parsed each file once
    assert "error DS103" not in " ".join(reference) and any("DS102" in t for t in reference)
    assert not any("orders:" in t and "DS103" in t for t in reference)  # the nolint was read
    for _ in range(3):  # new MigrationFile objects with the same bytes (another resource)
        assert _texts(lint.analyze(_files(), "postgres")) == reference
    quiet = _texts(lint.analyze(_files(), "postgres", policy={"destructive": "off"}))
    assert quiet == [t for t in reference if " DS10" not in t] and quiet != reference
    lint.analyze(_files(), "sqlite")  # another dialect is another parse
    assert parses == Counter({name: 2 for name in FILES})
    parsed.clear()
    assert _texts(lint.analyze(_files(), "postgres")) == reference


def test_an_edited_file_is_parsed_again_and_its_findings_follow(parses: Counter[str]) -> None:
    before = _texts(lint.analyze(_files(), "postgres"))
    edited = dict(FILES, **{"3_users.sql": "CREATE TABLE users (id int PRIMARY KEY);\n"})
    after = _texts(lint.analyze(_files(edited), "postgres"))
    assert parses == Counter({"1_accounts.sql": 1, "2_orders.sql": 1, "3_users.sql": 2})
    assert [t for t in before if "DS102" not in t] == after != before


def test_threads_wait_for_a_parse_in_progress(parses: Counter[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    counting = parsed.parse_file

    def slow(f: MigrationFile, dialect: str) -> parsed.ParsedFile:
        time.sleep(0.05)  # long enough for every thread to ask for the same file meanwhile
        return counting(f, dialect)

    monkeypatch.setattr(parsed, "parse_file", slow)
    start = threading.Barrier(8)
    results: list[list[str]] = []

    def one() -> None:
        start.wait()
        results.append(_texts(lint.analyze(_files(), "postgres")))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert parses == Counter(dict.fromkeys(FILES, 1))
    parsed.clear()
    monkeypatch.setattr(parsed, "parse_file", counting)
    assert results == [_texts(lint.analyze(_files(), "postgres"))] * 8


def test_the_cache_is_bounded_and_a_big_file_is_parsed_each_time(
        parses: Counter[str], monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = [len(t.encode()) for t in FILES.values()]
    monkeypatch.setattr(parsed, "BUDGET", max(sizes) + 1)  # room for one file at a time
    for _ in range(2):
        lint.analyze(_files(), "postgres")
    assert parses == Counter({name: 2 for name in FILES})  # each evicted by the next one
    assert parsed._held <= parsed.BUDGET
    big = MigrationFile("4_big.sql", b"DROP TABLE legacy;\n" * 100)
    for _ in range(2):
        assert [f.code for f in lint.analyze([big], "postgres")] == ["DS102"] * 100
    assert parses["4_big.sql"] == 2


def test_a_file_that_does_not_split_is_not_cached(parses: Counter[str]) -> None:
    broken = [MigrationFile("1_broken.sql", b"SELECT 'unterminated;\n")]
    for _ in range(2):
        with pytest.raises(ParseError):
            lint.analyze(broken, "postgres")
    assert parses["1_broken.sql"] == 2


def _aged(d: Path) -> Path:
    """Files older than the directory cache's racy window (2 s)."""
    old = time.time() - 10
    for f in d.iterdir():
        os.utime(f, (old, old))
    return d


def test_many_resources_of_one_directory_read_it_once_and_parse_each_file_once(
        tmp_path: Path, parses: Counter[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Two Migration resources (two databases) of one directory, through check, diff and
    create: the directory is read once, each file parsed once, and both databases migrate."""
    sql = {"1_init.sql": "CREATE TABLE t (id int);\n",
           "2_more.sql": "ALTER TABLE t ADD COLUMN name text;\nCREATE INDEX t_name ON t (name);\n"}
    d = _aged(make_dir(tmp_path / "dir", sql))
    loads: list[Any] = []
    real_load = MigrationDir.load

    def counting_load(*args: Any, **kwargs: Any) -> MigrationDir:
        loads.append(args)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(MigrationDir, "load", staticmethod(counting_load))
    splits: Counter[str] = Counter()
    real_split = lex.split_statements

    def counting_split(text: str, *args: Any, **kwargs: Any) -> list[lex.Statement]:
        splits[kwargs.get("file") or "?"] += 1
        return real_split(text, *args, **kwargs)

    # the statement counts' splits only (the engine splits what it applies)
    monkeypatch.setattr(preview, "lex", SimpleNamespace(split_statements=counting_split))
    monkeypatch.setattr(preview, "_COUNTS", {})
    provider = MigrationProvider()
    for name in ("a", "b"):
        news = {"url": f"sqlite://{tmp_path}/{name}.db", "dir": str(d)}
        checked = provider.check({}, news)
        assert not checked.failures
        assert provider.diff("", {}, checked.inputs).changes
        outs = provider.create(checked.inputs).outs
        assert outs["applied"] == list(sql) and outs["status"] == "OK"
        again = provider.check(checked.inputs, news)  # the no-op preview after up
        assert not again.failures and again.inputs["__pending"] == []
    assert len(loads) == 1
    assert parses == Counter(dict.fromkeys(sql, 1))
    assert splits == Counter(dict.fromkeys(sql, 1))  # counted once for the four checks


def test_a_check_reads_status_and_live_facts_through_one_connection(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A preview with a pending file on existing tables: the status look and the lint's live
    facts share the check's one connection (the findings carry the table's rows)."""
    from pulumi_migrations_provider.dialects.postgres import PostgresDialect

    d = make_dir(tmp_path / "dir", {"1_init.sql": "CREATE TABLE t (id int);\nINSERT INTO t VALUES (1), (2);\n"})
    provider = MigrationProvider()
    news = {"url": pg_url, "dir": str(d)}
    first = provider.check({}, news)
    provider.create(first.inputs)
    (d / "2_index.sql").write_text("CREATE INDEX t_id ON t (id);\n")
    MigrationDir.load(d).write_sum()
    connects: list[bool] = []
    real = PostgresDialect.connect

    def counting(self: PostgresDialect, *args: Any, **kwargs: Any) -> Any:
        connects.append(bool(kwargs.get("readonly")))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(PostgresDialect, "connect", counting)
    checked = provider.check(first.inputs, news)
    assert not checked.failures and checked.inputs["__pending"] == ["2_index.sql"]
    [finding] = checked.inputs["migrations"]["2_index.sql"]["findings"]
    assert finding.startswith('L1 warning: PG101 Creating index "t_id" non-concurrently')
    assert "(table t: ~2 rows, " in finding or "(table t: 2 rows, " in finding, finding
    assert connects == [True]
