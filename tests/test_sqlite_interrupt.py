"""Ctrl-C and SIGTERM during a long SQLite statement (dialects/sqlite_interrupt.py).

SQLite runs a statement in C without returning to Python, so a signal's Python handler used to
run only once the statement had completed (~20 s for the INSERT below), and the work was then
rolled back. The run's connection now has a progress handler in which the pending handler runs:
the statement is aborted within a millisecond and the interrupt raised in its place.
"""

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

from pulumi_migrations_provider.dialects.sqlite import SQLiteConnection, SQLiteDialect
from pulumi_migrations_provider.target import Target
from tests.dirtools import make_dir

ROOT = Path(__file__).resolve().parent.parent
LONG = 60_000_000  # ~20 s and ~770 MB of rows if it ran to its end; the knob makes the rerun quick
RERUN = 1000
UNDER_WAY = 4 << 20  # the database file passes 4 MB only while the long INSERT spills its pages
BOUND = 5.0          # seconds from the signal to the exit (it takes milliseconds)

LONG_INSERT = ("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c\n"
               "  WHERE i < (SELECT n FROM knob)) INSERT INTO t SELECT i FROM c;\n")


def _files(tx_mode: str) -> dict[str, str]:
    header = "-- atlas:txmode none\n\n" if tx_mode == "none" else ""
    return {
        "1_knob.sql": f"CREATE TABLE knob (n INTEGER);\nINSERT INTO knob VALUES ({LONG});\n",
        "2_long.sql": header + "CREATE TABLE t (i INTEGER);\n" + LONG_INSERT
                      + "CREATE TABLE after_long (id INTEGER);\n",
    }


def _apply(d: Path, url: str, tmp_path: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, TMPDIR=str(tmp_path), PYTHONUNBUFFERED="1")
    env.pop("DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "pulumi_migrations_provider", "apply", "--dir", str(d), "--url", url],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_under_way(proc: subprocess.Popen[str], db: Path) -> None:
    """Until the long INSERT is running. The apply log cannot tell: its lines for a file are
    written once the file is done (that is why an earlier version of this test, which waited
    for "-- migrating version 2", signalled a process that had already finished)."""
    deadline = time.monotonic() + 60
    while not (db.exists() and db.stat().st_size > UNDER_WAY):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the long INSERT never started"
        time.sleep(0.02)
    time.sleep(0.5)


@pytest.mark.parametrize("tx_mode", ["file", "none"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_an_interrupt_stops_a_long_statement_then_the_rerun_applies_it_once(
        tmp_path: Path, sig: signal.Signals, tx_mode: str) -> None:
    d = make_dir(tmp_path, _files(tx_mode))
    db = tmp_path / "app.db"
    url = f"sqlite://{db}"
    proc = _apply(d, url, tmp_path)
    _wait_until_under_way(proc, db)
    assert proc.poll() is None, "the long statement ended before the signal"
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    took = time.monotonic() - sent
    assert took < BOUND, f"stopping took {took:.1f}s: the statement ran on after the signal"
    assert proc.returncode == (130 if sig == signal.SIGINT else 143), (proc.returncode, err)
    word = "interrupted" if sig == signal.SIGINT else "terminated (SIGTERM)"
    assert err == f"error: {word}; rerun the same command to continue\n"

    with sqlite3.connect(db) as check:
        tables = {r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        rows = {r[0]: r[1:] for r in check.execute(
            "SELECT version, applied, total, error, error_stmt FROM atlas_schema_revisions")}
        assert "after_long" not in tables
        assert rows["1"] == (2, 2, "", ""), rows
        if tx_mode == "file":  # the file's transaction rolled back: no trace of it
            assert "t" not in tables and "2" not in rows, (tables, rows)
        else:  # its CREATE TABLE committed with its progress row; nothing of the INSERT
            assert check.execute("SELECT count(*) FROM t").fetchone()[0] == 0
            assert rows["2"] == (1, 3, "", ""), rows
        check.execute("UPDATE knob SET n = ?", (RERUN,))
    assert db.stat().st_size < UNDER_WAY  # the INSERT's pages went with its rollback

    rerun = _apply(d, url, tmp_path)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT count(*), count(DISTINCT i), max(i) FROM t").fetchone() == (
            RERUN, RERUN, RERUN)
        assert check.execute("SELECT count(*) FROM after_long").fetchone() == (0,)
        rows = check.execute(
            "SELECT version, applied, total, error FROM atlas_schema_revisions ORDER BY version").fetchall()
        assert rows == [("1", 2, 2, ""), ("2", 3, 3, "")], rows


# --- the connection itself, in this process ---------------------------------------------------

COUNT = ("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200000000) "
         "SELECT count(*) FROM c")
ROWS = COUNT.replace("SELECT count(*) FROM c", "SELECT i FROM c")


def _connect(tmp_path: Path) -> SQLiteConnection:
    conn = SQLiteDialect().connect(Target.parse(f"sqlite://{tmp_path / 'x.db'}"), timeout=1.0)
    assert isinstance(conn, SQLiteConnection)
    return conn


def _signal_in(seconds: float, sig: signal.Signals = signal.SIGINT) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), sig))
    timer.start()
    return timer


