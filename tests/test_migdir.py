"""Migration directory listing, naming, ordering and header directives (migdir.py)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.dirtools import cli_at_once, make_dir
from tests.paths import ATLAS_TESTDATA
from pulumi_migrations_provider import errors
from pulumi_migrations_provider.migdir import MigrationDir, MigrationFile

CONFORMANCE = ATLAS_TESTDATA


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name,version,description", [
    ("20230316085611_create_users.sql", "20230316085611", "create_users"),
    ("20230316085611.sql", "20230316085611", ""),
    ("1_a_b.sql", "1", "a_b"),
    ("1.a_sub.up.sql", "1.a", "sub.up"),
    ("2 space_name.sql", "2 space", "name"),
    ("2.10.x-20_description.sql", "2.10.x-20", "description"),
    ("1_initial.down.sql", "1", "initial.down"),
    ("3.down.sql", "3.down", ""),
    (".hidden.sql", ".hidden", ""),
    ("1_.sql", "1", ""),
])
def test_version_and_description(name, version, description):
    f = MigrationFile(name, b"")
    assert (f.version, f.description) == (version, description)


def test_order_is_bytewise_on_the_name():
    names = ["9_y.sql", "2 space_name.sql", "1_a_b.sql", "10_x.sql", "a_1.sql", "B_1.sql"]
    d = MigrationDir.from_files({n: b"" for n in names})
    assert [f.name for f in d.files] == ["10_x.sql", "1_a_b.sql", "2 space_name.sql", "9_y.sql",
                                         "B_1.sql", "a_1.sql"]
    same = MigrationDir.from_files({"20230316085611_create_users.sql": b"", "20230316085611.sql": b""},
                                   unique_versions=False)
    assert [f.name for f in same.files] == ["20230316085611.sql", "20230316085611_create_users.sql"]


def test_conformance_sub_dir_listing():
    d = MigrationDir.load(CONFORMANCE / "migrate" / "sub")
    assert [(f.name, f.version, f.description) for f in d.files] == [
        ("1.a_sub.up.sql", "1.a", "sub.up"),
        ("2.10.x-20_description.sql", "2.10.x-20", "description"),
        ("3_partly.sql", "3", "partly"),
    ]
    assert d.latest_version == "3"
    assert d.file("2.10.x-20").name == "2.10.x-20_description.sql"
    assert d.file("4") is None


# --- listing --------------------------------------------------------------------------------


def test_listing_rules(tmp_path):
    root = make_dir(tmp_path, {
        "1_a.sql": "A;", ".hidden.sql": "H;", "2_b.SQL": "no", "notes.txt": "no", "3_c.sql.bak": "no",
    }, with_sum=False)
    (root / "sub").mkdir()
    (root / "sub" / "5_x.sql").write_text("no")
    d = MigrationDir.load(root)
    assert [f.name for f in d.files] == [".hidden.sql", "1_a.sql"]
    assert d.sum_data is None
    assert d.path == root
    assert d.files[1].data == b"A;"


def test_directory_named_sql_is_an_error(tmp_path):
    root = make_dir(tmp_path, {"1_a.sql": "A;"}, with_sum=False)
    (root / "x.sql").mkdir()
    with pytest.raises(errors.FileNameError, match="'x.sql' is a directory"):
        MigrationDir.load(root)


def test_duplicate_versions_are_refused(tmp_path):
    root = make_dir(tmp_path, {"1_a.sql": "A;", "1_b.sql": "B;", "2.sql": ""}, with_sum=False)
    with pytest.raises(errors.DuplicateVersionError) as info:
        MigrationDir.load(root)
    assert (info.value.version, info.value.files) == ("1", ["1_a.sql", "1_b.sql"])
    with pytest.raises(errors.DuplicateVersionError):
        MigrationDir.from_files({"7.sql": b"", "7_x.sql": b""})
    assert len(MigrationDir.load(root, unique_versions=False).files) == 3


def test_load_reads_sum_bytes(tmp_path):
    root = make_dir(tmp_path, {"1_a.sql": "A;"})
    d = MigrationDir.load(root)
    assert d.sum_data == (root / "atlas.sum").read_bytes()
    assert d.sum_data.startswith(b"h1:")


def test_load_accepts_file_urls(tmp_path, monkeypatch):
    root = make_dir(tmp_path, {"1_a.sql": "A;"}, name="mig dir")
    monkeypatch.chdir(tmp_path)
    assert MigrationDir.load("file://mig%20dir").path == Path("mig dir")
    assert [f.name for f in MigrationDir.load("file://mig dir").files] == ["1_a.sql"]
    assert MigrationDir.load(f"file://{root}").path == root  # file:///abs/path
    assert MigrationDir.load(f"file://{root}?format=atlas").path == root
    assert MigrationDir.load(str(root)).path == root
    with pytest.raises(errors.ConfigError, match="format 'flyway'"):
        MigrationDir.load(f"file://{root}?format=flyway")
    with pytest.raises(errors.ConfigError, match="unsupported scheme"):
        MigrationDir.load("s3://bucket/dir")


def test_load_missing_or_not_a_directory(tmp_path):
    with pytest.raises(errors.ConfigError, match="does not exist"):
        MigrationDir.load(tmp_path / "nope")
    (tmp_path / "f").write_text("x")
    with pytest.raises(errors.ConfigError, match="not a directory"):
        MigrationDir.load(tmp_path / "f")


def test_from_files_rules():
    d = MigrationDir.from_files({"2_b.sql": b"B;", "1_a.sql": b"A;", "README.md": b"x",
                                 "atlas.sum": b"h1:x\n"})
    assert [f.name for f in d.files] == ["1_a.sql", "2_b.sql"]
    assert d.sum_data == b"h1:x\n"
    assert d.path is None
    assert MigrationDir.from_files({}, sum_data=b"s", path=Path("/x")).path == Path("/x")
    with pytest.raises(errors.FileNameError):
        MigrationDir.from_files({"sub/1_a.sql": b""})


def test_hash_file_is_cached_until_files_change(tmp_path):
    root = make_dir(tmp_path, {"1_a.sql": "A;"})
    d = MigrationDir.load(root)
    assert d.hash_file() is d.hash_file()
    before = d.hash_file()
    d.new_file("b", b"B;", now=datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert d.hash_file() is not before
    assert len(d.hash_file().entries) == 2


# --- text -----------------------------------------------------------------------------------


def test_text_decodes_utf8_and_reports_bad_bytes():
    assert MigrationFile("1.sql", "SELECT 'é';".encode()).text() == "SELECT 'é';"
    bad = MigrationFile("1_a.sql", b"SELECT 1;\nSELECT '\xff';\n")
    with pytest.raises(errors.FileEncodingError) as info:
        bad.text()
    msg = str(info.value)
    assert "1_a.sql" in msg and "offset 18" in msg and "1_a.sql:2:9" in msg
    assert (info.value.file, info.value.offset, info.value.line) == ("1_a.sql", 18, 2)


# --- header directives ----------------------------------------------------------------------


@pytest.mark.parametrize("data,name,expected", [
    # Atlas dir_test.go TestLocalFile_Directive
    (b"-- atlas:lint ignore\nalter table users drop column id;\n", "lint", []),
    (b"-- atlas:lint ignore\n\nalter table users drop column id;\n\n-- atlas:lint DS102\nalter table pets drop column id;\n",
     "lint", ["ignore"]),
    (b"-- atlas:lint ignore\n-- atlas:txmode none\n\nalter table users drop column id;\n", "txmode", ["none"]),
    (b"-- atlas:nolint\n\nalter table users drop column id;\n", "nolint", [""]),
    (b"", "lint", []),
    (b"-- atlas:lint ignore", "lint", []),
    (b"-- atlas:lint ignore\n\n", "lint", ["ignore"]),
    # blank separator may hold spaces/tabs; header may be the whole file (LF-terminated)
    (b"-- atlas:txmode none\n \t\nSELECT 1;", "txmode", ["none"]),
    (b"-- atlas:txmode none\n", "txmode", ["none"]),
    # prefixes
    (b"--atlas:txmode none\n\nSELECT 1;", "txmode", ["none"]),
    (b"# atlas:txmode none\n\nSELECT 1;", "txmode", ["none"]),
    (b"-- header\n-- atlas:txmode none\n-- atlas:nolint DS103\n\nSELECT 1;", "nolint", ["DS103"]),
    # not honoured
    (b"-- atlas:txmode none\r\n\r\nSELECT 1;\r\n", "txmode", []),
    (b"\n-- atlas:txmode none\n\nSELECT 1;", "txmode", []),
    (b"/* atlas:txmode none */\n\nSELECT 1;", "txmode", []),
    (b"SELECT 1;\n-- atlas:txmode none\n\n", "txmode", []),
    # the blank separator found past a long run of blanks (read in a window first), or not
    (b"-- atlas:txmode none\n" + b" " * 5000 + b"\nSELECT 1;", "txmode", ["none"]),
    (b"-- atlas:txmode none\n" + b"\t" * 5000 + b"SELECT 1;", "txmode", []),
    (b"-- atlas:txmode none\n" + b" " * 5000, "txmode", []),
], ids=lambda v: None)
def test_directives(data, name, expected):
    assert MigrationFile("1.sql", data).directives(name) == expected


@pytest.mark.parametrize("data,mode", [
    (b"SELECT 1;", None),
    (b"-- atlas:txmode none\n\nSELECT 1;", "none"),
    (b"-- atlas:txmode file\n\nSELECT 1;", "file"),
    (b"-- atlas:txmode none\nSELECT 1;", None),  # no blank line: a statement comment
])
def test_txmode(data, mode):
    assert MigrationFile("1_a.sql", data).txmode == mode


@pytest.mark.parametrize("data,text", [
    (b"-- atlas:txmode all\n\nSELECT 1;",
     'txmode "all" is not allowed in file directive "1_a.sql". Use "file" instead'),
    (b"-- atlas:txmode statement\n\nSELECT 1;", 'unknown txmode "statement" found in file directive "1_a.sql"'),
    (b"-- atlas:txmode\n\nSELECT 1;", 'unknown txmode "" found in file directive "1_a.sql"'),
    (b"-- atlas:txmode none\n-- atlas:txmode file\n\nSELECT 1;",
     'multiple txmode values found in file "1_a.sql": ["none" "file"]'),
], ids=["all", "unknown", "empty", "multiple"])
def test_txmode_errors(data, text):
    with pytest.raises(errors.DirectiveError) as info:
        MigrationFile("1_a.sql", data).txmode
    assert text in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("data,checkpoint", [
    (b"SELECT 1;", False),
    (b"-- atlas:checkpoint\nSELECT 1;", False),
    (b"-- atlas:checkpoint tag\nSELECT 1;", False),
    (b"-- atlas:checkpoint\n\nSELECT 1;", True),
    (b"-- atlas:checkpoint tag\n\nSELECT 1;", True),
])
def test_checkpoint(data, checkpoint):
    assert MigrationFile("1.sql", data).is_checkpoint is checkpoint


def test_conformance_checkpoints():
    d = MigrationDir.load(CONFORMANCE / "partial-checkpoint")
    assert [f.name for f in d.files if f.is_checkpoint] == ["3_checkpoint.sql", "5_checkpoint.sql"]
    assert d.files[2].directives("checkpoint") == [""]


# --- new_file / write_sum -------------------------------------------------------------------


def test_new_file_naming_and_rehash(tmp_path):
    root = make_dir(tmp_path, {"20200101000000_init.sql": "A;"})
    d = MigrationDir.load(root)
    f = d.new_file("add_users", b"CREATE TABLE users(id int);\n", now=datetime(2023, 3, 16, 9, 5, 2))
    assert (f.name, f.version, f.description) == ("20230316090502_add_users.sql", "20230316090502", "add_users")
    assert (root / f.name).read_bytes() == b"CREATE TABLE users(id int);\n"
    assert d.latest_version == "20230316090502"
    reloaded = MigrationDir.load(root)
    assert reloaded.sum_data == d.sum_data
    reloaded.validate()
    plus2 = timezone(timedelta(hours=2))
    g = d.new_file("", now=datetime(2023, 3, 16, 11, 6, 0, tzinfo=plus2))
    assert (g.name, g.data) == ("20230316090600.sql", b"")
    MigrationDir.load(root).validate()


def test_new_file_takes_the_next_free_second_and_refuses_stale_sum(tmp_path):
    root = make_dir(tmp_path, {"20230316090502_a.sql": "A;"})
    d = MigrationDir.load(root)
    for expected in ("20230316090503_b.sql", "20230316090504_b.sql"):  # `new` twice in one second
        assert d.new_file("b", now=datetime(2023, 3, 16, 9, 5, 2)).name == expected
        assert (root / expected).exists()
    assert [f.name for f in MigrationDir.load(root).files][-1] == "20230316090504_b.sql"
    with pytest.raises(errors.FileNameError):
        d.new_file("../evil")
    (root / "20230316090502_a.sql").write_text("edited")
    with pytest.raises(errors.ChecksumError):
        MigrationDir.load(root).new_file("c", now=datetime(2024, 1, 1))


def test_new_file_never_overwrites_a_file_written_meanwhile(tmp_path, monkeypatch):
    """Atlas takes no lock: a file it writes between our validation and our write has the name
    we chose. Ours is created exclusively and moves to the next second; Atlas's stays as it is."""
    root = make_dir(tmp_path, {"20230316090500_a.sql": "A;"})
    validate = MigrationDir.validate

    def validate_then_atlas_writes(self):
        computed = validate(self)
        (root / "20230316090502_b.sql").write_text("atlas's\n")
        return computed

    monkeypatch.setattr(MigrationDir, "validate", validate_then_atlas_writes)
    f = MigrationDir.load(root).new_file("b", b"ours\n", now=datetime(2023, 3, 16, 9, 5, 2))
    assert f.name == "20230316090503_b.sql" and (root / f.name).read_bytes() == b"ours\n"
    assert (root / "20230316090502_b.sql").read_text() == "atlas's\n"


