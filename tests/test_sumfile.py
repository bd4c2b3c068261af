"""atlas.sum: byte-exact hashing, Atlas's parser, and Validate's walk (sumfile.py)."""

from __future__ import annotations

import hashlib
import shutil
import time
from base64 import b64encode
from pathlib import Path

import pytest

from tests.dirtools import make_dir
from tests.paths import ATLAS_TESTDATA
from pulumi_migrations_provider import errors
from pulumi_migrations_provider.migdir import MigrationDir, MigrationFile
from pulumi_migrations_provider.sumfile import HashFile, validate

CONFORMANCE = ATLAS_TESTDATA
EMPTY_SUM = b"h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"


def b64sha(*parts: bytes) -> str:
    return b64encode(hashlib.sha256(b"".join(parts)).digest()).decode()


def copy_conformance(tmp_path: Path, name: str) -> Path:
    dst = tmp_path / name.replace("/", "_")
    shutil.copytree(CONFORMANCE / name, dst)
    return dst


# --- computing ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["migrate", "migrate/sub", "partial-checkpoint"])
def test_conformance_sums_are_byte_exact(name):
    d = MigrationDir.load(CONFORMANCE / name, unique_versions=False)
    stored = (CONFORMANCE / name / "atlas.sum").read_bytes()
    assert d.hash_file().to_bytes() == stored
    assert HashFile.parse(stored) == d.hash_file()
    assert d.validate() == d.hash_file()


def test_conformance_known_values():
    d = MigrationDir.load(CONFORMANCE / "migrate", unique_versions=False)
    hf = d.hash_file()
    assert hf.total == "M74RrNK69S2pj6C541LR1ew5O32/i0WoyNgsJmyuiUk="
    assert hf.hash_of("1_initial.up.sql") == "hFhs5XhRml4KTWGF5td6h1s7xNqAFnaEBbC5Y/NF7i4="
    assert hf.hash_of("nope.sql") is None


def test_empty_directory_sum():
    assert HashFile.compute([]).to_bytes() == EMPTY_SUM
    assert MigrationDir.from_files({}).hash_file().to_bytes() == EMPTY_SUM


def test_hashes_are_chained_through_one_running_sha256():
    a, b = MigrationFile("1_a.sql", b"A;"), MigrationFile("2_b.sql", b"B;")
    hf = HashFile.compute([a, b])
    assert hf.entries == (
        ("1_a.sql", b64sha(b"1_a.sql", b"A;")),
        ("2_b.sql", b64sha(b"1_a.sql", b"A;", b"2_b.sql", b"B;")),
    )
    assert hf.total == b64sha(b"1_a.sql", hf.entries[0][1].encode(), b"2_b.sql", hf.entries[1][1].encode())
    assert hf.to_bytes() == (f"h1:{hf.total}\n1_a.sql h1:{hf.entries[0][1]}\n"
                             f"2_b.sql h1:{hf.entries[1][1]}\n").encode()


@pytest.mark.parametrize("content", [b"SELECT 1;\r\nSELECT 2;\r\n", b"SELECT 1;", b"SELECT 1;\n",
                                     "INSERT INTO t VALUES ('h\u00e9');\n".encode(),
                                     b"\xef\xbb\xbfSELECT 1;\n", b"  SELECT 1;\n"],
                         ids=["crlf", "no-final-newline", "final-newline", "non-ascii", "bom", "indent"])
def test_content_is_hashed_raw(content):
    hf = HashFile.compute([MigrationFile("1.sql", content)])
    assert hf.entries == (("1.sql", b64sha(b"1.sql", content)),)


def test_atlas_sum_ignore_on_line_one_drops_entry_but_name_feeds_chain():
    ignored = MigrationFile("1_a.sql", b"-- atlas:sum ignore\nSELECT 1;\n")
    later = MigrationFile("2_b.sql", b"B;")
    hf = HashFile.compute([ignored, later])
    assert [n for n, _ in hf.entries] == ["2_b.sql"]
    assert hf.hash_of("2_b.sql") == b64sha(b"1_a.sql", b"2_b.sql", b"B;")
    renamed = MigrationFile("1_z.sql", ignored.data)
    assert HashFile.compute([renamed, later]).hash_of("2_b.sql") != hf.hash_of("2_b.sql")
    assert hf.total == b64sha(b"2_b.sql", hf.entries[0][1].encode())


@pytest.mark.parametrize("data,ignored", [
    (b"-- atlas:sum ignore\nbar", True),
    (b"//atlas:sum ignore\nbar", True),
    (b"atlas:sum ignore", True),
    (b"-- atlas:sum ignore\r\nbar", True),
    (b"//atlas:sum\nfoo", False),
    (b"-- atlas:sum ignored\nfoo", False),
    (b"SELECT 1;\n-- atlas:sum ignore\n", False),
    (b"\n-- atlas:sum ignore\n", False),
], ids=["dash", "slashes", "bare", "crlf", "no-arg", "other-arg", "line-2", "blank-line-1"])
def test_sum_ignore_directive_rules(data, ignored):
    f = MigrationFile("1_a.sql", data)
    assert f.sum_ignored is ignored
    assert (HashFile.compute([f]).entries == ()) is ignored


