"""``set`` on a row whose file was fixed after it failed records the file as it is now.

A failed or partial row keeps the hash of the file as it was when the row was created (ours until
a resume, Atlas's for good). Setting that version as applied is the user's statement that the
database matches the files as they are: recording the old hash made our very next ``status`` and
``apply`` fail with "2_fail.sql was changed after it was applied" (found by the review of
issues 8-12: ``set 2 --allow-partial`` after fixing the file, on MariaDB). The same happened
after Atlas's own resume of a fixed file (applied 4 of 3, Atlas's broken hash kept), where
``set --allow-partial`` is the way out.
"""

from __future__ import annotations

from pathlib import Path

from pulumi_migrations_provider import engine
from pulumi_migrations_provider.migdir import MigrationDir
from tests.atlas_player import PlayedAtlas
from tests.dbtools import execute, revisions
from tests.dirtools import make_dir
from tests.test_cli import run

BROKEN = "CREATE TABLE t2a (id INT);\nINSERT INTO missing_t VALUES (1);\nCREATE TABLE t2c (id INT);\n"
FIXED = "CREATE TABLE t2a (id INT);\nCREATE TABLE t2b (id INT);\nCREATE TABLE t2c (id INT);\n"


def _write(d: Path, name: str, text: str) -> None:
    (d / name).write_text(text)
    MigrationDir.load(d).write_sum()


def test_set_after_fixing_a_partial_file_leaves_a_clean_database(db_url: str, tmp_path: Path) -> None:
    d = make_dir(tmp_path, {"1_init.sql": "CREATE TABLE t1 (id INT);\n", "2_fail.sql": BROKEN})
    failed = run("apply", "--dir", d, "--url", db_url, "--tx-mode", "none")
    assert failed.exit_code == 1, failed.output
    assert revisions(db_url)[-1]["applied"] == 1
    _write(d, "2_fail.sql", FIXED)
    execute(db_url, "CREATE TABLE t2b (id INT)", "CREATE TABLE t2c (id INT)")  # finished by hand
    dry = run("set", "2", "--allow-partial", "--dry-run", "--dir", d, "--url", db_url)
    new_hash = MigrationDir.load(d).validate().hash_of("2_fail.sql")
    assert dry.exit_code == 0 and f"hash {new_hash}" in dry.stdout, dry.output
    done = run("set", "2", "--allow-partial", "--dir", d, "--url", db_url)
    assert done.exit_code == 0, done.output
    row = revisions(db_url)[-1]
    assert (row["version"], row["type"], row["applied"], row["total"], row["hash"]) == (
        "2", 6, 3, 3, new_hash)
    status = run("status", "--dir", d, "--url", db_url)
    assert status.exit_code == 0 and status.stderr == "", status.output
    assert "Migration Status: OK" in status.stdout
    again = run("apply", "--dir", d, "--url", db_url)
    assert again.exit_code == 0 and "No migration files to execute" in again.stdout, again.output


def test_set_is_the_way_out_after_atlas_resumed_a_fixed_file(maria_url: str, tmp_path: Path) -> None:
    """Atlas resumes a fixed file with one statement more: 4 of 3, its broken hash kept (and its
    own next run would panic). ``set 2 --allow-partial`` then leaves both tools agreeing."""
    atlas = PlayedAtlas()
    d = make_dir(tmp_path, {"1_init.sql": "CREATE TABLE t1 (id INT);\n", "2_fail.sql": BROKEN})
    assert atlas.apply(maria_url, d).exit_code == 1
    _write(d, "2_fail.sql", FIXED + "CREATE TABLE t2d (id INT);\n")
    assert atlas.apply(maria_url, d).exit_code == 0
    row = revisions(maria_url)[-1]
    assert (row["applied"], row["total"]) == (4, 3)
    done = run("set", "2", "--allow-partial", "--dir", d, "--url", maria_url)
    assert done.exit_code == 0, done.output
    # Recorded as the file is now: its 4 statements ran (not "3 of 3"), under its current hash.
    row = revisions(maria_url)[-1]
    new_hash = MigrationDir.load(d).validate().hash_of("2_fail.sql")
    assert (row["type"], row["applied"], row["total"], row["hash"], row["error"]) == (
        6, 4, 4, new_hash, ""), row
    assert engine.status(maria_url, d).status == "OK"
    assert atlas.status(maria_url, d).status == "OK"
    _write(d, "3_next.sql", "CREATE TABLE t3 (id INT);\n")
    assert run("apply", "--dir", d, "--url", maria_url).exit_code == 0
    assert atlas.status(maria_url, d).status == "OK"