def test_concurrent_new_never_shares_a_file_and_leaves_the_sum_complete(tmp_path):
    """Audit gap 8: four ``new x`` at once wrote one ``…_x.sql`` twice (and each rewrote atlas.sum
    from its own view, dropping the others' entries). Six processes, imported first and released
    together, in rounds: every run succeeds, prints its own file, and atlas.sum covers them all."""
    root = make_dir(tmp_path, {"20200101000000_init.sql": "A;"})
    created: list[str] = []
    for _ in range(3):
        for code, out, err in cli_at_once(*[["new", "x", "--dir", str(root)]] * 6):
            assert code == 0, err
            created.append(Path(out.strip()).name)
    assert len(set(created)) == len(created) == 18, created
    d = MigrationDir.load(root)
    assert sorted(created) == [f.name for f in d.files[1:]]
    d.validate()  # atlas.sum names every file, with its hash


def test_new_file_default_time_is_utc_now(tmp_path):
    d = MigrationDir.load(make_dir(tmp_path, {}))
    before = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
    f = d.new_file("x")
    after = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
    assert before <= f.version <= after


def test_write_sum_rewrites_from_scratch(tmp_path):
    root = make_dir(tmp_path, {"1_a.sql": "A;"})
    (root / "atlas.sum").write_bytes(b"garbage\n\n")
    (root / "2_b.sql").write_text("B;")
    d = MigrationDir.load(root)
    data = d.write_sum()
    assert (root / "atlas.sum").read_bytes() == data == d.sum_data
    assert data.count(b"\n") == 3
    d.validate()


def test_make_dir_helper_writes_valid_sum(tmp_path):
    root = make_dir(tmp_path, {"1_a.sql": "A;", "2_b.sql": b"B;"})
    assert sorted(os.listdir(root)) == ["1_a.sql", "2_b.sql", "atlas.sum"]
    MigrationDir.load(root).validate()


def test_large_file_read_whole(tmp_path: Path) -> None:
    """A file larger than one read is read whole (one read of its size, no pieces joined)."""
    big = b"-- seed\n\n" + b"INSERT INTO t VALUES ('x');\n" * 20_000
    (tmp_path / "1_a.sql").write_bytes(big)
    (tmp_path / "2_b.sql").write_bytes(b"x" * 65536)
    (tmp_path / "3_c.sql").write_bytes(b"")
    d = MigrationDir.load(tmp_path)
    assert [f.data for f in d.files] == [big, b"x" * 65536, b""]