def test_ignored_file_written_sum_validates(tmp_path):
    root = make_dir(tmp_path, {"1_a.sql": "-- atlas:sum ignore\nx", "2_b.sql": "SELECT 1;"})
    text = (root / "atlas.sum").read_text()
    assert "1_a.sql" not in text and "2_b.sql h1:" in text
    MigrationDir.load(root).validate()


# --- parsing --------------------------------------------------------------------------------


def _valid_sum() -> bytes:
    return (CONFORMANCE / "migrate" / "atlas.sum").read_bytes()


@pytest.mark.parametrize("mutate,line", [
    (lambda s: s + b"\n", 4),  # doubled final newline = a blank line 4
    (lambda s: s + b"foo", 4),  # Atlas dir_test: appending "foo"
    (lambda s: s.replace(b"\n1_initial.up", b"\n\n1_initial.up"), 3),
    (lambda s: s.replace(b"1_initial.up.sql h1:", b"1_initial.up.sql "), 3),
], ids=["doubled-final-newline", "appended-foo", "blank-line", "missing-h1"])
def test_parse_format_errors(mutate, line):
    with pytest.raises(errors.ChecksumFormatError) as info:
        HashFile.parse(mutate(_valid_sum()))
    assert info.value.line == line
    assert f"line {line}" in str(info.value)


def test_parse_tampered_total_is_a_mismatch():
    data = _valid_sum()
    tampered = b"h1:AAAA" + data[7:]
    with pytest.raises(errors.ChecksumError) as info:
        HashFile.parse(tampered)
    assert (info.value.reason, info.value.line, info.value.file) == ("mismatch", 1, None)
    with pytest.raises(errors.ChecksumError):
        HashFile.parse(b"")  # empty file: total "" never equals the empty-entries sum


def test_parse_is_lenient_like_atlas():
    data = _valid_sum()
    crlf = data.replace(b"\n", b"\r\n")
    assert HashFile.parse(crlf) == HashFile.parse(data)
    spaced = data.replace(b"1_initial.up.sql h1:", b"  1_initial.up.sql\t  h1:")
    assert HashFile.parse(spaced) == HashFile.parse(data)
    no_prefix = data[3:]  # line 1 without "h1:"
    assert HashFile.parse(no_prefix) == HashFile.parse(data)
    no_final_newline = data.rstrip(b"\n")
    assert HashFile.parse(no_final_newline) == HashFile.parse(data)


def test_parse_keeps_hash_verbatim():
    entries = (("1.sql", "abc "),)
    raw = f"h1:{HashFile.sum_of(entries)}\n1.sql h1:abc \n".encode()
    assert HashFile.parse(raw).entries == entries


# --- validate -------------------------------------------------------------------------------


def _checksum_error(root: Path) -> errors.ChecksumError:
    with pytest.raises(errors.ChecksumError) as info:
        MigrationDir.load(root, unique_versions=False).validate()
    return info.value


def test_validate_removed(tmp_path):
    root = copy_conformance(tmp_path, "migrate")
    (root / "1_initial.down.sql").unlink()
    err = _checksum_error(root)
    assert (err.line, err.file, err.reason) == (2, "1_initial.down.sql", "removed")
    assert str(err) == (
        f"validating atlas.sum in {root}: L2: 1_initial.down.sql was removed; "
        "run 'pulumi-migrations hash' to re-hash the directory if the change is intended"
    )


def test_validate_edited(tmp_path):
    root = copy_conformance(tmp_path, "migrate")
    (root / "1_initial.up.sql").write_bytes(b"CREATE TABLE t(c int, d int);")
    err = _checksum_error(root)
    assert (err.line, err.file, err.reason) == (3, "1_initial.up.sql", "edited")
    assert "L3: 1_initial.up.sql was edited" in str(err)


def test_validate_added_at_end(tmp_path):
    root = copy_conformance(tmp_path, "migrate")
    (root / "2_second.sql").write_bytes(b"CREATE TABLE t2(c int);")
    err = _checksum_error(root)
    assert (err.line, err.file, err.reason) == (4, "2_second.sql", "added")


def test_validate_renamed_file_is_reported_as_added(tmp_path):
    root = copy_conformance(tmp_path, "migrate")
    (root / "1_initial.up.sql").rename(root / "1_first.up.sql")
    err = _checksum_error(root)
    assert (err.line, err.file, err.reason) == (2, "1_first.up.sql", "added")


def test_validate_added_in_the_middle(tmp_path):
    root = make_dir(tmp_path, {"1_a.sql": "A;", "3_c.sql": "C;"})
    (root / "2_b.sql").write_text("B;")
    err = _checksum_error(root)
    assert (err.line, err.file, err.reason) == (3, "2_b.sql", "added")