@pytest.mark.parametrize("how", ["execute", "query", "run_script"])
def test_the_interrupt_comes_out_of_every_call_that_steps_a_statement(tmp_path: Path, how: str) -> None:
    conn = _connect(tmp_path)
    started = time.monotonic()
    timer = _signal_in(0.3)
    try:
        with pytest.raises(KeyboardInterrupt) as caught:
            if how == "execute":
                conn.execute(COUNT)  # steps to its only row: all the work is here
            elif how == "query":
                conn.query(ROWS)  # execute steps to the first row, fetchall through the rest
            else:
                conn.run_script(["CREATE TABLE x (i INTEGER);",
                                 ROWS.replace("SELECT i FROM c", "INSERT INTO x SELECT i FROM c;")],
                                begin=True, commit=True)
    finally:
        timer.cancel()
    assert time.monotonic() - started < BOUND
    assert type(caught.value) is KeyboardInterrupt and caught.value.__context__ is None
    if conn.in_tx:
        conn.rollback()
    assert conn.query("SELECT count(*) FROM sqlite_master") == [(0,)]  # the script rolled back
    conn.close()


def test_the_interrupt_keeps_its_type(tmp_path: Path) -> None:
    class Terminated(KeyboardInterrupt):
        pass

    def raise_terminated(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    conn = _connect(tmp_path)
    timer = _signal_in(0.3, signal.SIGTERM)
    try:
        with pytest.raises(Terminated):
            conn.execute(COUNT)
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous)
        conn.close()


def test_a_deadline_stops_the_statement_with_sqlites_own_error(tmp_path: Path) -> None:
    conn = _connect(tmp_path)
    conn.raw.set_deadline(time.monotonic() + 0.2)
    with pytest.raises(sqlite3.OperationalError, match="^interrupted$"):
        conn.execute(COUNT)
    conn.raw.set_deadline(None)
    assert conn.query(COUNT.replace("200000000", "100000")) == [(100000,)]
    conn.close()


def test_a_handler_that_ended_is_replaced_and_the_stop_still_reported(tmp_path: Path) -> None:
    conn = _connect(tmp_path)
    conn.raw._handler.close()  # type: ignore[union-attr]  # as if an exception had left it
    with pytest.raises(KeyboardInterrupt):
        conn.execute(COUNT)
    assert conn.query(COUNT.replace("200000000", "100000")) == [(100000,)]
    conn.close()


def test_other_threads_get_no_handler(tmp_path: Path) -> None:
    got: list[object] = []

    def connect() -> None:
        conn = _connect(tmp_path)
        got.append(conn.raw._handler)
        conn.close()

    thread = threading.Thread(target=connect)
    thread.start()
    thread.join()
    assert got == [None]
