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
    finally:
        holder.close()
    assert engine.apply(server_url, d).applied == ["2_b.sql"]
