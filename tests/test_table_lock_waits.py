"""Lock waits on tables are bounded by the lock timeout (issue 8: they hung past
``--lock-timeout 2s`` for over 25 s): another session holding a lock on the revisions table, and
an application transaction holding a table that the next file alters.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pulumi_migrations_provider import engine
from pulumi_migrations_provider.errors import LockError, StatementError
from pulumi_migrations_provider.reports import Options

from tests.dirtools import make_dir
from tests.helpers import dbcheck

FIRST = {"1_a.sql": "CREATE TABLE a (id INT);\n"}
SECOND = {**FIRST, "2_b.sql": "ALTER TABLE a ADD COLUMN note VARCHAR(10);\n"}


@pytest.fixture(params=["postgres", "mariadb"])
def server_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url" if request.param == "postgres" else "maria_url"))


def _hold(url: str, statements: list[str]) -> Any:
    """A second session that runs ``statements`` in an open transaction and keeps it open."""
    conn = dbcheck.connect(url)
    if dbcheck.dialect_of(url) == "mysql":
        conn.autocommit(False)
    else:
        conn.autocommit = False
    cur = conn.cursor()
    for sql in statements:
        cur.execute(sql)
    return conn


def _bounded(call: Any, exc: type[Exception]) -> str:
    started = time.monotonic()
    with pytest.raises(exc) as info:
        call()
    elapsed = time.monotonic() - started
    assert elapsed < 8, f"waited {elapsed:.1f}s with a 2s lock timeout"
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_lock_on_the_revisions_table_bounds_status_and_apply(server_url: str, tmp_path: Path) -> None:
    d = make_dir(tmp_path, FIRST)
    engine.apply(server_url, d)
    d = make_dir(tmp_path, SECOND)
    hold = (["LOCK TABLE atlas_schema_revisions.atlas_schema_revisions IN ACCESS EXCLUSIVE MODE"]
            if dbcheck.dialect_of(server_url) == "postgresql"
            else ["LOCK TABLES atlas_schema_revisions WRITE"])
    holder = _hold(server_url, hold)
    try:
        options = Options(lock_timeout=2)
        msg = _bounded(lambda: engine.status(server_url, d, options), LockError)
        assert "revisions table" in msg and "lock" in msg, msg
        _bounded(lambda: engine.apply(server_url, d, options), LockError)
    finally:
        holder.close()
    assert engine.apply(server_url, d).applied == ["2_b.sql"]


def test_app_transaction_on_a_table_the_next_file_alters(server_url: str, tmp_path: Path) -> None:
    d = make_dir(tmp_path, FIRST)
    engine.apply(server_url, d)
    d = make_dir(tmp_path, SECOND)
    holder = _hold(server_url, ["SELECT * FROM a"])  # an open transaction that read the table
    try:
        msg = _bounded(lambda: engine.apply(server_url, d, Options(lock_timeout=2)), StatementError)
        assert "2_b.sql" in msg and "lock" in msg.lower(), msg
        _says_a_lock_is_held(msg)
    finally:
        holder.close()
    assert engine.apply(server_url, d).applied == ["2_b.sql"]


def _says_a_lock_is_held(msg: str) -> None:
    """Audit of issue 8: a statement that gave up waiting for a lock was told to be fixed."""
    assert "waited for a lock another session holds, and gave up" in msg, msg
    assert "fix the statement" not in msg and "apply again once that session has finished" in msg, msg


@pytest.mark.parametrize("tx_mode", ["file", "none"])
def test_a_row_another_session_locked_bounds_the_update_and_says_so(server_url: str, tmp_path: Path,
                                                                     tx_mode: str) -> None:
    """A row lock (InnoDB innodb_lock_wait_timeout, PostgreSQL lock_timeout), through the CLI:
    bounded, one line, the statement and the remedy named."""
    import os
    import subprocess
    import sys

    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id INT PRIMARY KEY, v INT);\n"
                                       "INSERT INTO a (id, v) VALUES (1, 0);\n"})
    engine.apply(server_url, d)
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id INT PRIMARY KEY, v INT);\n"
                                       "INSERT INTO a (id, v) VALUES (1, 0);\n",
                            "2_b.sql": "UPDATE a SET v = 2 WHERE id = 1;\n"})
    holder = _hold(server_url, ["SELECT * FROM a WHERE id = 1 FOR UPDATE"])
    try:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "pulumi_migrations_provider", "apply", "--dir",
                               str(d), "--url", server_url, "--lock-timeout", "2s", "--tx-mode",
                               tx_mode], capture_output=True, text=True, timeout=60, env=env,
                              check=False)
        took = time.monotonic() - started
    finally:
        holder.close()
    assert took < 8, took
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "statement 1 at 2_b.sql:1:1" in lines[0] and lines[0].endswith(" or raise --lock-timeout"), lines[0]
    _says_a_lock_is_held(lines[0])
    assert engine.apply(server_url, d).applied == ["2_b.sql"]
    assert dbcheck.query(server_url, "SELECT v FROM a") == [(2,)]


def test_a_held_migration_lock_names_the_session_and_what_it_runs(server_url: str, tmp_path: Path) -> None:
    """A run of ours killed while the server ran its statement (a long ALTER) leaves that
    statement running in a session that keeps the migration lock: the rerun was told only
    "another run holds it". It names the session and its statement."""
    import threading

    from pulumi_migrations_provider.dialects.base import LOCK_NAME
    from pulumi_migrations_provider.dialects.postgres import PG_LOCK_KEY

    d = make_dir(tmp_path, FIRST)
    pg = dbcheck.dialect_of(server_url) == "postgresql"
    holder = dbcheck.connect(server_url)
    cur = holder.cursor()
    if pg:
        holder.autocommit = True
        cur.execute("SELECT pg_advisory_lock(%s)", (PG_LOCK_KEY,))
    else:
        cur.execute("SELECT GET_LOCK(%s, 0)", (LOCK_NAME,))
    sleeper = threading.Thread(target=cur.execute, args=("SELECT pg_sleep(4)" if pg else "SELECT SLEEP(4)",))
    sleeper.start()
    try:
        time.sleep(0.5)
        msg = _bounded(lambda: engine.apply(server_url, d, Options(lock_timeout=1)), LockError)
    finally:
        sleeper.join()
        holder.close()
    assert "the migration lock" in msg and "another run holds it" not in msg, msg
    running = "[SELECT pg_sleep(4)]" if pg else "[SELECT SLEEP(4)]"
    assert "it is held by session " in msg and f", which has been running {running} for " in msg, msg
    assert dbcheck.tables(server_url) == set()


def test_a_file_whose_second_statement_waits_waits_once(server_url: str, tmp_path: Path) -> None:
    """PostgreSQL runs a file as one script and, when it fails, replays it statement by
    statement to find which one: the replay waited for the same lock again, so a run with
    ``--lock-timeout 2s`` gave up after 4.2 s. One deadline covers both. (MariaDB runs the
    file in steps: its first statement commits with its progress row, the rerun resumes.)"""
    pg = dbcheck.dialect_of(server_url) == "postgresql"
    first = {"1_a.sql": "CREATE TABLE a (id INT);\nCREATE TABLE seen (n INT);\n"}
    second = {**first, "2_b.sql": "INSERT INTO seen (n) VALUES (1);\n"
                                  "ALTER TABLE a ADD COLUMN note VARCHAR(10);\n"}
    d = make_dir(tmp_path, first)
    engine.apply(server_url, d)
    d = make_dir(tmp_path, second)
    holder = _hold(server_url, ["LOCK TABLE a IN ACCESS EXCLUSIVE MODE" if pg else "LOCK TABLES a WRITE"])
    try:
        started = time.monotonic()
        with pytest.raises(StatementError) as info:
            engine.apply(server_url, d, Options(lock_timeout=2, tx_mode="file"))
        took = time.monotonic() - started
    finally:
        holder.close()
    msg = str(info.value)
    print(f"lock wait of a file's second statement: {took:.2f}s with --lock-timeout 2s")
    assert took < 3.0, f"waited {took:.1f}s with a 2s lock timeout"
    assert "\n" not in msg and "statement 2 at 2_b.sql:2:1" in msg and "[ALTER TABLE a ADD" in msg, msg
    _says_a_lock_is_held(msg)
    assert info.value.index == 2 and info.value.held
    failed = dbcheck.revisions(server_url).get("2")
    if pg:
        assert failed is None  # the file's transaction rolled back whole
    else:
        assert failed is not None and (failed.applied, failed.total) == (1, 2) and failed.error
    assert engine.apply(server_url, d).applied == ["2_b.sql"]
    assert engine.apply(server_url, d).applied == []
    assert dbcheck.query(server_url, "SELECT n FROM seen") == [(1,)]
    row = dbcheck.revisions(server_url)["2"]
    assert (row.applied, row.total, row.error or "") == (2, 2, "")


@pytest.mark.parametrize("tx_mode", ["file", "none"])
@pytest.mark.parametrize("journal", ["wal", "locking-normal"])
def test_a_writer_holding_a_sqlite_file_bounds_the_file_wait(tmp_path: Path, journal: str,
                                                              tx_mode: str) -> None:
    """SQLite where a run does not keep the file (WAL, ``_locking_mode=NORMAL``): another
    writer made the file's BEGIN wait as long as the connect timeout (10 s), twice under
    tx-mode file (the replay began again) with the driver's error escaping, and under none
    told to check the user's privileges. Now: --lock-timeout, once, one line."""
    import sqlite3

    db = tmp_path / "app.db"
    url = f"sqlite://{db}" + ("?_locking_mode=NORMAL" if journal == "locking-normal" else "")
    first = {"1_a.sql": "CREATE TABLE a (id INT);\n"}
    engine.apply(url, make_dir(tmp_path / "first", first))
    if journal == "wal":
        sqlite3.connect(db).execute("PRAGMA journal_mode = WAL").connection.close()
    d = make_dir(tmp_path, {**first, "2_b.sql": "INSERT INTO a (id) VALUES (1);\nCREATE TABLE b (id INT);\n"})
    app = sqlite3.connect(db, isolation_level=None)
    app.execute("BEGIN IMMEDIATE")  # an application half way through a write
    app.execute("INSERT INTO a (id) VALUES (8)")
    try:
        started = time.monotonic()
        with pytest.raises((StatementError, LockError)) as info:
            engine.apply(url, d, Options(lock_timeout=2, tx_mode=tx_mode))
        took = time.monotonic() - started
    finally:
        app.execute("ROLLBACK")
        app.close()
    msg = str(info.value)
    assert took < 3.0, f"waited {took:.1f}s with a 2s lock timeout"
    assert "\n" not in msg, msg
    if isinstance(info.value, LockError):  # the file's BEGIN waited: no statement began
        assert "another connection kept writing to it (waited 2s)" in msg, msg
    else:  # the statement's own write waited (tx-mode none: no BEGIN of ours)
        assert "statement 1 at 2_b.sql:1:1" in msg, msg
        _says_a_lock_is_held(msg)
    assert engine.apply(url, d).applied == ["2_b.sql"]
    assert dbcheck.query(url, "SELECT id FROM a") == [(1,)]
