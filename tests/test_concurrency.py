"""Crashes and contention: SIGKILL at random points during apply, four concurrent appliers,
and a lock held elsewhere (LockError, nothing written).

Appliers run as subprocesses (``tests/helpers/apply_worker.py``) against real databases.
Every file inserts its own number into a ``log`` table that has no unique key, so a file that
ran twice shows up as a duplicate row and a lost one as a missing row.

MariaDB cannot roll back DDL, so there the killed files hold only DML (inserts into tables
created, idempotently, by file 1) and run in tx-mode ``file``: each file and its revision row
commit together, which is what makes "exactly once" checkable there at all.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pulumi_migrations_provider import engine
from pulumi_migrations_provider.cli import HINT_WORDS
from pulumi_migrations_provider.errors import LockError
from pulumi_migrations_provider.reports import Options

from tests.dirtools import make_dir
from tests.helpers import dbcheck

ROOT = Path(__file__).resolve().parent.parent
PG_LOCK_KEY = 2686470616          # Atlas's advisory-lock key (FNV-1 of atlas_migrate_execute)
LOCK_NAME = "atlas_migrate_execute"
SEED = 20240611


def _files(dialect: str, count: int) -> dict[str, str]:
    """File 1 creates the log; files 2..count each log their number (and make a table)."""
    if dialect == "mysql":
        files = {"001_log.sql": ("CREATE TABLE IF NOT EXISTS log (n INT NOT NULL);\n"
                                 "CREATE TABLE IF NOT EXISTS marks (n INT NOT NULL);\n")}
        for k in range(2, count + 1):
            files[f"{k:03d}_f{k}.sql"] = (f"INSERT INTO log (n) VALUES ({k});\n"
                                          f"INSERT INTO marks (n) VALUES ({k});\n")
        return files
    files = {"001_log.sql": "CREATE TABLE log (n INT NOT NULL);\n"}
    for k in range(2, count + 1):
        files[f"{k:03d}_f{k}.sql"] = (f"CREATE TABLE t{k} (id INT PRIMARY KEY);\n"
                                      f"INSERT INTO log (n) VALUES ({k});\n")
    return files


def _env(tmp_path: Path) -> dict[str, str]:
    """Worker environment: ``tests`` importable; SQLite's Atlas lock file under tmp_path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["TMPDIR"] = str(tmp_path)
    return env


