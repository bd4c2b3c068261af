"""The connection breaks in the middle of a run (issue 8): one line saying so, never a traceback,
and the rerun completes. PostgreSQL: the session is terminated by the file itself; MariaDB: the
session is killed from outside while a statement runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.dirtools import make_dir
from tests.helpers import dbcheck

ROOT = Path(__file__).resolve().parent.parent


def _cli(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "pulumi_migrations_provider", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_postgres_session_terminated_mid_file(pg_url: str, tmp_path: Path) -> None:
    """The file and its row are one transaction: nothing is half done, the rerun is exact."""
    d = make_dir(tmp_path, {
        "1_a.sql": "CREATE TABLE flag (x INT);\nINSERT INTO flag VALUES (1);\n",
        "2_b.sql": ("CREATE TABLE b (id INT);\nINSERT INTO b VALUES (1);\n"
                    "SELECT pg_terminate_backend(pg_backend_pid()) FROM flag;\n"),
    })
    line = _one_error_line(_cli("apply", "--dir", str(d), "--url", pg_url, tmp_path=tmp_path))
    assert "applying 2_b.sql (version 2): the connection to the database was lost" in line, line
    assert "rerun the same command" in line
    assert "b" not in dbcheck.tables(pg_url)  # rolled back with the session
    dbcheck.query(pg_url, "DELETE FROM flag")
    rerun = _cli("apply", "--dir", str(d), "--url", pg_url, tmp_path=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert dbcheck.query(pg_url, "SELECT count(*) FROM b") == [(1,)]
    assert dbcheck.revisions(pg_url)["2"].applied == 3


def test_postgres_connection_lost_during_the_failure_locating_replay(pg_url: str, tmp_path: Path) -> None:
    """The file fails as one script, and the replay that finds the failing statement loses the
    connection (issue 8: a raw ``psycopg.OperationalError`` traceback). A sequence tells the two
    runs of statement 2 apart: nextval is not rolled back, so the script divides by zero and the
    replay terminates its own session."""
    d = make_dir(tmp_path, {
        "1_a.sql": "CREATE SEQUENCE s;\n",
        "2_b.sql": ("CREATE TABLE b (id INT);\n"
                    "SELECT CASE WHEN v = 1 THEN 1 / (v - 1) ELSE pg_terminate_backend(pg_backend_pid())::int "
                    "END FROM (SELECT nextval('s') AS v) q;\n"),
    })
    line = _one_error_line(_cli("apply", "--dir", str(d), "--url", pg_url, tmp_path=tmp_path))
    assert "applying 2_b.sql (version 2): the connection to the database was lost" in line, line
    assert "nothing is half done" in line and "rerun the same command" in line, line
    assert dbcheck.query(pg_url, "SELECT last_value FROM s") == [(2,)]  # the replay did run
    assert "b" not in dbcheck.tables(pg_url)
    row = dbcheck.revisions(pg_url)["1"]
    assert (row.applied, row.total, row.error) == (1, 1, "")


@pytest.mark.parametrize("statement, in_doubt", [
    ("SELECT SLEEP(3);", False),                           # shares a transaction with its row
    ("CREATE TABLE c AS SELECT SLEEP(3) AS x;", True),     # DDL: commits on its own
], ids=["dml", "ddl"])
def test_mariadb_session_killed_during_a_statement(maria_url: str, tmp_path: Path, statement: str,
                                                   in_doubt: bool) -> None:
    """DML runs in one transaction with its progress row: nothing half done. DDL cannot share
    one: it was marked in doubt before it ran, the message names it, and the rerun checks the
    catalog (no table c: the killed CREATE did not complete) and runs it once."""
    d = make_dir(tmp_path, {"1_a.sql": f"CREATE TABLE a (id INT);\n{statement}\n"})
    database = maria_url.rsplit("/", 1)[1].split("?")[0]
    killed: list[int] = []

    def kill_the_sleeper() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not killed:
            rows = dbcheck.query(maria_url, "SELECT id FROM information_schema.PROCESSLIST "
                                            "WHERE db = %s AND info LIKE '%%SLEEP(3)%%' "
                                            "AND info NOT LIKE '%%PROCESSLIST%%'", (database,))
            for (pid,) in rows:
                dbcheck.query(maria_url, f"KILL CONNECTION {int(pid)}")
                killed.append(pid)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_sleeper)
    killer.start()
    proc = _cli("apply", "--dir", str(d), "--url", maria_url, tmp_path=tmp_path)
    killer.join()
    assert killed, "the statement was never seen running"
    line = _one_error_line(proc)
    assert "the connection to the database was lost" in line, line
    if in_doubt:
        assert "statement 2 at 1_a.sql:2:1" in line and "may or may not have completed" in line, line
        assert dbcheck.revisions(maria_url)["1"].error.startswith("in doubt: statement 2 ")
    else:
        assert "nothing is half done" in line, line
    assert "check the database user's privileges" not in line
    rerun = _cli("apply", "--dir", str(d), "--url", maria_url, tmp_path=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    row = dbcheck.revisions(maria_url)["1"]
    assert (row.applied, row.total, row.error) == (2, 2, "")
    if in_doubt:
        assert dbcheck.query(maria_url, "SELECT count(*) FROM c") == [(1,)]



def test_an_interrupted_mariadb_alter_is_stopped_on_the_server(maria_url: str, tmp_path: Path) -> None:
    """SIGTERM (a pod being stopped) while MariaDB copies a table for an ALTER: the server went
    on copying in the dead client's session, which kept the migration lock, so the rerun (the
    restarted pod) was told "another run holds it" until the copy ended. The run stops the
    statement (KILL QUERY, as the mysql client does on Ctrl-C); the ALTER rolls back, and the
    rerun checks its in-doubt mark and runs it once."""
    import signal

    from pulumi_migrations_provider import engine

    first = {"1_a.sql": "CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(200));\n"
                        "INSERT INTO big SELECT seq, REPEAT('x', 200) FROM seq_1_to_1500000;\n"}
    engine.apply(maria_url, make_dir(tmp_path / "first", first))
    d = make_dir(tmp_path, {**first, "2_b.sql": "ALTER TABLE big ADD COLUMN c INT, ALGORITHM=COPY;\n"})
    database = maria_url.rsplit("/", 1)[1].split("?")[0]
    running = "SELECT id FROM information_schema.PROCESSLIST WHERE db = %s AND info LIKE 'ALTER TABLE big%%'"
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "pulumi_migrations_provider", "apply", "--dir",
                             str(d), "--url", maria_url], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not dbcheck.query(maria_url, running, (database,)):
        assert time.monotonic() < deadline and proc.poll() is None, "the ALTER never ran"
        time.sleep(0.02)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and len([x for x in err.splitlines() if x.strip()]) == 1, err
    time.sleep(0.5)
    assert dbcheck.query(maria_url, running, (database,)) == [], "the ALTER still runs on the server"
    rerun = _cli("apply", "--dir", str(d), "--url", maria_url, "--lock-timeout", "1s", tmp_path=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    columns = dbcheck.query(maria_url, "SELECT column_name FROM information_schema.columns WHERE "
                                       "table_schema = %s AND table_name = 'big'", (database,))
    assert sorted(c for (c,) in columns) == ["c", "id", "v"]
    row = dbcheck.revisions(maria_url)["2"]
    assert (row.applied, row.total, row.error) == (1, 1, "")
