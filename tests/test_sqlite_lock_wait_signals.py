"""Ctrl-C and SIGTERM while waiting for a locked SQLite file stop the wait at once (exit 130/143,
one line), whatever ``--lock-timeout`` says. SQLite's own busy wait is C code during which Python
runs no signal handler: with ``--lock-timeout 20s`` a Ctrl-C sent after 1.5 s took effect after
about 20 s (Kubernetes sends SIGKILL 30 s after SIGTERM)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pulumi_migrations_provider import engine

from tests.dirtools import make_dir

ROOT = Path(__file__).resolve().parent.parent
FILES = {"1_a.sql": "CREATE TABLE a (id INT);\n", "2_b.sql": "CREATE TABLE b (id INT);\n"}


def _hold_file(db: Path) -> sqlite3.Connection:
    """A connection keeping the file locked after a write, as a run does (its journal stays)."""
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO a (id) VALUES (7)")
    holder.execute("COMMIT")
    return holder


def _app_writer(db: Path) -> sqlite3.Connection:
    """An application half way through a write transaction: readers may read, a run waits."""
    app = sqlite3.connect(db, isolation_level=None)
    app.execute("BEGIN IMMEDIATE")
    app.execute("INSERT INTO a (id) VALUES (8)")
    return app


@pytest.mark.parametrize("holder, args, sig", [
    (_hold_file, ("status",), signal.SIGINT),
    (_hold_file, ("apply", "--dry-run"), signal.SIGINT),
    (_hold_file, ("apply",), signal.SIGTERM),
    (_app_writer, ("apply",), signal.SIGINT),  # waits in BEGIN EXCLUSIVE, after the look
], ids=["held-status-sigint", "held-dry-run-sigint", "held-apply-sigterm", "writer-apply-sigint"])
def test_a_signal_stops_a_wait_for_the_file_at_once(tmp_path: Path, holder, args: tuple[str, ...],  # noqa: ANN001
                                                    sig: signal.Signals) -> None:
    db = tmp_path / "app.db"
    url = f"sqlite://{db}"
    engine.apply(url, make_dir(tmp_path / "first", dict(list(FILES.items())[:1])))
    d = make_dir(tmp_path, FILES)
    held = holder(db)
    try:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
        proc = subprocess.Popen(
            [sys.executable, "-m", "pulumi_migrations_provider", *args, "--dir", str(d), "--url",
             url, "--lock-timeout", "20s"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        took, out, err = signal_while_waiting(proc, sig)
    finally:
        held.close()
    assert took < 2, f"stopped {took:.1f}s after the signal"
    assert_stopped_by(sig, proc, out, err)
    assert engine.status(url, d).pending == ["2_b.sql"]  # nothing written


def signal_while_waiting(proc: subprocess.Popen, sig: signal.Signals) -> tuple[float, str, str]:
    """Send ``sig`` to ``proc`` 1.5 s after its start (it is waiting for the file by then);
    return the seconds it took to end after the signal, its stdout and stderr."""
    time.sleep(1.5)
    assert proc.poll() is None, proc.communicate()
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return time.monotonic() - sent, out, err


def assert_stopped_by(sig: signal.Signals, proc: subprocess.Popen, out: str, err: str) -> None:
    """``proc`` ended as a Ctrl-C (130) or SIGTERM (143) ends the CLI: one line, no traceback."""
    assert proc.returncode == (130 if sig == signal.SIGINT else 143), (proc.returncode, out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