def _spawn(url: str, d: Path, tmp_path: Path, lock_timeout: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.apply_worker", url, str(d), str(lock_timeout)],
        cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(stdout: str) -> dict:
    """The worker's final JSON line."""
    lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert lines and "result" in lines[-1], stdout
    return lines[-1]


def _assert_exactly_once(url: str, files: dict[str, str]) -> None:
    """Every file ran once: one log row per file, complete revision rows, nothing else."""
    dialect = dbcheck.dialect_of(url)
    expected = {k: 1 for k in range(2, len(files) + 1)}
    counts = dict(dbcheck.query(url, "SELECT n, COUNT(*) FROM log GROUP BY n"))
    assert counts == expected, f"log rows per file (want each once): {counts}"
    if dialect == "mysql":
        assert dict(dbcheck.query(url, "SELECT n, COUNT(*) FROM marks GROUP BY n")) == expected
    else:
        tables = dbcheck.tables(url)
        assert all(f"t{k}" in tables for k in expected)
    rows = dbcheck.revisions(url)
    totals = {name.split("_", 1)[0]: text.count(";") for name, text in files.items()}
    assert sorted(rows) == sorted(totals)
    for version, row in rows.items():
        assert row.applied == row.total == totals[version], (version, row)
        assert row.error == "" and row.partial_hashes_text == "null", (version, row)


def _kill_after(proc: subprocess.Popen[str], rng: random.Random, kind: str) -> tuple[bool, str]:
    """Kill ``proc`` at a point chosen by ``kind``; return (killed before it ended, its stdout).

    ``early``: a random delay after spawn (start-up, connect, lock, table creation), or at the
    first statement if that comes sooner; ``stmt``: just after the k-th statement began;
    ``time``: a random delay after the first statement began. A run that ends first is not killed.
    """
    assert proc.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    collected: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            collected.append(line)
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    killed = True
    deadline = time.monotonic() + (rng.uniform(0.0, 0.4) if kind == "early" else 60.0)
    target = rng.randint(1, 12) if kind == "stmt" else 1
    delay = {"early": 0.0, "stmt": rng.uniform(0.0, 0.005), "time": rng.uniform(0.0, 0.01)}[kind]
    seen = 0
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break                                   # early: the delay ran out first
        if line is None:
            killed = False                          # the run ended by itself
            break
        if '"event": "stmt"' in line:
            seen += 1
            if seen >= target:
                time.sleep(delay)
                break
    if killed:
        proc.send_signal(signal.SIGKILL)
    reader.join(timeout=30)
    return killed, "".join(collected)


def _watchdog(proc: subprocess.Popen[str], seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, proc.kill)
    timer.daemon = True
    timer.start()
    return timer


def test_sigkill_at_random_points_then_resume(db_url: str, tmp_path: Path) -> None:
    dialect = dbcheck.dialect_of(db_url)
    files = _files(dialect, 40)
    d = make_dir(tmp_path, files)
    rng = random.Random(f"{SEED}-{dialect}")
    # SQLite: a killed run leaves Atlas's lock file behind until its expiry (now + lock timeout
    # at acquisition); a short timeout keeps the next run's wait short.
    lock_timeout = 0.5 if dialect == "sqlite" else 10.0
    kills = mid_run = 0
    for _ in range(12):                      # bounded: at most 6 kills, 12 runs
        kind = rng.choice(["early", "stmt", "stmt", "time"])
        proc = _spawn(db_url, d, tmp_path, lock_timeout)
        timer = _watchdog(proc, 30)
        killed, out = _kill_after(proc, rng, kind)
        proc.wait(timeout=30)
        timer.cancel()
        err = proc.stderr.read() if proc.stderr is not None else ""
        complete = sum(r.applied == r.total for r in dbcheck.revisions(db_url).values())
        if killed and proc.returncode == -signal.SIGKILL:
            kills += 1
            mid_run += complete < len(files)
        else:
            assert proc.returncode == 0, f"{kind}: rc={proc.returncode} {out} {err}"
        if kills == 6 or complete == len(files):
            break
    assert mid_run >= 3, f"only {mid_run} kills landed before the end; the test proved little"

    final = _spawn(db_url, d, tmp_path, 10.0)
    out, err = final.communicate(timeout=60)
    assert final.returncode == 0, f"{out}\n{err}"
    assert _result(out)["result"] == "ok"
    _assert_exactly_once(db_url, files)
    st = engine.status(db_url, d)
    assert st.status == "OK" and st.pending == [] and st.executed == len(files)


def test_four_processes_apply_at_once(db_url: str, tmp_path: Path) -> None:
    files = _files(dbcheck.dialect_of(db_url), 15)
    d = make_dir(tmp_path, files)
    procs = [_spawn(db_url, d, tmp_path, 60.0) for _ in range(4)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, f"{out}\n{err}"
        results.append(_result(out))
    assert all(r["result"] == "ok" and r["pending"] == [] for r in results), results
    applied = [name for r in results for name in r["applied"]]
    assert sorted(applied) == sorted(files), f"each file applied by exactly one process: {results}"
    _assert_exactly_once(db_url, files)


def _hold_lock(url: str, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Take the migration lock the way another Atlas run would; return a release function."""
    dialect = dbcheck.dialect_of(url)
    if dialect == "sqlite":
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        lock_file = tmp_path / f"{LOCK_NAME}.lock"
        lock_file.write_text(str(time.time_ns() + 120 * 1_000_000_000))
        return lambda: lock_file.unlink()
    conn = dbcheck.connect(url)
    cur = conn.cursor()
    if dialect == "postgresql":
        cur.execute("SELECT pg_advisory_lock(%s)", (PG_LOCK_KEY,))
    else:
        cur.execute("SELECT GET_LOCK(%s, 0)", (LOCK_NAME,))
        assert cur.fetchone()[0] == 1
    return conn.close


def test_lock_held_elsewhere_times_out(db_url: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id INT);\n"})
    release = _hold_lock(db_url, tmp_path, monkeypatch)
    try:
        started = time.monotonic()
        with pytest.raises(LockError) as info:
            engine.apply(db_url, d, Options(lock_timeout=0.5))
        elapsed = time.monotonic() - started
        msg = str(info.value)
        assert "\n" not in msg and "lock" in msg and "--" not in msg  # neutral: no CLI flag
        assert (info.value.option, info.value.hint) == ("lock_timeout", "lock_timeout")
        assert info.value.render(HINT_WORDS).endswith("wait for the other run to finish or raise "
                                                      "--lock-timeout" if db_url.startswith("sqlite") else
                                                      "wait for it to finish or raise --lock-timeout")
        assert elapsed < 3.0, f"lock wait took {elapsed:.1f}s with lock_timeout=0.5"
        assert dbcheck.tables(db_url) == set(), "nothing may be written without the lock"
    finally:
        release()
    assert engine.apply(db_url, d, Options(lock_timeout=5)).applied == ["1_a.sql"]


def test_stale_sqlite_lock_file_of_a_killed_run_never_blocks(tmp_path: Path) -> None:
    """Issue 8: after a SIGKILL our rerun waited for the dead run's Atlas lock file to expire
    (its --lock-timeout), and so did an apply to an unrelated SQLite file. The OS lock tells that
    no run of ours is alive behind the file, so it is taken over at once."""
    db = tmp_path / "app.db"
    code = ("import sys, time\n"
            "from pulumi_migrations_provider.dialects.sqlite import sqlite_lock\n"
            "from pulumi_migrations_provider.target import Target\n"
            f"sqlite_lock(Target.parse({f'sqlite://{db}'!r}), 600.0)\n"
            "print('locked', flush=True); time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=_env(tmp_path),
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
    proc.kill()
    proc.wait()
    lock_file = tmp_path / f"{LOCK_NAME}.lock"
    assert int(lock_file.read_text()) > time.time_ns() + 500 * 1_000_000_000  # left, unexpired
    other = tmp_path / "other.db"
    for path in (db, other):
        d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id INT);\n"}, name=f"m_{path.stem}")
        started = time.monotonic()
        out = subprocess.run(
            [sys.executable, "-m", "pulumi_migrations_provider", "apply", "--dir", str(d),
             "--url", f"sqlite://{path}", "--lock-timeout", "1s"],
            cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=60, check=False)
        assert out.returncode == 0, out.stderr
        assert time.monotonic() - started < 5.0
    assert not lock_file.exists()
