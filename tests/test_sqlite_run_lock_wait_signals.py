"""Ctrl-C and SIGTERM while a run's statements wait for a SQLite file another connection holds
(WAL mode, or ``_locking_mode=normal``: the run does not keep the file to itself) stop the run
at once (exit 130/143, one line, nothing applied), whatever ``--lock-timeout`` says; the waits
still end by themselves when the holder lets go. SQLite's own busy wait is C code during which
Python runs no signal handler: before, a Ctrl-C 1.5 s into ``BEGIN IMMEDIATE`` with
``--lock-timeout 30s`` took effect when the 30 s were over."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pulumi_migrations_provider import engine

from tests.dirtools import make_dir
from tests.test_sqlite_lock_wait_signals import assert_stopped_by, signal_while_waiting

ROOT = Path(__file__).resolve().parent.parent
FILES = {"1_a.sql": "CREATE TABLE a (id INT);\n",
         "2_b.sql": "CREATE TABLE b (id INT);\nINSERT INTO b (id) VALUES (1);\n"}


def _wal_writer(db: Path) -> sqlite3.Connection:
    """An application half way through a write transaction on a WAL database: the run's
    BEGIN IMMEDIATE waits for it."""
    app = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    app.execute("BEGIN IMMEDIATE")
    app.execute("INSERT INTO a (id) VALUES (8)")
    return app


_normal_writer = _wal_writer  # the same, in rollback-journal mode with _locking_mode=normal


def _normal_reader(db: Path) -> sqlite3.Connection:
    """An application inside a read transaction (a SHARED lock): in rollback-journal mode the
    run's BEGIN IMMEDIATE and statements go through, its COMMIT waits for the reader."""
    app = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    app.execute("BEGIN")
    app.execute("SELECT count(*) FROM a").fetchall()
    return app


CASES = {
    "wal-writer-sigint": (_wal_writer, True, "", signal.SIGINT),
    "wal-writer-sigterm": (_wal_writer, True, "", signal.SIGTERM),
    "normal-writer-sigint": (_normal_writer, False, "?_locking_mode=normal", signal.SIGINT),
    "normal-reader-commit-sigterm": (_normal_reader, False, "?_locking_mode=normal", signal.SIGTERM),
}


def _setup(tmp_path: Path, wal: bool, query: str) -> tuple[Path, str, Path]:
    db = tmp_path / "app.db"
    url = f"sqlite://{db}{query}"
    if wal:
        sqlite3.connect(db).execute("PRAGMA journal_mode = WAL").fetchall()
    engine.apply(url, make_dir(tmp_path / "first", dict(list(FILES.items())[:1])))
    return db, url, make_dir(tmp_path, FILES)


def _start(tmp_path: Path, d: Path, url: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    return subprocess.Popen(
        [sys.executable, "-m", "pulumi_migrations_provider", "apply", "--dir", str(d), "--url", url,
         "--lock-timeout", "30s"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _applied_once(db: Path, url: str, d: Path) -> None:
    assert engine.status(url, d).pending == []
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT count(*) FROM b").fetchone()[0] == 1
        assert check.execute("SELECT version FROM atlas_schema_revisions ORDER BY version"
                             ).fetchall() == [("1",), ("2",)]


@pytest.mark.parametrize("case", list(CASES))
def test_a_signal_stops_a_run_waiting_for_a_held_file_at_once(tmp_path: Path, case: str) -> None:
    holder, wal, query, sig = CASES[case]
    db, url, d = _setup(tmp_path, wal, query)
    held = holder(db)
    try:
        proc = _start(tmp_path, d, url)
        took, out, err = signal_while_waiting(proc, sig)
        assert engine.status(url, d).pending == ["2_b.sql"]  # nothing written (holder still there)
    finally:
        held.close()
    assert took < 1, f"stopped {took:.1f}s after the signal"
    assert_stopped_by(sig, proc, out, err)
    engine.apply(url, d)  # the holder has let go: the rerun applies the file, once
    _applied_once(db, url, d)


@pytest.mark.parametrize("case", ["wal-writer-sigint", "normal-reader-commit-sigterm"])
def test_a_run_waiting_for_a_held_file_goes_on_once_it_is_let_go(tmp_path: Path, case: str) -> None:
    holder, wal, query, _ = CASES[case]
    db, url, d = _setup(tmp_path, wal, query)
    held = holder(db)
    timer = threading.Timer(1.5, held.close)
    timer.start()
    try:
        proc = _start(tmp_path, d, url)
        out, err = proc.communicate(timeout=60)
    finally:
        timer.join()
    assert proc.returncode == 0, (out, err)
    _applied_once(db, url, d)


@pytest.mark.parametrize("case, doing", [("wal-writer-sigint", "acquiring the database file"),
                                         ("normal-reader-commit-sigterm", "committing to the database file")])
def test_a_held_file_still_gives_up_after_the_lock_timeout(tmp_path: Path, case: str, doing: str) -> None:
    holder, wal, query, _ = CASES[case]
    db, url, d = _setup(tmp_path, wal, query)
    held = holder(db)
    try:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "pulumi_migrations_provider", "apply", "--dir", str(d), "--url",
             url, "--lock-timeout", "2s"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        took = time.monotonic() - started
    finally:
        held.close()
    assert proc.returncode != 0 and 1.8 < took < 6, (took, proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"error: {doing} ") and "(waited 2s)" in lines[0], lines[0]
    assert engine.status(url, d).pending == ["2_b.sql"]
