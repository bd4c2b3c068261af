"""A statement failing midway, then fixed and resumed, on every dialect and tx mode.

Also: editing statements that already ran (HistoryChangedError), resuming a file that now has
more (or fewer) statements, and editing a fully applied file (AppliedFileChangedError).
Everything runs against real databases; the revisions table is read with the raw drivers.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi_migrations_provider import engine
from pulumi_migrations_provider.errors import (
    AppliedFileChangedError,
    HistoryChangedError,
    StatementError,
)
from pulumi_migrations_provider.events import Event, FileStarted
from pulumi_migrations_provider.migdir import MigrationDir
from pulumi_migrations_provider.reports import Options

from tests.dirtools import make_dir
from tests.helpers import dbcheck

FILE1 = "CREATE TABLE t1 (id INT PRIMARY KEY);\n"
STMT1 = "CREATE TABLE t2a (id INT PRIMARY KEY);\n"
BROKEN = "INSERT INTO missing_table (id) VALUES (1);\n"
FIXED = "CREATE TABLE t2b (id INT PRIMARY KEY);\n"
STMT3 = "CREATE TABLE t2c (id INT PRIMARY KEY);\n"
FILE3 = "CREATE TABLE t3 (id INT PRIMARY KEY);\n"
DIRECTIVE = "-- atlas:txmode none\n\n"

MODES = ["file", "all", "none", "directive"]


def _file2(mode: str, *stmts: str) -> str:
    return (DIRECTIVE if mode == "directive" else "") + "".join(stmts)


def _write(d: Path, name: str, content: str) -> None:
    """Rewrite one file and re-hash the directory, as a user fixing a file would."""
    (d / name).write_text(content)
    MigrationDir.load(d).write_sum()


def _options(mode: str, **kw: object) -> Options:
    return Options(tx_mode="file" if mode == "directive" else mode, **kw)  # type: ignore[arg-type]


def _fail_file2(tmp_path: Path, url: str, mode: str) -> tuple[Path, StatementError]:
    """Apply files 1..3 where file 2's second statement fails; return the dir and the error."""
    d = make_dir(tmp_path, {"1_init.sql": FILE1, "2_second.sql": _file2(mode, STMT1, BROKEN, STMT3),
                            "3_third.sql": FILE3})
    with pytest.raises(StatementError) as info:
        engine.apply(url, d, _options(mode))
    return d, info.value


@pytest.mark.parametrize("mode", MODES)
def test_statement_fails_midway_then_resumes(db_url: str, tmp_path: Path, mode: str) -> None:
    dialect = dbcheck.dialect_of(db_url)
    transactional = dialect != "mysql"
    kept = not transactional or mode in ("none", "directive")   # statement 1's effect survives
    file1_kept = not (transactional and mode == "all")

    d, err = _fail_file2(tmp_path, db_url, mode)

    # The error: where, what, one line.
    line = 4 if mode == "directive" else 2
    where = (err.file, err.version, err.index, err.line, err.col)
    assert where == ("2_second.sql", "2", 2, line, 1)
    assert "missing_table" in err.db_error
    assert "missing_table" in err.statement
    msg = str(err)
    assert "\n" not in msg
    assert f"2_second.sql:{line}:1" in msg and "missing_table" in msg

    # What the database kept.
    assert dbcheck.has_table(db_url, "t1") is file1_kept
    assert dbcheck.has_table(db_url, "t2a") is kept
    assert not dbcheck.has_table(db_url, "t2c")
    assert not dbcheck.has_table(db_url, "t3")
    rows = dbcheck.revisions(db_url)
    if not file1_kept:
        assert rows == {}, "tx-mode all must roll back every file and its revision row"
    else:
        assert rows["1"].applied == rows["1"].total == 1
        if kept:
            row = rows["2"]
            assert row.total == 3
            assert row.error and "missing_table" in row.error, row
            assert row.error_stmt and "missing_table" in row.error_stmt
            assert row.applied == 1
            hashes = row.partial_hashes
            assert hashes is not None and len(hashes) == 1 and hashes[0].startswith("h1:")
        else:  # the row rolled back with the file, as Atlas's does
            assert "2" not in rows, rows
        assert "3" not in rows

    # What status says about it (reads only).
    st = engine.status(db_url, d, _options(mode))
    if file1_kept and kept:
        assert st.partial is True
        assert (st.applied_statements, st.total_statements) == (1, 3)
        assert st.error and "missing_table" in st.error
        assert st.error_statement and "missing_table" in st.error_statement
        assert st.pending == ["2_second.sql", "3_third.sql"]
    elif file1_kept:  # a rolled-back failure ran nothing and left nothing
        assert st.partial is False and st.error is None and st.current_version == "1"
        assert st.pending == ["2_second.sql", "3_third.sql"]
    else:
        assert st.pending == ["1_init.sql", "2_second.sql", "3_third.sql"]
        assert st.partial is False
    assert st.status == "PENDING"

    # Fix statement 2 and apply again: resumes where it stopped (re-running statement 1, a
    # CREATE TABLE, would fail where its effect was kept).
    _write(d, "2_second.sql", _file2(mode, STMT1, FIXED, STMT3))
    events: list[Event] = []
    report = engine.apply(db_url, d, _options(mode), logger=events.append)
    expected = (["2_second.sql", "3_third.sql"] if file1_kept
                else ["1_init.sql", "2_second.sql", "3_third.sql"])
    assert report.applied == expected
    assert report.current_version == "3" and report.pending == []
    started = {e.file: e.resume_from for e in events if isinstance(e, FileStarted)}
    assert started["2_second.sql"] == (1 if kept else 0)

    for table in ("t1", "t2a", "t2b", "t2c", "t3"):
        assert dbcheck.has_table(db_url, table), table
    rows = dbcheck.revisions(db_url)
    assert sorted(rows) == ["1", "2", "3"]
    for version, total in (("1", 1), ("2", 3), ("3", 1)):
        row = rows[version]
        assert (row.applied, row.total) == (total, total), version
        assert row.error == "" and row.error_stmt == "", version
        assert row.partial_hashes_text == "null", version
    st = engine.status(db_url, d, _options(mode))
    assert st.status == "OK" and st.partial is False and st.error is None


