"""Interop with Atlas on SQLite, PostgreSQL 15 and MariaDB 10.11, both directions, after failures too.

Atlas's part is played by ``tests/atlas_player.py`` (Atlas v1.2.3's executor as its source says) and,
where an ``atlas`` binary is installed (``ATLAS_BIN`` or PATH), by that binary too: every test
taking the ``atlas`` fixture runs once per variant; the binary variant skips when there is none.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from pulumi_migrations_provider import engine
from pulumi_migrations_provider.dialects import for_target
from pulumi_migrations_provider.errors import AppliedFileChangedError, LockError, StatementError
from pulumi_migrations_provider.migdir import MigrationDir
from pulumi_migrations_provider.reports import Options
from pulumi_migrations_provider.target import Target

from tests.atlas_player import OPERATOR, BinaryAtlas, PlayedAtlas, atlas_binary, sum_file
from tests.dirtools import make_dir
from tests.helpers import dbcheck
from tests.paths import ATLAS_TESTDATA


@pytest.fixture(params=["played", "binary"])
def atlas(request: pytest.FixtureRequest) -> PlayedAtlas | BinaryAtlas:
    if request.param == "played":
        return PlayedAtlas()
    binary = atlas_binary()
    if binary is None:
        pytest.skip("no atlas binary (set ATLAS_BIN or put atlas on PATH; it cannot be installed "
                    "here): the played Atlas covers this scenario")
    return BinaryAtlas(binary)


def files(n: int) -> dict[str, str]:
    """``n`` >= 2 files; file 2 has three statements (a string with ';' and a comment inside)."""
    out = {"1_init.sql": "CREATE TABLE t1 (id INT PRIMARY KEY, name VARCHAR(20));\n",
           "2_more.sql": ("CREATE TABLE t2a (id INT);\n"
                          "-- a comment; with a semicolon\nINSERT INTO t1 (id, name) VALUES (1, 'a;b');\n"
                          "CREATE TABLE t2c (id INT);\n")}
    for i in range(3, n + 1):
        out[f"{i}_t{i}.sql"] = f"CREATE TABLE t{i} (id INT);\n"
    return out


def write(d: Path, name: str, text: str) -> None:
    (d / name).write_text(text)
    MigrationDir.load(d, unique_versions=False).write_sum()


def our_status(url: str, d: Path):
    return engine.status(url, d)


def assert_agree(url: str, d: Path, atlas) -> None:
    """Both tools read the same state: current version, pending files, OK/PENDING."""
    ours, theirs = our_status(url, d), atlas.status(url, d)
    assert (ours.current_version or "", ours.pending, ours.status) == (
        theirs.current, theirs.pending, theirs.status), (ours, theirs)


# --- atlas.sum ----------------------------------------------------------------------------------

TRICKY = {
    "10_x.sql": "CREATE TABLE x (id INT);\n",
    "1_a_b.sql": "SELECT 1;",                              # no final newline
    "2 space_name.sql": "SELECT 2;\r\nSELECT 3;\r\n",      # CRLF, hashed raw
    "9_y.sql": "-- atlas:sum ignore\nSELECT 9;\n",          # name feeds the chain, content not
    ".hidden.sql": "SELECT 0;\n",
    "20230316085611.sql": "",                               # empty file
    "3_ünï.sql": "SELECT 'ü';\n",
    "X.SQL": "not a migration",                             # wrong case: ignored
    "notes.txt": "ignored",
}


def test_atlas_sum_is_byte_identical_on_tricky_directories(tmp_path: Path, atlas) -> None:
    dirs = [make_dir(tmp_path, TRICKY, name="tricky", with_sum=False)]
    (dirs[0] / "sub").mkdir()
    (dirs[0] / "sub" / "5_x.sql").write_text("SELECT 5;\n")   # no recursion
    for src in sorted(p.parent for p in ATLAS_TESTDATA.rglob("atlas.sum")):
        dirs.append(Path(shutil.copytree(src, tmp_path / f"copy-{len(dirs)}")))
    for d in dirs:
        stored = (d / "atlas.sum").read_bytes() if (d / "atlas.sum").exists() else None
        ours = MigrationDir.load(d, unique_versions=False).write_sum()
        if isinstance(atlas, BinaryAtlas):
            (d / "atlas.sum").unlink()
            atlas._run("migrate", "hash", "--dir", f"file://{d}")
            theirs = (d / "atlas.sum").read_bytes()
        else:
            theirs = sum_file(d).encode()
        assert ours == theirs, d.name
        if stored is not None:  # Atlas's own sums in its repository
            assert ours == stored, d.name


# --- continuing each other's work ------------------------------------------------------------------


def test_atlas_applies_some_and_we_continue(db_url: str, tmp_path: Path, atlas) -> None:
    d = make_dir(tmp_path, files(4))
    assert atlas.apply(db_url, d, 2).exit_code == 0
    assert_agree(db_url, d, atlas)
    st = our_status(db_url, d)
    assert (st.current_version, st.executed, st.pending) == ("2", 2, ["3_t3.sql", "4_t4.sql"])
    assert engine.apply(db_url, d).applied == ["3_t3.sql", "4_t4.sql"]
    assert_agree(db_url, d, atlas)
    assert atlas.status(db_url, d).status == "OK"
    assert atlas.apply(db_url, d).exit_code == 0  # nothing to do, no error


def test_we_apply_some_and_atlas_continues(db_url: str, tmp_path: Path, atlas) -> None:
    d = make_dir(tmp_path, files(4))
    engine.apply(db_url, d, Options(amount=2))
    assert_agree(db_url, d, atlas)
    assert atlas.status(db_url, d).pending == ["3_t3.sql", "4_t4.sql"]
    assert atlas.apply(db_url, d).exit_code == 0
    assert_agree(db_url, d, atlas)
    assert our_status(db_url, d).status == "OK"
    assert all(dbcheck.has_table(db_url, t) for t in ("t1", "t2a", "t2c", "t3", "t4"))


@pytest.mark.parametrize("first", ["atlas", "us"])
def test_baseline_both_ways(db_url: str, tmp_path: Path, atlas, first: str) -> None:
    dbcheck.query(db_url, "CREATE TABLE legacy (id INT)")
    d = make_dir(tmp_path, files(3))
    if first == "atlas":
        assert atlas.apply(db_url, d, 1, baseline="2").exit_code == 0
    else:
        engine.apply(db_url, d, Options(baseline="2", amount=1))
    assert_agree(db_url, d, atlas)
    rows = dbcheck.revisions(db_url)
    assert (rows["2"].applied, rows["2"].total, rows["2"].hash) == (0, 0, "")
    assert not dbcheck.has_table(db_url, "t1")
    if first == "atlas":
        assert engine.apply(db_url, d).applied == []
    else:
        assert atlas.apply(db_url, d).exit_code == 0
    assert_agree(db_url, d, atlas)
    assert set(dbcheck.revisions(db_url)) == {"2", "3"}


# --- a failure at statement 2, fixed, resumed -------------------------------------------------------

BROKEN = "INSERT INTO missing_table VALUES (1);\n"
FIXED = "CREATE TABLE t2b (id INT);\n"


def _two(text: str) -> str:
    return f"CREATE TABLE t2a (id INT);\n{text}CREATE TABLE t2c (id INT);\n"


@pytest.mark.parametrize("extra", [False, True], ids=["same-count", "one-more-statement"])
@pytest.mark.parametrize("failer,resumer", [("atlas", "atlas"), ("atlas", "us"),
                                            ("us", "atlas"), ("us", "us")])
def test_fail_fix_resume(db_url: str, tmp_path: Path, atlas, failer: str, resumer: str,
                         extra: bool) -> None:
    d = make_dir(tmp_path, {"1_init.sql": "CREATE TABLE t1 (id INT);\n", "2_fail.sql": _two(BROKEN)})
    if failer == "atlas":
        assert atlas.apply(db_url, d).exit_code == 1
    else:
        with pytest.raises(StatementError):
            engine.apply(db_url, d)
    transactional = dbcheck.dialect_of(db_url) != "mysql"
    rows = dbcheck.revisions(db_url)
    if transactional:  # the row rolled back with the file, whoever ran it
        assert set(rows) == {"1"} and not dbcheck.has_table(db_url, "t2a")
    else:  # statement 1 (DDL) committed; the row says where it stopped
        r = rows["2"]
        assert (r.applied, r.total, len(r.partial_hashes or [])) == (1, 3, 1)
        assert r.error.startswith("Error 1146 (42S02): Table ") and "missing_table" in r.error_stmt
    assert_agree(db_url, d, atlas)

    write(d, "2_fail.sql", _two(FIXED + ("CREATE TABLE t2d (id INT);\n" if extra else "")))
    if resumer == "atlas":
        assert atlas.apply(db_url, d).exit_code == 0
    else:
        assert engine.apply(db_url, d).applied == ["2_fail.sql"]
    for t in ("t1", "t2a", "t2b", "t2c") + (("t2d",) if extra else ()):
        assert dbcheck.has_table(db_url, t), t
    r = dbcheck.revisions(db_url)["2"]
    assert r.error == "" and r.error_stmt == "" and r.partial_hashes_text == "null"
    atlas_kept_broken_total = resumer == "atlas" and not transactional and extra
    if atlas_kept_broken_total:  # Atlas's own quirk: 4 of 3, partial for good (Atlas's rows alone)
        assert (r.applied, r.total) == (4, 3)
        # Both tools see the file as pending; we stop before running anything, saying why
        # (test_atlas_resume_that_added_a_statement_leaves_both_tools_pending has the rest).
        assert_agree(db_url, d, atlas)
        from pulumi_migrations_provider.errors import UnverifiableResumeError

        with pytest.raises(UnverifiableResumeError, match="4 of 3"):
            engine.apply(db_url, d)
        return
    assert r.applied == r.total == (4 if extra else 3)
    # Both tools agree the database is up to date; ours does not call the fix an edit.
    st = our_status(db_url, d)
    assert st.status == "OK" and st.pending == [], st
    assert atlas.status(db_url, d).status == "OK"
    # And both go on with the next file.
    write(d, "3_next.sql", "CREATE TABLE t3 (id INT);\n")
    if resumer == "atlas":
        assert engine.apply(db_url, d).applied == ["3_next.sql"]
    else:
        assert atlas.apply(db_url, d).exit_code == 0
    assert_agree(db_url, d, atlas)
    assert our_status(db_url, d).status == "OK"


@pytest.mark.parametrize("url_fixture", ["sqlite_url", "pg_url"], ids=["sqlite", "postgres"])
def test_an_error_row_for_a_rolled_back_file_would_break_atlas(url_fixture: str, tmp_path: Path,
                                                               request: pytest.FixtureRequest) -> None:
    """Why a rolled-back failure leaves no row (as with Atlas): the error row we used to write
    (applied 0 of 3) makes Atlas resume the file with total 3 kept; fixed with a fourth
    statement it ends 4 of 3, stays partial, and Atlas's next run panics (nil partial hashes).
    (Only where a failure rolls back: on MariaDB both tools keep the row.)"""
    db_url = request.getfixturevalue(url_fixture)
    atlas = PlayedAtlas()
    d = make_dir(tmp_path, {"1_init.sql": "CREATE TABLE t1 (id INT);\n", "2_fail.sql": _two(BROKEN)})
    with pytest.raises(StatementError):
        engine.apply(db_url, d)
    assert "2" not in dbcheck.revisions(db_url)
    hash_broken = MigrationDir.load(d).hash_file().hash_of("2_fail.sql")
    table = dbcheck.revisions_table(db_url)
    mark = "?" if dbcheck.dialect_of(db_url) == "sqlite" else "%s"
    dbcheck.query(db_url, f"INSERT INTO {table} (version, description, type, applied, total, "
                          "executed_at, execution_time, error, error_stmt, hash, partial_hashes, "
                          f"operator_version) VALUES ('2', 'fail', 2, 0, 3, {mark}, 0, 'x', 'x', "
                          f"{mark}, NULL, 'pulumi-migrations old')",
                  (_timestamp(db_url), hash_broken))
    write(d, "2_fail.sql", _two(FIXED + "CREATE TABLE t2d (id INT);\n"))
    assert atlas.apply(db_url, d).exit_code == 0
    r = dbcheck.revisions(db_url)["2"]
    assert (r.applied, r.total) == (4, 3)
    assert atlas.apply(db_url, d).exit_code == 2  # Go: index out of range


FIRST_DML_BROKEN = ("INSERT INTO t1 VALUES (1);\nINSERT INTO missing_table VALUES (1);\n"
                    "CREATE TABLE t2c (id INT);\n")
FIRST_DML_FIXED = ("INSERT INTO t1 VALUES (1);\nCREATE TABLE t2b (id INT);\n"
                   "CREATE TABLE t2c (id INT);\nCREATE TABLE t2d (id INT);\n")


@pytest.mark.parametrize("failer", ["atlas", "us"])
def test_mariadb_file_failing_in_its_first_transaction_leaves_no_row(
        maria_url: str, tmp_path: Path, failer: str) -> None:
    """MariaDB, --tx-mode file, a file that fails in the DML its first statements form: that
    transaction rolls back with its revision row, so Atlas leaves no row; we left an error row
    (applied 0 of 3), from which Atlas resumed the fixed four-statement file to 4 of 3, partial
    for good, and panicked on its next run (as ``test_an_error_row_for_a_rolled_back_file_would_break_atlas``
    on SQLite and PostgreSQL)."""
    atlas = PlayedAtlas()
    d = make_dir(tmp_path, {"1_init.sql": "CREATE TABLE t1 (id INT);\n", "2_fail.sql": FIRST_DML_BROKEN})
    if failer == "atlas":
        assert atlas.apply(maria_url, d).exit_code == 1
    else:
        with pytest.raises(StatementError, match="missing_table"):
            engine.apply(maria_url, d)
    assert set(dbcheck.revisions(maria_url)) == {"1"}
    assert dbcheck.query(maria_url, "SELECT COUNT(*) FROM t1") == [(0,)]  # rolled back
    assert_agree(maria_url, d, atlas)
    assert our_status(maria_url, d).pending == ["2_fail.sql"]
    write(d, "2_fail.sql", FIRST_DML_FIXED)
    assert atlas.apply(maria_url, d).exit_code == 0
    r = dbcheck.revisions(maria_url)["2"]
    assert (r.applied, r.total, r.error) == (4, 4, "")
    assert dbcheck.query(maria_url, "SELECT COUNT(*) FROM t1") == [(1,)]  # once
    assert atlas.apply(maria_url, d).exit_code == 0  # no panic: nothing pending
    assert our_status(maria_url, d).status == "OK"


def _timestamp(url: str):
    from tests.atlas_player import _now
    return _now(dbcheck.dialect_of(url))


def test_edits_of_cleanly_applied_files_are_still_caught(server_db, tmp_path: Path, atlas) -> None:
    db_url = server_db.url
    d = make_dir(tmp_path, files(3))
    assert atlas.apply(db_url, d, 2).exit_code == 0
    engine.apply(db_url, d)  # 3 by us
    # An edit of a file Atlas applied, followed by a row that ran on the old content: caught.
    write(d, "2_more.sql", files(3)["2_more.sql"].replace("t2c", "t2z"))
    with pytest.raises(AppliedFileChangedError, match="2_more.sql"):
        our_status(db_url, d)
    # An edit of the last file, which we applied: caught.
    write(d, "2_more.sql", files(3)["2_more.sql"])
    our_status(db_url, d)
    write(d, "3_t3.sql", "CREATE TABLE t3 (id BIGINT);\n")
    with pytest.raises(AppliedFileChangedError, match="3_t3.sql"):
        our_status(db_url, d)
    # An edit of the last file Atlas applied that changes its statement count: caught (a
    # resumed row always has the file's statement count).
    d2 = make_dir(tmp_path, files(2), name="second")
    url2 = server_db.fresh_url()
    assert atlas.apply(url2, d2).exit_code == 0
    write(d2, "2_more.sql", files(2)["2_more.sql"] + "CREATE TABLE t2e (id INT);\n")
    with pytest.raises(AppliedFileChangedError, match="2_more.sql"):
        our_status(url2, d2)


# --- the rows themselves, column by column -----------------------------------------------------------


def _cells(url: str) -> dict[str, dict[str, tuple]]:
    """{version: {column: (value, storage class or SQL type)}} as stored."""
    d = dbcheck.dialect_of(url)
    table = dbcheck.revisions_table(url)
    cols = ("version", "description", "type", "applied", "total", "executed_at", "execution_time",
            "error", "error_stmt", "hash", "partial_hashes", "operator_version")
    if d == "sqlite":
        sel = ", ".join(f"{c}, typeof({c})" for c in cols)
    elif d == "postgresql":
        sel = ", ".join(f"{c}{'::text' if c == 'partial_hashes' else ''}, pg_typeof({c})::text" for c in cols)
    else:
        sel = ", ".join(f"{'CAST(partial_hashes AS CHAR)' if c == 'partial_hashes' else c}, "
                        f"'{c}'" for c in cols)
    out = {}
    database = url.split("?", 1)[0].rsplit("/", 1)[1]  # in MariaDB's messages; twins differ there
    for row in dbcheck.query(url, f"SELECT {sel} FROM {table}"):
        row = tuple(v.replace(database, "<db>") if isinstance(v, str) else v for v in row)
        pairs = [tuple(row[i:i + 2]) for i in range(0, len(row), 2)]
        out[pairs[0][0]] = dict(zip(cols, pairs))
    return out


def _comparable(cells: dict[str, tuple], column: str):
    value, kind = cells[column]
    if column == "executed_at":  # when it ran differs; its form may not
        if isinstance(value, str):
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,9})?[+-]\d\d:\d\d", value), value
        return kind, type(value).__name__
    if column == "execution_time":
        return kind, type(value).__name__
    if column == "operator_version":
        return kind, None
    return value, kind


def _table_shape(url: str) -> list[tuple]:
    d = dbcheck.dialect_of(url)
    if d == "sqlite":
        return dbcheck.query(url, "SELECT sql FROM sqlite_master WHERE name = 'atlas_schema_revisions'")
    if d == "postgresql":
        return dbcheck.query(url, "SELECT column_name, data_type, is_nullable, column_default, "
                                  "ordinal_position FROM information_schema.columns WHERE table_schema"
                                  " = 'atlas_schema_revisions' ORDER BY ordinal_position")
    (_, ddl), = dbcheck.query(url, "SHOW CREATE TABLE atlas_schema_revisions")
    return [(ddl,)]


@pytest.mark.parametrize("tx_mode", ["file", "none"])
def test_rows_are_written_alike_column_by_column(server_db, tmp_path: Path, tx_mode: str) -> None:
    """The same directory, one run by Atlas and one by us on twin databases: the same rows, SQL
    types and SQLite storage classes (when and how long differ; the operator is named), and the
    same table DDL. File 3 fails at its second statement, so an error row is compared too."""
    ours_url, theirs_url = server_db.url, server_db.fresh_url()
    dialect = dbcheck.dialect_of(ours_url)
    body = files(2)
    body["3_fail.sql"] = _two(BROKEN).replace("t2", "t3")
    d = make_dir(tmp_path, body)
    theirs = PlayedAtlas().apply(theirs_url, d, tx_mode=tx_mode)
    assert theirs.exit_code == 1, theirs
    with pytest.raises(StatementError):
        engine.apply(ours_url, d, Options(tx_mode=tx_mode))
    ours_cells, theirs_cells = _cells(ours_url), _cells(theirs_url)
    assert set(ours_cells) == set(theirs_cells)
    if dialect != "mysql" and tx_mode == "file":
        assert "3" not in ours_cells
    else:
        assert "3" in ours_cells
    for version in sorted(ours_cells):
        for column in ours_cells[version]:
            assert _comparable(ours_cells[version], column) == _comparable(theirs_cells[version], column), (
                version, column, ours_cells[version][column], theirs_cells[version][column])
    assert theirs_cells["1"]["operator_version"][0] == OPERATOR
    assert _table_shape(ours_url) == _table_shape(theirs_url)


@pytest.mark.parametrize("extra", [False, True], ids=["same-count", "one-more-statement"])
@pytest.mark.parametrize("failer,resumer", [("atlas", "us"), ("us", "atlas"), ("us", "us")])
def test_fail_fix_resume_rows_are_atlas_rows_column_by_column(server_db, tmp_path: Path, failer: str,
                                                              resumer: str, extra: bool) -> None:
    """After a failure at statement 2, a fix and a resume, the rows (values, SQL types, SQLite
    storage classes) and the table DDL are those Atlas alone leaves on a twin database, except
    the difference we keep on purpose (README "Where we differ"): where the file's row survived
    the failure (MariaDB) and we resume it, ``hash`` (and ``total`` when the fix added a
    statement) follow the fixed file."""
    theirs_url, ours_url = server_db.fresh_url(), server_db.url
    fixed = _two(FIXED + ("CREATE TABLE t2d (id INT);\n" if extra else ""))
    for url, fail, resume, name in ((theirs_url, "atlas", "atlas", "a"), (ours_url, failer, resumer, "b")):
        d = make_dir(tmp_path, {"1_init.sql": "CREATE TABLE t1 (id INT);\n", "2_fail.sql": _two(BROKEN)},
                     name=name)
        if fail == "atlas":
            assert PlayedAtlas().apply(url, d).exit_code == 1
        else:
            with pytest.raises(StatementError):
                engine.apply(url, d)
        write(d, "2_fail.sql", fixed)
        if resume == "atlas":
            assert PlayedAtlas().apply(url, d).exit_code == 0
        else:
            assert engine.apply(url, d).applied == ["2_fail.sql"]
    theirs, ours = _cells(theirs_url), _cells(ours_url)
    assert set(ours) == set(theirs) == {"1", "2"}
    differ = {(v, c) for v in theirs for c in theirs[v]
              if _comparable(theirs[v], c) != _comparable(ours[v], c)}
    kept_on_purpose = set()
    if dbcheck.dialect_of(ours_url) == "mysql" and resumer == "us":
        kept_on_purpose = {("2", "hash")} | ({("2", "total")} if extra else set())
        assert ours["2"]["hash"][0] == MigrationDir.load(tmp_path / "b").hash_file().hash_of("2_fail.sql")
    assert differ == kept_on_purpose, [(v, c, theirs[v][c], ours[v][c]) for v, c in sorted(differ)]
    assert _table_shape(ours_url) == _table_shape(theirs_url)


def test_tricky_statements_split_the_same(server_db, tmp_path: Path, atlas) -> None:
    """A file of tricky statements ending in a failure, under tx-mode none: both tools record the
    same statement count and the same chained partial hashes."""
    db_url, other = server_db.url, server_db.fresh_url()
    dialect = dbcheck.dialect_of(db_url)
    tricky = {
        "sqlite": ("CREATE TABLE a (s TEXT DEFAULT 'x;y');\n"
                   "CREATE TRIGGER tr AFTER INSERT ON a BEGIN\n  UPDATE a SET s = 'z;'; \nEND;\n"
                   "/* block; comment */ INSERT INTO a VALUES ('-- not a comment');\n"),
        "postgresql": ("CREATE TABLE a (s TEXT DEFAULT 'x;y');\n"
                       "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n"
                       "INSERT INTO a VALUES (E'it''s; fine');\n"),
        "mysql": ("CREATE TABLE a (s TEXT);\n# hash comment; here\nINSERT INTO a VALUES ('it\\'s; ok');\n"
                  "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END//\nDELIMITER ;\n"),
    }[dialect]
    text = tricky + "INSERT INTO missing_table VALUES (1);\n"
    d_atlas = make_dir(tmp_path, {"1_tricky.sql": text}, name="a")
    d_ours = make_dir(tmp_path, {"1_tricky.sql": text}, name="b")
    assert atlas.apply(other, d_atlas, tx_mode="none").exit_code == 1
    with pytest.raises(StatementError):
        engine.apply(db_url, d_ours, Options(tx_mode="none"))
    ours, theirs = dbcheck.revisions(db_url)["1"], dbcheck.revisions(other)["1"]
    assert (ours.applied, ours.total, ours.partial_hashes) == (theirs.applied, theirs.total,
                                                               theirs.partial_hashes)
    assert ours.applied == ours.total - 1 >= 3


# --- locks ----------------------------------------------------------------------------------------


def test_atlas_holding_the_lock_makes_us_wait(db_url: str, tmp_path: Path, atlas) -> None:
    d = make_dir(tmp_path, files(2))
    with atlas.hold_lock(db_url):
        with pytest.raises(LockError):
            engine.apply(db_url, d, Options(lock_timeout=1))
        assert not dbcheck.has_table(db_url, "t1")
    assert engine.apply(db_url, d).applied == ["1_init.sql", "2_more.sql"]


def test_us_holding_the_lock_makes_atlas_wait(db_url: str, tmp_path: Path, atlas) -> None:
    d = make_dir(tmp_path, files(2))
    target = Target.parse(db_url)
    conn = for_target(target).connect(target, timeout=5)
    assert conn is not None
    conn.lock(5)
    try:
        out = atlas.apply(db_url, d, lock_timeout=1)
        assert out.exit_code == 1 and "lock" in out.output, out
    finally:
        conn.close()
    assert not dbcheck.has_table(db_url, "t1")
    assert atlas.apply(db_url, d).exit_code == 0
    assert dbcheck.has_table(db_url, "t1")


def test_we_wait_for_atlas_to_release_the_lock(db_url: str, tmp_path: Path) -> None:
    """Within --lock-timeout we wait for Atlas's lock and then run."""
    import threading
    import time

    d = make_dir(tmp_path, files(2))
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with PlayedAtlas().hold_lock(db_url):
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert held.wait(10)
        threading.Timer(1.0, release.set).start()
        started = time.monotonic()
        assert engine.apply(db_url, d, Options(lock_timeout=8)).applied == ["1_init.sql", "2_more.sql"]
        assert time.monotonic() - started >= 0.9
    finally:
        release.set()
        t.join()


