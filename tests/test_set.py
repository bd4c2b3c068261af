"""``pulumi-migrations set VERSION`` (Atlas's ``migrate set``) on SQLite, PostgreSQL and MariaDB.

Atlas's rules (``cmd/atlas/internal/cmdapi/migrate.go`` ``migrateSetRun``): rows after VERSION
are deleted; files up to VERSION without a row get a row of type 4 (``RevisionTypeResolved``),
applied 0 of 0, ``executed_at`` now, their atlas.sum hash, the operator version; a failed row at
VERSION becomes type 6; all under the migration lock. Nothing runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pulumi_migrations_provider import engine
from pulumi_migrations_provider.dialects import for_target
from pulumi_migrations_provider.errors import LockError, PartialRevisionError, VersionError
from pulumi_migrations_provider.migdir import MigrationDir
from pulumi_migrations_provider.reports import Options
from pulumi_migrations_provider.setrev import set_version
from pulumi_migrations_provider.target import Target
from tests.dbtools import execute, revisions, table_exists, user_tables
from tests.dirtools import make_dir
from tests.test_cli import one_error_line, run

FILES = {
    "1_users.sql": "CREATE TABLE users (id int);\n",
    "2_posts.sql": "CREATE TABLE posts (id int);\nCREATE TABLE post_tags (id int);\n",
    "3_tags.sql": "CREATE TABLE tags (id int);\n",
}
OPERATOR = f"pulumi-migrations {engine.__version__}"


def _ph(value):
    if isinstance(value, (bytes, bytearray)):
        value = value.decode()
    return json.loads(value) if isinstance(value, str) else value


def test_set_forward_writes_rows_as_atlas_set_does(server_db, tmp_path):
    url = server_db.url
    d = make_dir(tmp_path, FILES)
    engine.apply(url, d, Options(amount=1))
    report = set_version(url, d, "3")
    assert [(o.op, o.revision.version) for o in report.ops] == [("set", "2"), ("set", "3")]
    assert report.current is not None and report.current.version == "3"
    hf = MigrationDir.load(d).validate()
    rows = {r["version"]: r for r in revisions(url)}
    assert sorted(rows) == ["1", "2", "3"]
    assert rows["1"]["type"] == 2                                  # untouched
    for v, name in (("2", "2_posts.sql"), ("3", "3_tags.sql")):
        r = rows[v]
        assert (r["type"], r["applied"], r["total"], r["execution_time"]) == (4, 0, 0, 0)
        assert r["description"] == name.split("_", 1)[1][:-4]
        assert r["hash"] == hf.hash_of(name)
        assert r["error"] == "" and r["error_stmt"] == ""
        assert _ph(r["partial_hashes"]) is None
        assert r["operator_version"] == OPERATOR and r["executed_at"] is not None
    assert user_tables(url) == ["users"]                          # nothing ran
    st = engine.status(url, d)
    assert (st.status, st.current_version, st.pending) == ("OK", "3", [])
    assert engine.apply(url, d).applied == []


def test_set_back_deletes_later_rows_and_keeps_the_schema(server_db, tmp_path):
    url = server_db.url
    d = make_dir(tmp_path, FILES)
    engine.apply(url, d)
    report = set_version(url, d, "1")
    assert [(o.op, o.revision.version) for o in report.ops] == [("remove", "2"), ("remove", "3")]
    assert [r["version"] for r in revisions(url)] == ["1"]
    assert {"posts", "tags"} <= set(user_tables(url))
    assert engine.status(url, d).pending == ["2_posts.sql", "3_tags.sql"]


def test_set_on_a_fresh_database_creates_the_table(server_db, tmp_path):
    url = server_db.url
    d = make_dir(tmp_path, FILES)
    set_version(url, d, "2")
    assert table_exists(url)
    assert [(r["version"], r["type"]) for r in revisions(url)] == [("1", 4), ("2", 4)]
    assert engine.status(url, d).pending == ["3_tags.sql"]
    assert engine.apply(url, d).applied == ["3_tags.sql"]


def test_dry_run_prints_the_rows_and_writes_nothing(server_db, tmp_path):
    url = server_db.url
    d = make_dir(tmp_path, FILES)
    engine.apply(url, d, Options(amount=2))
    before = revisions(url)
    result = run("set", "1", "--dir", d, "--url", url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:3] == [
        "Dry run, nothing written: would set the current version to 1 (1 removed):", "",
        "  - 2 (posts): delete (type 2 (applied), applied 2 of 2)"]
    result = run("set", "3", "--dir", d, "--url", url, "--dry-run")
    hf = MigrationDir.load(d).validate()
    assert f"  + 3 (tags): write type 4 (manually set), applied 0 of 0, hash {hf.hash_of('3_tags.sql')}" \
        in result.stdout.splitlines()
    assert revisions(url) == before


def test_dry_run_on_a_missing_sqlite_file_creates_nothing(tmp_path):
    d = make_dir(tmp_path, FILES)
    db = tmp_path / "none.db"
    report = set_version(f"sqlite://{db}", d, "2", dry_run=True)
    assert [o.revision.version for o in report.ops] == ["1", "2"] and report.dry_run
    assert not db.exists()


def test_cli_text_is_atlas_set_output(server_db, tmp_path):
    url = server_db.url
    d = make_dir(tmp_path, FILES)
    engine.apply(url, d, Options(amount=2))
    result = run("set", "1", "--dir", d, "--url", url)
    assert (result.exit_code, result.stdout) == (0, "Current version is 1 (1 removed):\n\n  - 2 (posts)\n\n")
    result = run("set", "3", "--dir", d, "--url", url)
    assert result.stdout == "Current version is 3 (2 set):\n\n  + 2 (posts)\n  + 3 (tags)\n\n"
    again = run("set", "3", "--dir", d, "--url", url)
    assert again.stdout == "Nothing to change: the revisions table already records version 3\n"
    purge = run("set", "--dir", make_dir(tmp_path, {}, name="empty"), "--url", url)
    assert purge.stdout.startswith("All revisions deleted (3 in total):"), purge.output
    assert revisions(url) == []


def test_partially_applied_file_is_refused_unless_allow_partial(server_db, tmp_path):
    url = server_db.url
    d = make_dir(tmp_path, {"1_users.sql": FILES["1_users.sql"],
                            "2_half.sql": "CREATE TABLE half (id int);\nINSERT INTO nope VALUES (1);\n"})
    result = run("apply", "--dir", d, "--url", url, "--tx-mode", "none")
    assert result.exit_code == 1
    row = revisions(url)[-1]
    assert (row["version"], row["applied"], row["total"]) == ("2", 1, 2)
    with pytest.raises(PartialRevisionError, match=r"2_half.sql \(version 2\) stopped midway "
                                                   r"\(1 of 2 statements ran; its last error: ") as err:
        set_version(url, d, "2")
    assert "--" not in str(err.value)  # the engine's text names no flag; the CLI adds it
    cli = run("set", "2", "--dir", d, "--url", url)
    assert cli.exit_code == 1 and "--allow-partial" in one_error_line(cli.stderr)
    assert revisions(url)[-1] == row                               # refused: nothing written
    execute(url, "CREATE TABLE nope (id int)", "INSERT INTO nope VALUES (1)")  # finished by hand
    report = set_version(url, d, "2", allow_partial=True)
    assert [(o.op, o.revision.version, o.revision.type) for o in report.ops] == [("set", "2", 6)]
    row = revisions(url)[-1]
    assert (row["type"], row["applied"], row["total"], row["error"], row["error_stmt"]) == (6, 2, 2, "", "")
    st = engine.status(url, d)
    assert (st.status, st.current_version, st.partial, st.error) == ("OK", "2", False, None)


def test_a_partial_row_after_the_version_is_simply_removed(server_db, tmp_path):
    url = server_db.url
    d = make_dir(tmp_path, {"1_users.sql": FILES["1_users.sql"],
                            "2_half.sql": "CREATE TABLE half (id int);\nINSERT INTO nope VALUES (1);\n"})
    run("apply", "--dir", d, "--url", url, "--tx-mode", "none")
    set_version(url, d, "1")
    assert [r["version"] for r in revisions(url)] == ["1"]


def test_out_of_order_file_gets_no_row_as_in_atlas(server_db, tmp_path):
    """Atlas records only files after the last row; a file added out of order before it stays
    unrecorded (its row would change the chained hash of every later file)."""
    url = server_db.url
    d = make_dir(tmp_path, {"1_users.sql": FILES["1_users.sql"], "3_tags.sql": FILES["3_tags.sql"]})
    engine.apply(url, d)
    d = make_dir(tmp_path, FILES)
    assert set_version(url, d, "3").ops == []
    assert engine.status(url, d).out_of_order == ["2_posts.sql"]


def test_unknown_version_and_empty_table_without_version(server_db, tmp_path):
    url = server_db.url
    d = make_dir(tmp_path, FILES)
    with pytest.raises(VersionError, match="no migration file has that version"):
        set_version(url, d, "9")
    cli = run("set", "9", "--dir", d, "--url", url)
    assert cli.exit_code == 1
    assert "no migration file has that version" in one_error_line(cli.stderr)
    with pytest.raises(VersionError, match="revisions table is empty"):
        set_version(url, d, None)
    assert not table_exists(url) or revisions(url) == []


def test_set_takes_the_migration_lock(server_db, tmp_path):
    url = server_db.url
    d = make_dir(tmp_path, FILES)
    engine.apply(url, d, Options(amount=1))
    target = Target.parse(url)
    holder = for_target(target).connect(target, timeout=5)
    assert holder is not None
    holder.lock(5)
    try:
        with pytest.raises(LockError):
            set_version(url, d, "3", Options(lock_timeout=0.5))
    finally:
        holder.close()
    assert [r["version"] for r in revisions(url)] == ["1"]
    assert [o.revision.version for o in set_version(url, d, "3").ops] == ["2", "3"]


def test_json_formats(server_db, tmp_path):
    url = server_db.url
    d = make_dir(tmp_path, FILES)
    engine.apply(url, d, Options(amount=1))
    ours = run("set", "2", "--dir", d, "--url", url, "--format", "json", "--dry-run")
    doc = json.loads(ours.stdout)
    # Audit gap 9: ours mixed our keys with Atlas's Revisions/Op/Latest; now ours throughout
    assert list(doc) == ["dry_run", "revisions_table", "version", "current_version", "summary", "ops"]
    assert (doc["dry_run"], doc["version"], doc["current_version"], doc["summary"]) == (True, "2", "2", "1 set")
    op, = doc["ops"]
    assert list(op) == ["op", "version", "description", "type", "applied", "total", "executed_at",
                        "execution_time", "error", "error_stmt", "hash", "partial_hashes",
                        "operator_version"]
    assert (op["op"], op["version"], op["type"], op["applied"]) == ("set", "2", 4, 0)
    loaded = MigrationDir.load(d)
    two = loaded.file("2")
    assert two is not None and op["hash"] == loaded.hash_file().hash_of(two.name)
    assert op["executed_at"].startswith(("20", "19"))  # a timestamp, as text
    atlas = run("set", "2", "--dir", d, "--url", url, "--format", "{{ json . }}")
    doc = json.loads(atlas.stdout)
    assert list(doc) == ["Revisions", "Latest"]
    rev = doc["Revisions"][0]
    assert list(rev) == ["Version", "Description", "Type", "Applied", "Total", "ExecutedAt",
                         "ExecutionTime", "OperatorVersion", "Op"]
    assert (rev["Version"], rev["Type"], rev["Applied"], rev["Op"]) == ("2", "manually set", 0, "set")
    assert doc["Latest"]["Version"] == "2"


def test_a_partial_last_row_before_the_version_is_refused_too(tmp_path):
    url = f"sqlite://{tmp_path}/app.db"
    d = make_dir(tmp_path, {"1_users.sql": FILES["1_users.sql"],
                            "2_half.sql": "CREATE TABLE half (id int);\nINSERT INTO nope VALUES (1);\n",
                            "3_tags.sql": FILES["3_tags.sql"]})
    run("apply", "--dir", d, "--url", url, "--tx-mode", "none")
    with pytest.raises(PartialRevisionError, match="or set a version before 2 to remove its row"):
        set_version(url, d, "3")
    report = set_version(url, d, "3", allow_partial=True)
    assert [(o.revision.version, o.revision.type) for o in report.ops] == [("2", 6), ("3", 4)]
    assert engine.status(url, d).status == "OK"


def test_a_refused_set_writes_nothing(tmp_path: Path) -> None:
    """``set`` without VERSION on a database without revisions is refused before anything is
    written: no SQLite file is created, an existing one is left byte for byte."""
    import hashlib
    import sqlite3
    import subprocess
    import sys

    d = make_dir(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (id INT);\n"})
    missing = tmp_path / "none.db"
    existing = tmp_path / "app.db"
    with sqlite3.connect(existing) as conn:
        conn.execute("CREATE TABLE t (x INT)")
    before = hashlib.sha256(existing.read_bytes()).hexdigest()
    for db in (missing, existing):
        proc = subprocess.run([sys.executable, "-m", "pulumi_migrations_provider", "set",
                               "--dir", f"file://{d}", "--url", f"sqlite://{db}"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1 and "the revisions table is empty" in proc.stderr
    assert not missing.exists()
    assert hashlib.sha256(existing.read_bytes()).hexdigest() == before


def test_a_set_failing_midway_writes_nothing(server_db, tmp_path, monkeypatch):
    """The rows of one ``set`` are written in one transaction: a failure at the second row
    leaves the table as it was (executor.transaction rolls back)."""
    from pulumi_migrations_provider.revisions import RevisionStore

    url = server_db.url
    d = make_dir(tmp_path, FILES)
    set_version(url, d, "1")
    before = revisions(url)
    real, calls = RevisionStore.write, []

    def write(self, rev):
        calls.append(rev.version)
        if len(calls) == 2:
            raise OSError("disk on fire")
        return real(self, rev)

    monkeypatch.setattr(RevisionStore, "write", write)
    with pytest.raises(OSError, match="disk on fire"):
        set_version(url, d, "3")
    assert calls == ["2", "3"]
    assert revisions(url) == before
