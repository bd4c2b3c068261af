"""A WAL-mode SQLite database (issue 8): ``status``, ``apply --dry-run`` and ``validate`` create
no ``-wal``/``-shm`` file and change no byte of the database, yet see what a writer that has not
checkpointed its log has committed."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from pulumi_migrations_provider import engine
from pulumi_migrations_provider.reports import Options

from tests.dirtools import make_dir

ROOT = Path(__file__).resolve().parent.parent
FILES = {"1_a.sql": "CREATE TABLE a (id INT);\n", "2_b.sql": "CREATE TABLE b (id INT);\n"}


def _cli(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "pulumi_migrations_provider", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def _wal_db(path: Path) -> None:
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    conn.close()


def _snapshot(db: Path) -> tuple[str, float, list[str]]:
    siblings = sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name))
    return hashlib.sha256(db.read_bytes()).hexdigest(), db.stat().st_mtime, siblings


def test_looks_at_a_wal_database_create_and_change_nothing(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    _wal_db(db)
    d = make_dir(tmp_path, FILES)
    url = f"sqlite://{db}"
    assert engine.apply(url, d, Options(amount=1)).applied == ["1_a.sql"]
    before = _snapshot(db)
    assert before[2] == ["app.db"], before  # the last connection checkpointed and removed them
    assert engine.status(url, d).pending == ["2_b.sql"]
    assert engine.apply(url, d, dry_run=True).pending == ["2_b.sql"]
    for args in (("status",), ("apply", "--dry-run"), ("validate",)):
        proc = _cli(*args, "--dir", str(d), "--url", url, tmp_path=tmp_path)
        assert proc.returncode == 0, proc.stderr
    assert _snapshot(db) == before


def test_a_look_sees_what_a_live_writer_committed_to_its_log(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    _wal_db(db)
    d = make_dir(tmp_path, FILES)
    url = f"sqlite://{db}"
    engine.apply(url, d)
    writer = sqlite3.connect(db, isolation_level=None)
    try:
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("DELETE FROM atlas_schema_revisions WHERE version = '2'")  # committed, in the log only
        assert os.path.getsize(f"{db}-wal") > 0
        assert engine.status(url, d).pending == ["2_b.sql"]
    finally:
        writer.close()