def test_baseline_rows_are_written_alike(server_db, tmp_path: Path) -> None:
    ours_url, theirs_url = server_db.url, server_db.fresh_url()
    for url in (ours_url, theirs_url):
        dbcheck.query(url, "CREATE TABLE legacy (id INT)")
    d = make_dir(tmp_path, files(3))
    assert PlayedAtlas().apply(theirs_url, d, 1, baseline="2").exit_code == 0
    engine.apply(ours_url, d, Options(baseline="2", amount=1))
    ours_cells, theirs_cells = _cells(ours_url), _cells(theirs_url)
    assert set(ours_cells) == set(theirs_cells) == {"2", "3"}
    for version in ours_cells:
        for column in ours_cells[version]:
            assert _comparable(ours_cells[version], column) == _comparable(theirs_cells[version], column), (
                version, column)
    assert theirs_cells["2"]["type"][0] == 1 and theirs_cells["2"]["hash"][0] == ""


def test_atlas_resume_that_added_a_statement_leaves_both_tools_pending(db_url: str, tmp_path: Path,
                                                                       atlas) -> None:
    """Atlas fails 2_fail.sql at statement 2 (tx-mode none: statement 1 stays on every dialect),
    the file is fixed with 4 statements, Atlas resumes it: the row ends applied 4 of total 3,
    partial hashes reset. Atlas's ``Executor.Pending`` takes ``applied != total`` as partial, so
    for Atlas the file is still pending (its status: PENDING, current 2, next 2, no statement
    counts since 4 < 3 is false) and its next apply panics. We agree that it is pending, and stop
    with the truth and the way out (``set 2 --allow-partial``), never "statement 1 was changed"."""
    from tests.test_cli import one_error_line, run

    d = make_dir(tmp_path, {"1_init.sql": "CREATE TABLE t1 (id INT);\n", "2_fail.sql": _two(BROKEN)})
    assert atlas.apply(db_url, d, tx_mode="none").exit_code == 1
    write(d, "2_fail.sql", _two(FIXED + "CREATE TABLE t2d (id INT);\n"))
    assert atlas.apply(db_url, d, tx_mode="none").exit_code == 0
    r = dbcheck.revisions(db_url)["2"]
    assert (r.applied, r.total, r.error, r.partial_hashes) == (4, 3, "", None)
    theirs = atlas.status(db_url, d)
    assert (theirs.status, theirs.current, theirs.next, theirs.pending, theirs.error) == (
        "PENDING", "2", "2", ["2_fail.sql"], "")
    assert_agree(db_url, d, atlas)
    ours = our_status(db_url, d)
    assert ours.next_version == "2" and not ours.partial, ours
    assert "4 of 3" in (ours.error or ""), ours
    text = run("status", "--dir", d, "--url", db_url)
    assert text.exit_code == 0 and text.stderr == "", text.output
    assert "Current Version: 2\n" in text.stdout and "Next Version:    2\n" in text.stdout
    assert "statements applied" not in text.stdout and "statements left" not in text.stdout
    assert "ERROR:" in text.stdout and "4 of 3" in text.stdout, text.stdout
    before = dbcheck.revisions(db_url)
    for dry in ([], ["--dry-run"]):
        done = run("apply", "--dir", d, "--url", db_url, *dry)
        assert done.exit_code == 1, done.output
        line = one_error_line(done.stderr)
        assert "2_fail.sql" in line and "4 of 3" in line and "changed since" not in line, line
        assert "pulumi-migrations set 2 --allow-partial" in line, line
    assert dbcheck.revisions(db_url) == before  # nothing written
    from pulumi_migrations_provider.errors import UnverifiableResumeError
    from pulumi_migrations_provider.providers._common import resource_message

    with pytest.raises(UnverifiableResumeError) as info:  # what a Pulumi update says
        engine.apply(db_url, d)
    assert resource_message(info.value).endswith(
        "with the CLI (pulumi-migrations set 2 with allow-partial), then update the stack")
    if isinstance(atlas, PlayedAtlas):
        assert atlas.apply(db_url, d, tx_mode="none").exit_code == 2  # Atlas: index out of range
    # The way out named: both tools then agree the file is done and go on.
    assert run("set", "2", "--allow-partial", "--dir", d, "--url", db_url).exit_code == 0
    assert our_status(db_url, d).status == atlas.status(db_url, d).status == "OK"
    write(d, "3_next.sql", "CREATE TABLE t3 (id INT);\n")
    assert engine.apply(db_url, d).applied == ["3_next.sql"]
    assert_agree(db_url, d, atlas)
