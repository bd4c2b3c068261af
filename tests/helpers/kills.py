"""The kill-anywhere scenario shared by ``tests/test_kill_recovery.py`` and
``tests/bench/bench_kills.py``: a migration directory whose every effect can be counted, a
real ``pulumi-migrations apply`` subprocess stopped by SIGKILL at a chosen statement (through
the executor's ``PULUMI_MIGRATIONS_KILL_POINT`` hook) or after a random delay, and the check
that every file's effects are present exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.helpers import dbcheck

ROOT = Path(__file__).resolve().parent.parent.parent
BULK_2, BULK_7 = 5000, 3000


def _series(n: int, dialect: str) -> str:
    if dialect == "mysql":  # MariaDB's Sequence engine (its recursive CTEs are bounded)
        return f"(SELECT seq AS x FROM seq_1_to_{n}) q"
    return (f"(WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {n}) "
            "SELECT x FROM s) q")


def files(dialect: str) -> dict[str, str]:
    """DDL and DML mixed in one file, bulk INSERTs, CREATE/ALTER/RENAME/DROP, a view; on
    PostgreSQL also a CREATE INDEX CONCURRENTLY file (``atlas:txmode none``)."""
    out = {
        "001_base.sql": "CREATE TABLE log (n INT NOT NULL);\nCREATE TABLE bulk (k INT NOT NULL, v INT NOT NULL);\n",
        "002_bulk.sql": f"INSERT INTO bulk (k, v) SELECT 2, x FROM {_series(BULK_2, dialect)};\nINSERT INTO log (n) VALUES (2);\n",
        "003_ddl_dml.sql": ("CREATE TABLE t3 (id INT PRIMARY KEY);\nINSERT INTO t3 (id) VALUES (1), (2), (3);\n"
                            "INSERT INTO log (n) VALUES (3);\n"),
        "004_alter.sql": ("ALTER TABLE t3 ADD COLUMN c INT;\nUPDATE t3 SET c = id * 10;\n"
                          "CREATE INDEX ix_t3_c ON t3 (c);\nINSERT INTO log (n) VALUES (4);\n"),
        "005_view.sql": ("CREATE VIEW v3 AS SELECT id, c FROM t3;\nDROP TABLE IF EXISTS never_there;\n"
                         "INSERT INTO log (n) VALUES (5);\n"),
        "006_rename.sql": ("CREATE TABLE t6 (id INT);\nALTER TABLE t6 RENAME TO t6b;\n"
                           "INSERT INTO t6b (id) VALUES (6);\nINSERT INTO log (n) VALUES (6);\n"),
        "007_drop.sql": ("CREATE TABLE t7 (id INT);\nDROP TABLE t7;\n"
                         f"INSERT INTO bulk (k, v) SELECT 7, x FROM {_series(BULK_7, dialect)};\n"
                         "INSERT INTO log (n) VALUES (7);\n"),
    }
    if dialect == "postgresql":
        out["008_concurrently.sql"] = ("-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY ix_bulk ON bulk (k, v);\n"
                                       "INSERT INTO log (n) VALUES (8);\n")
    return out


def statement_count(dialect: str) -> int:
    return sum(text.count(";\n") for text in files(dialect).values())


def assert_exactly_once(url: str) -> None:
    """Every file's effects once: log rows, bulk row counts, objects, complete revisions."""
    dialect = dbcheck.dialect_of(url)
    fs = files(dialect)
    expected = {int(name[:3]): 1 for name in fs if name != "001_base.sql"}
    assert dict(dbcheck.query(url, "SELECT n, COUNT(*) FROM log GROUP BY n")) == expected
    counts = dict(dbcheck.query(url, "SELECT k, COUNT(*) FROM bulk GROUP BY k"))
    assert counts == {2: BULK_2, 7: BULK_7}, f"bulk rows per file: {counts}"
    assert sorted(dbcheck.query(url, "SELECT id, c FROM t3 ORDER BY id")) == [(1, 10), (2, 20), (3, 30)]
    assert dbcheck.query(url, "SELECT id FROM v3 ORDER BY id") == [(1,), (2,), (3,)]
    assert dbcheck.query(url, "SELECT id FROM t6b") == [(6,)]
    tables = dbcheck.tables(url)
    assert "t6" not in tables and "t7" not in tables, tables
    if dialect == "postgresql":
        assert dbcheck.query(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('ix_bulk')") == [(True,)]
    rows = dbcheck.revisions(url)
    assert sorted(rows) == sorted(name.split("_", 1)[0] for name in fs)
    for version, row in rows.items():
        assert row.applied == row.total and row.error == "", (version, row)


def spawn(url: str, d: Path, tmp_path: Path, *, tx_mode: str, kill_point: str | None = None,
          extra: tuple[str, ...] = (), stdout: int = subprocess.DEVNULL) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path), PYTHONUNBUFFERED="1")
    env.pop("DATABASE_URL", None)
    env.pop("PULUMI_MIGRATIONS_KILL_POINT", None)
    if kill_point:
        env["PULUMI_MIGRATIONS_KILL_POINT"] = kill_point
    return subprocess.Popen(
        [sys.executable, "-m", "pulumi_migrations_provider", "apply", "--dir", str(d), "--url", url,
         "--tx-mode", tx_mode, *extra],
        cwd=ROOT, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True)


def run_killed_at(url: str, d: Path, tmp_path: Path, *, tx_mode: str, kill_point: str,
                  timeout: float = 120) -> tuple[bool, int, str]:
    """Run apply with ``kill_point``; SIGKILL it when it gets there. Returns (killed, exit
    code, stderr without the hook's line)."""
    proc = spawn(url, d, tmp_path, tx_mode=tx_mode, kill_point=kill_point)
    assert proc.stderr is not None
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    lines = []
    killed = False
    try:
        for line in proc.stderr:
            if line.startswith("kill point "):
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
            lines.append(line)
        proc.wait()
        if proc.stderr is not None:
            lines.append(proc.stderr.read())
    finally:
        timer.cancel()
    return killed, proc.returncode, "".join(lines)


def run_killed_after(url: str, d: Path, tmp_path: Path, *, tx_mode: str, delay: float,
                     timeout: float = 120) -> tuple[bool, int, str]:
    """Run apply; SIGKILL it ``delay`` seconds after start unless it ended first."""
    proc = spawn(url, d, tmp_path, tx_mode=tx_mode)
    try:
        _, err = proc.communicate(timeout=delay)
        return False, proc.returncode, err
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=timeout)
        return proc.returncode == -signal.SIGKILL, proc.returncode, err


def kill_then_rerun(url: str, d: Path, tmp_path: Path, *, tx_mode: str, kill_point: str) -> None:
    """Run apply killed at ``kill_point`` (it must get there), then rerun it to success."""
    was_killed, _, err = run_killed_at(url, d, tmp_path, tx_mode=tx_mode, kill_point=kill_point)
    assert was_killed, (kill_point, err)
    proc = spawn(url, d, tmp_path, tx_mode=tx_mode)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, (kill_point, err)

