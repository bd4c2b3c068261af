"""``lint --url`` on a target that is busy degrades to static findings with a note, within
``--facts-timeout`` (issue 10: "an unreachable database degrades to static findings with a note";
the look never waits on a lock). Found by the review of issues 8-12: a SQLite file held by a run
made ``lint`` wait 20 s whatever ``--facts-timeout`` said, then fail with exit 1; a MariaDB
session holding ``LOCK TABLES ... WRITE`` on the revisions table made it fail too."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pymysql

from pulumi_migrations_provider.target import Target
from tests.dirtools import make_dir
from tests.servers import MariaDbServer
from tests.test_cli import run

FILES = {"1_a.sql": "CREATE TABLE users (id INT, name TEXT);\n"}
RISKY = "ALTER TABLE users RENAME COLUMN name TO full_name;\n"  # BC102: a warning, so exit 0


def _static(d: Path, dialect: str) -> list[dict]:
    """What ``lint`` says without a URL: every file, no facts."""
    proc = run("lint", "--dir", d, "--dialect", dialect, "--format", "json")
    assert proc.exit_code == 0, proc.output
    return json.loads(proc.stdout)["findings"]


def _lint(url: str, d: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pulumi_migrations_provider", "lint", "--url", url,
                           "--dir", f"file://{d}", *extra], capture_output=True, text=True,
                          timeout=120)
    return proc, time.monotonic() - started


def test_a_sqlite_file_held_by_a_run_degrades_within_the_facts_timeout(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    url = f"sqlite://{tmp_path}/app.db"
    assert run("apply", "--dir", d, "--url", url).exit_code == 0
    (d / "2_b.sql").write_text(RISKY)
    assert run("hash", "--dir", d).exit_code == 0
    holder = sqlite3.connect(tmp_path / "app.db", isolation_level=None)
    try:  # what a run does to the file (dialects/sqlite.py _tune_for_apply)
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO users VALUES (1, 'x')")
        holder.execute("COMMIT")
        proc, took = _lint(url, d, "--facts-timeout", "1s", "--format", "json")
    finally:
        holder.close()
    assert proc.returncode == 0, proc.stderr
    assert took < 6, took  # bounded by --facts-timeout, not the 10 s connect default
    doc = json.loads(proc.stdout)
    assert "locked by another process" in doc["note"]
    assert "linted every file without live facts" in doc["note"]
    # Static findings of every file (the pending ones could not be read).
    assert doc["findings"] == _static(d, "sqlite")
    live, _ = _lint(url, d, "--format", "json")  # released: only 2_b.sql, with its facts
    assert live.returncode == 0 and "note" not in json.loads(live.stdout), live.stderr
    assert [(f["file"], f["code"], f["rows"]) for f in json.loads(live.stdout)["findings"]] == [
        ("2_b.sql", "BC102", 1)]


def test_a_locked_mariadb_revisions_table_degrades_too(maria_server: MariaDbServer,
                                                        maria_url: str, tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    assert run("apply", "--dir", d, "--url", maria_url).exit_code == 0
    (d / "2_b.sql").write_text(RISKY)
    assert run("hash", "--dir", d).exit_code == 0
    database = Target.parse(maria_url).database
    holder = pymysql.connect(host=maria_server.host, port=maria_server.port,
                             user=maria_server.admin_user, password=maria_server.admin_password,
                             database=database, autocommit=True)
    try:
        with holder.cursor() as cur:
            cur.execute("LOCK TABLES atlas_schema_revisions WRITE")
        proc, took = _lint(maria_url, d, "--facts-timeout", "1s", "--format", "json")
    finally:
        holder.close()
    assert proc.returncode == 0, proc.stderr
    assert took < 6, took
    doc = json.loads(proc.stdout)
    assert "holds a lock" in doc["note"] and "without live facts" in doc["note"]
    assert doc["findings"] == _static(d, "mysql")