def test_validate_atlas_cli_example(tmp_path):
    # cmd/atlas/internal/cmdapi/migrate_test.go: hash one file, add another -> L3 added.
    root = make_dir(tmp_path, {"1_initial.sql": "create table t1 (c1 int)"})
    (root / "2_second.sql").write_text("create table t2 (c2 int)")
    err = _checksum_error(root)
    assert (err.line, err.file, err.reason) == (3, "2_second.sql", "added")


def test_validate_sum_without_files(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    shutil.copy(CONFORMANCE / "migrate" / "atlas.sum", root / "atlas.sum")
    err = _checksum_error(root)
    assert (err.line, err.file, err.reason) == (2, "1_initial.down.sql", "removed")


def test_validate_missing_sum(tmp_path):
    root = make_dir(tmp_path, {"1_a.sql": "A;"}, with_sum=False)
    with pytest.raises(errors.ChecksumMissingError) as info:
        MigrationDir.load(root).validate()
    assert str(info.value) == (
        f"validating {root}: atlas.sum not found; run 'pulumi-migrations hash' to create it"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    assert validate(MigrationDir.load(empty)).to_bytes() == EMPTY_SUM


def test_validate_reports_format_errors_before_comparing(tmp_path):
    root = copy_conformance(tmp_path, "migrate")
    with (root / "atlas.sum").open("ab") as fh:
        fh.write(b"foo")
    with pytest.raises(errors.ChecksumFormatError, match=r"atlas\.sum in .*: line 4"):
        MigrationDir.load(root, unique_versions=False).validate()


def _edit_sum(root: Path, edit) -> None:
    lines = (root / "atlas.sum").read_text().splitlines(keepends=True)
    (root / "atlas.sum").write_text("".join(edit(lines)))


def test_validate_names_the_file_of_a_line_removed_from_the_sum(tmp_path):
    """Audit gap 9: a line deleted from atlas.sum by hand (a merge, say) said only "L1: the total
    does not match the entries listed below it"; the total still counts the file, so say which."""
    root = make_dir(tmp_path, {"1_a.sql": "A;", "2_b.sql": "B;", "3_c.sql": "C;"})
    _edit_sum(root, lambda lines: lines[:2] + lines[3:])
    err = _checksum_error(root)
    assert (err.line, err.file, err.reason) == (3, "2_b.sql", "mismatch")
    assert str(err) == (
        f"validating atlas.sum in {root}: L3: the line of 2_b.sql is missing (the total on L1 "
        "counts it; checksum mismatch); run 'pulumi-migrations hash' to re-hash the directory")


def test_validate_names_a_line_added_to_the_sum_and_a_changed_hash(tmp_path):
    root = make_dir(tmp_path, {"1_a.sql": "A;", "2_b.sql": "B;"})
    _edit_sum(root, lambda lines: lines + ["9_z.sql h1:Zm9v\n"])
    err = _checksum_error(root)
    assert (err.line, err.file) == (4, "9_z.sql")
    assert "L4: 9_z.sql is listed, but the total on L1 does not count it (checksum mismatch)" in str(err)
    root = make_dir(tmp_path / "two", {"1_a.sql": "A;", "2_b.sql": "B;"})
    _edit_sum(root, lambda lines: lines[:2] + ["2_b.sql h1:Zm9v\n"])
    err = _checksum_error(root)
    assert (err.line, err.file) == (3, "2_b.sql")
    assert "L3: the hash of 2_b.sql was changed (the total on L1 counts another; checksum" in str(err)


def test_validate_names_the_first_difference_when_files_and_sum_lines_both_changed(tmp_path):
    """A file added and its line written by hand without a new total: the total is wrong and the
    lines are not the directory's either; the message names the first line that differs."""
    root = make_dir(tmp_path, {"1_a.sql": "A;", "2_b.sql": "B;"})
    (root / "3_c.sql").write_text("C;")
    _edit_sum(root, lambda lines: lines + ["3_c.sql h1:Zm9v\n"])
    err = _checksum_error(root)
    assert (err.line, err.file, err.reason) == (4, "3_c.sql", "mismatch")
    assert (f"validating atlas.sum in {root}: L1: the total does not match the entries listed below "
            "it (checksum mismatch), and L4 (3_c.sql) does not match the directory either") in str(err)


def test_validate_in_memory_directory():
    files = {"1_a.sql": b"A;"}
    good = HashFile.compute([MigrationFile("1_a.sql", b"A;")]).to_bytes()
    assert MigrationDir.from_files(files, good).validate().entries[0][0] == "1_a.sql"
    with pytest.raises(errors.ChecksumError, match="<in-memory directory>: L2: 1_a.sql was edited"):
        MigrationDir.from_files({"1_a.sql": b"B;"}, good).validate()


def test_two_thousand_files_load_hash_validate_fast(tmp_path):
    files = {f"{i:014d}_m{i}.sql": f"CREATE TABLE t{i}(id int);\n" for i in range(2000)}
    root = make_dir(tmp_path, files)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        MigrationDir.load(root).validate()
        best = min(best, time.perf_counter() - start)
    assert best < 0.5, f"load+hash+validate of 2000 files took {best * 1000:.1f} ms"