def test_history_changed_after_partial_failure(db_url: str, tmp_path: Path) -> None:
    d, _ = _fail_file2(tmp_path, db_url, "none")
    before = dbcheck.revisions(db_url)
    assert before["2"].applied == 1

    # Statement 1 already ran; editing it (while also fixing statement 2) must be refused.
    _write(d, "2_second.sql", "CREATE TABLE t2a_renamed (id INT PRIMARY KEY);\n" + FIXED + STMT3)
    with pytest.raises(HistoryChangedError) as info:
        engine.apply(db_url, d, Options(tx_mode="none"))
    msg = str(info.value)
    assert "2_second.sql" in msg and "statement 1" in msg and "\n" not in msg

    for table in ("t2a_renamed", "t2b", "t2c", "t3"):
        assert not dbcheck.has_table(db_url, table), f"{table} must not have been created"
    assert dbcheck.revisions(db_url) == before

    # Restoring statement 1 lets it resume.
    _write(d, "2_second.sql", STMT1 + FIXED + STMT3)
    report = engine.apply(db_url, d, Options(tx_mode="none"))
    assert report.applied == ["2_second.sql", "3_third.sql"]


@pytest.mark.parametrize("new_tail, total", [
    pytest.param([FIXED, "CREATE TABLE t2b2 (id INT PRIMARY KEY);\n", STMT3,
                  "CREATE TABLE t2d (id INT PRIMARY KEY);\n"], 5, id="more"),
    pytest.param([FIXED], 2, id="fewer"),
])
def test_resume_with_changed_statement_count(db_url: str, tmp_path: Path, new_tail: list[str],
                                             total: int) -> None:
    """Better than Atlas: the row's total follows the fixed file (never applied > total)."""
    d, _ = _fail_file2(tmp_path, db_url, "none")
    _write(d, "2_second.sql", STMT1 + "".join(new_tail))
    report = engine.apply(db_url, d, Options(tx_mode="none"))
    assert report.applied == ["2_second.sql", "3_third.sql"]
    row = dbcheck.revisions(db_url)["2"]
    assert (row.applied, row.total) == (total, total)
    assert row.error == "" and row.partial_hashes_text == "null"
    st = engine.status(db_url, d)
    assert st.status == "OK" and st.partial is False and st.pending == []
    for table in ("t2a", "t2b", "t3"):
        assert dbcheck.has_table(db_url, table)


@pytest.mark.parametrize("edited", ["1_init.sql", "2_second.sql"])
def test_applied_file_changed(db_url: str, tmp_path: Path, edited: str) -> None:
    d = make_dir(tmp_path, {"1_init.sql": FILE1, "2_second.sql": STMT1})
    engine.apply(db_url, d)
    before = dbcheck.revisions(db_url)

    text = (d / edited).read_text()
    _write(d, edited, text.replace("id INT PRIMARY KEY", "id INT PRIMARY KEY, x INT"))
    _write(d, "3_third.sql", FILE3)

    for call in (lambda: engine.status(db_url, d), lambda: engine.apply(db_url, d)):
        with pytest.raises(AppliedFileChangedError) as info:
            call()
        assert info.value.files == [edited]
        assert edited in str(info.value) and "\n" not in str(info.value)
    assert not dbcheck.has_table(db_url, "t3")
    assert dbcheck.revisions(db_url) == before

    allow = Options(allow_changed=True)
    assert engine.status(db_url, d, allow).pending == ["3_third.sql"]
    assert engine.apply(db_url, d, allow).applied == ["3_third.sql"]
    assert dbcheck.has_table(db_url, "t3")
