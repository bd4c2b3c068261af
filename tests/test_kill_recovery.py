"""SIGKILL a real ``pulumi-migrations apply`` at chosen statements (issue 8), then rerun: every
file's effects exactly once (bulk INSERT row counts, CREATE never failing on a rerun), or an
honest stop naming the statement in doubt and the flag that resolves it.

Kill points come from the executor's test hook (``PULUMI_MIGRATIONS_KILL_POINT``): ``before:N``
stops just before the N-th statement of the run (after its in-doubt mark, where it gets one),
``after:N`` just after it, before its progress row is written or committed — the two moments
the issue saw double-applies at. The seed is fixed; ``tests/bench/bench_kills.py`` runs the same
scenario with 100+ random kills per dialect.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.conftest import ServerDb, _fresh_name
from tests.dirtools import make_dir
from tests.helpers import dbcheck, kills
from tests.servers import MariaDbServer

SEED = 20261202


@pytest.mark.parametrize("tx_mode", ["file", "none"])
def test_kills_at_chosen_statements_then_rerun_exactly_once(db_url: str, tmp_path: Path,
                                                           tx_mode: str) -> None:
    dialect = dbcheck.dialect_of(db_url)
    rng = random.Random(f"{SEED}-{dialect}-{tx_mode}")
    d = make_dir(tmp_path, kills.files(dialect))
    killed = 0
    for _episode in range(8):
        point = f"{rng.choice(['before', 'after'])}:{rng.randint(1, 4)}"
        was_killed, code, err = kills.run_killed_at(db_url, d, tmp_path, tx_mode=tx_mode, kill_point=point)
        assert "Traceback" not in err, err
        if not was_killed:
            assert code == 0, (point, err)  # the run ended before the kill point
            break
        killed += 1
    proc = kills.spawn(db_url, d, tmp_path, tx_mode=tx_mode)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    kills.assert_exactly_once(db_url)
    assert killed >= 4


def test_every_kill_point_of_one_file_on_mariadb(maria_server: MariaDbServer, tmp_path: Path) -> None:
    """The issue's MariaDB cases one by one: a kill before and after each statement of a file
    mixing DDL and DML (CREATE, then a bulk INSERT, then a log row), rerun each time."""
    files = {"1_a.sql": "CREATE TABLE log (n INT NOT NULL);\n",
             "2_b.sql": ("CREATE TABLE obj_009 (id INT);\n"
                         "INSERT INTO obj_009 (id) SELECT seq FROM seq_1_to_1500;\n"
                         "INSERT INTO log (n) VALUES (2);\n")}
    for where in ("before", "after"):
        for n in (1, 2, 3):
            name = _fresh_name()
            maria_server.create_database(name)
            url = maria_server.app_url(name)
            d = make_dir(tmp_path / f"{where}{n}", files)
            # 1_a.sql is statement 1 of the first run; 2_b.sql's statements are 2, 3, 4
            kills.kill_then_rerun(url, d, tmp_path, tx_mode="file", kill_point=f"{where}:{n + 1}")
            assert dbcheck.query(url, "SELECT COUNT(*) FROM obj_009") == [(1500,)], (where, n)
            assert dbcheck.query(url, "SELECT n, COUNT(*) FROM log GROUP BY n") == [(2, 1)], (where, n)


@pytest.mark.parametrize("where", ["before", "after"])
def test_uncheckable_statement_in_doubt_stops_until_resolved(maria_url: str, tmp_path: Path,
                                                             where: str) -> None:
    """``ALTER TABLE … MODIFY`` leaves no trace the catalog check reads: the rerun stops with one
    line naming file, statement and the flag; ``--resolve-in-doubt`` answers once."""
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE t (c INT);\nALTER TABLE t MODIFY c BIGINT;\n"
                                       "INSERT INTO t (c) VALUES (5000000000);\n"})
    was_killed, _, err = kills.run_killed_at(maria_url, d, tmp_path, tx_mode="file",
                                             kill_point=f"{where}:2")
    assert was_killed, err
    row = dbcheck.revisions(maria_url)["1"]
    assert (row.applied, row.error_stmt) == (1, "ALTER TABLE t MODIFY c BIGINT;")
    assert row.error.startswith("in doubt: statement 2 (1_a.sql:2:1)")
    # What Atlas needs to resume such a row: applied < total, one partial hash per applied one.
    assert row.total == 3 and row.partial_hashes is not None and len(row.partial_hashes) == 1
    for _ in range(2):  # stops every time until answered; nothing runs
        proc = kills.spawn(maria_url, d, tmp_path, tx_mode="file")
        _, err = proc.communicate(timeout=60)
        lines = [line for line in err.splitlines() if line.strip()]
        assert proc.returncode == 1 and len(lines) == 1, err
        assert "statement 2 at 1_a.sql:2:1" in lines[0] and "may or may not have completed" in lines[0]
        assert "--resolve-in-doubt=done" in lines[0] and "--resolve-in-doubt=redo" in lines[0]
    answer = "done" if where == "after" else "redo"
    proc = kills.spawn(maria_url, d, tmp_path, tx_mode="file", extra=("--resolve-in-doubt", answer))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert dbcheck.query(maria_url, "SELECT c FROM t") == [(5000000000,)]
    row = dbcheck.revisions(maria_url)["1"]
    assert (row.applied, row.total, row.error) == (3, 3, "")


def test_interrupted_concurrent_index_build_is_dropped_and_redone(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL: a CREATE INDEX CONCURRENTLY killed midway leaves an invalid index. The rerun
    sees it in the catalog, drops it (PostgreSQL's documented recovery) and builds it again."""
    d = make_dir(tmp_path, {
        "1_a.sql": "CREATE TABLE big (id INT);\nINSERT INTO big SELECT generate_series(1, 20000);\n",
        "2_b.sql": "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY ix_big ON big (id);\n"})
    proc = kills.spawn(pg_url, d, tmp_path, tx_mode="file")
    assert proc.communicate(timeout=60)[0] is None and proc.returncode == 0
    # Make an invalid index as a killed build leaves it, and the in-doubt mark the run left.
    dbcheck.query(pg_url, "DROP INDEX ix_big")
    dbcheck.query(pg_url, "INSERT INTO big VALUES (1)")
    with pytest.raises(Exception):
        dbcheck.query(pg_url, "CREATE UNIQUE INDEX CONCURRENTLY ix_big ON big (id)")
    assert dbcheck.query(pg_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('ix_big')") == [(False,)]
    table = dbcheck.revisions_table(pg_url)
    dbcheck.query(pg_url, f"UPDATE {table} SET applied = 0, partial_hashes = NULL, "
                          "error = 'in doubt: statement 1 (2_b.sql:3:1) was started', "
                          "error_stmt = 'CREATE INDEX CONCURRENTLY ix_big ON big (id);' WHERE version = '2'")
    proc = kills.spawn(pg_url, d, tmp_path, tx_mode="file")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert dbcheck.query(pg_url, "SELECT indisvalid, indisunique FROM pg_index WHERE indexrelid = to_regclass('ix_big')") == [(True, False)]
    row = dbcheck.revisions(pg_url)["2"]
    assert (row.applied, row.total, row.error) == (1, 1, "")


def test_a_files_own_transaction_is_honoured_and_exactly_once(server_db: ServerDb, tmp_path: Path) -> None:
    """``--tx-mode none`` with BEGIN … COMMIT written in the file: the file's transaction is
    run as written (not split into ours), and a kill at any statement of it is exactly once."""
    files = {"1_a.sql": "CREATE TABLE log (n INT NOT NULL);\n",
             "2_b.sql": ("BEGIN;\nINSERT INTO log (n) VALUES (1);\nINSERT INTO log (n) VALUES (2);\n"
                         "COMMIT;\nBEGIN;\nINSERT INTO log (n) VALUES (99);\nROLLBACK;\n"
                         "INSERT INTO log (n) VALUES (3);\n")}
    # statement numbers of the first run: 1_a.sql is 1, 2_b.sql's are 2..9
    for where in ("before", "after"):
        for n in range(2, 10):
            d = make_dir(tmp_path / f"{where}{n}", files)
            url = server_db.fresh_url()
            kills.kill_then_rerun(url, d, tmp_path, tx_mode="none", kill_point=f"{where}:{n}")
            assert dbcheck.query(url, "SELECT n FROM log ORDER BY n") == [(1,), (2,), (3,)], (where, n)
            row = dbcheck.revisions(url)["2"]
            assert (row.applied, row.total, row.error) == (8, 8, ""), (where, n, row)
