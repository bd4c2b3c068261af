"""MySQL/MariaDB: runs of plain DML go to the server as multi-statement batches (one round trip
for many), with the same outcome statement by statement as one by one: the failing statement is
the one named, nothing after it runs, and a statement the server would split otherwise still
runs alone, with multi-statements off."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from pulumi_migrations_provider import engine
from pulumi_migrations_provider.dialects import mysql
from pulumi_migrations_provider.dialects.mysql import MySQLDialect, _batchable
from pulumi_migrations_provider.errors import MigrateError, StatementError
from pulumi_migrations_provider.events import Event, StatementRun
from pulumi_migrations_provider.migdir import MigrationDir
from pulumi_migrations_provider.reports import Options

from tests.dirtools import make_dir
from tests.helpers import dbcheck
from tests.servers import MariaDbServer

CREATE = "CREATE TABLE items (id INT PRIMARY KEY, s TEXT);\n"


def _insert(i: int) -> str:
    # strings holding what ends or opens something outside them: ; -- /* */ # " ` and \\ pairs
    return (f"INSERT INTO items (id, s) VALUES ({i}, 'a;b -- c /* d */ # e \"f\" `g` h\\\\i''j'),\n"
            f"  ({i + 1000}, 'k;');\n")


@pytest.mark.parametrize("text, ok", [
    ("INSERT INTO t VALUES (1, 'x;y');", True),
    ("INSERT INTO t VALUES ('-- /* */ # \" ` ;'), ('it''s'), ('a\\\\b'), (1-2), (2*3), (4/2);", True),
    ("INSERT INTO t VALUES ('a\\\\');", True),           # a pair, then the closing quote
    ("INSERT INTO t VALUES ('a\\'');", False),           # \' : closes under NO_BACKSLASH_ESCAPES
    ("INSERT INTO t VALUES ('a\\n');", False),           # a lone backslash: not looked into
    ("INSERT INTO t VALUES ('a\\\\\\'b');", False),      # an odd run
    ("SELECT 1--1;", False),                             # Atlas: a comment; the server: 1 - -1
    ("SELECT 1 -- x\n;", False),
    ("SELECT 1 # x\n;", False),
    ("SELECT 1 /*! , 2 */;", False),
    ("SELECT 1 - -1;", False),                           # refused, to be safe
    ("SELECT 4/2*3;", False),                            # "/*" once the digits are left out
    ('SELECT "a;b";', False),                            # ANSI_QUOTES makes it an identifier
    ("SELECT `a;b`;", False),
    ("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);", False),
    ("INSERT INTO t VALUES (1)", False),                 # no ; (a custom delimiter was stripped)
    ("INSERT INTO t VALUES ('unclosed;", False),
])
def test_batchable(text: str, ok: bool) -> None:
    assert _batchable(text.encode()) is ok


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    sent: list[tuple[int, int]] = []
    real = MySQLDialect.send_batch

    def send_batch(self: MySQLDialect, conn, batch) -> None:  # type: ignore[no-untyped-def]
        sent.append((batch.start, batch.stop))
        real(self, conn, batch)

    monkeypatch.setattr(MySQLDialect, "send_batch", send_batch)
    return sent


def _count(url: str) -> int:
    return int(dbcheck.query(url, "SELECT count(*) FROM items")[0][0])


def test_batches_apply_every_statement_once(maria_url: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    sent = _spy(monkeypatch)
    monkeypatch.setattr(mysql, "_BATCH_BYTES", 1000)  # several batches
    body = [_insert(i) for i in range(1, 31)]
    body[12] = 'INSERT INTO items (id, s) VALUES (13, "double-quoted"), (1013, "x");\n'  # alone
    d = make_dir(tmp_path, {"1_seed.sql": CREATE + "".join(body)})
    events: list[Event] = []
    report = engine.apply(maria_url, d, Options(), logger=events.append)
    assert report.applied == ["1_seed.sql"]
    assert _count(maria_url) == 60
    assert dbcheck.query(maria_url, "SELECT s FROM items WHERE id = 1")[0][0] == (
        "a;b -- c /* d */ # e \"f\" `g` h\\i'j")
    assert len(sent) >= 3 and all(b - a >= mysql._BATCH_MIN for a, b in sent)
    batched = {k for a, b in sent for k in range(a, b)}
    assert 12 not in batched and len(batched) >= 20  # indexes within the run (the INSERTs)
    assert [e.index for e in events if isinstance(e, StatementRun)] == list(range(1, 32))
    row = dbcheck.revisions(maria_url)["1"]
    assert (row.applied, row.total, row.error) == (31, 31, "")


def test_failure_inside_a_batch_names_that_statement(maria_url: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    sent = _spy(monkeypatch)
    body = [_insert(i) for i in range(1, 31)]
    body[16] = "INSERT INTO items (id, s) VALUES (3, 'duplicate key');\n"  # file statement 18
    d = make_dir(tmp_path, {"1_seed.sql": CREATE + "".join(body)})
    events: list[Event] = []
    with pytest.raises(StatementError) as info:
        engine.apply(maria_url, d, Options(), logger=events.append)
    err = info.value
    assert sent and sent[0][0] <= 16 < sent[0][1]  # it went in a batch
    assert (err.index, err.line) == (18, 1 + 2 * 16 + 1)
    assert "Duplicate entry" in err.db_error and "duplicate key" in err.statement
    assert [e.index for e in events if isinstance(e, StatementRun)] == list(range(1, 19))
    assert _count(maria_url) == 0  # the run's transaction rolled back, nothing after it ran
    row = dbcheck.revisions(maria_url)["1"]
    assert row.applied == 1 and "Duplicate entry" in row.error and "duplicate key" in row.error_stmt

    body[16] = _insert(17)
    (d / "1_seed.sql").write_text(CREATE + "".join(body))
    MigrationDir.load(d).write_sum()
    engine.apply(maria_url, d, Options())
    assert _count(maria_url) == 60
    row = dbcheck.revisions(maria_url)["1"]
    assert (row.applied, row.total, row.error) == (31, 31, "")


def test_a_statement_the_server_would_split_still_runs_alone(maria_url: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Atlas takes ``--1;`` as a comment, so the file's statement 7 is one statement holding a
    DELETE for the server: sent alone with multi-statements off (after a batch switched them
    on), the server refuses it, as it did before batches."""
    sent = _spy(monkeypatch)
    body = "".join(_insert(i) for i in range(1, 6)) + "SELECT 1--1;\nDELETE FROM items;\n"
    d = make_dir(tmp_path, {"1_seed.sql": CREATE + body})
    with pytest.raises(StatementError) as info:
        engine.apply(maria_url, d, Options())
    assert sent == [(0, 5)]
    assert info.value.index == 7 and "DELETE FROM items" in info.value.statement
    assert "syntax" in info.value.db_error
    assert _count(maria_url) == 0


def test_interrupt_while_a_batch_runs_leaves_nothing_half_done(maria_url: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the second batch's results are still on their way: the run stops with the
    interrupt (not another error), its transaction rolls back, and the rerun applies every
    statement exactly once."""
    monkeypatch.setattr(mysql, "_BATCH_BYTES", 1000)
    calls: list[int] = []
    real = MySQLDialect.finish_batch

    def finish_batch(self: MySQLDialect, conn, batch) -> None:  # type: ignore[no-untyped-def]
        calls.append(batch.start)
        if len(calls) == 2:
            raise KeyboardInterrupt  # its results not read yet
        real(self, conn, batch)

    monkeypatch.setattr(MySQLDialect, "finish_batch", finish_batch)
    d = make_dir(tmp_path, {"1_seed.sql": CREATE + "".join(_insert(i) for i in range(1, 31))})
    with pytest.raises(KeyboardInterrupt):
        engine.apply(maria_url, d, Options())
    assert _count(maria_url) == 0
    row = dbcheck.revisions(maria_url)["1"]
    assert (row.applied, row.error) == (1, "")  # the CREATE TABLE, recorded; no INSERT kept
    monkeypatch.setattr(MySQLDialect, "finish_batch", real)
    engine.apply(maria_url, d, Options())
    assert _count(maria_url) == 60
    row = dbcheck.revisions(maria_url)["1"]
    assert (row.applied, row.total, row.error) == (31, 31, "")


def _batched_and_alone(server: MariaDbServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       files: dict[str, str], query: str = "") -> list[tuple]:
    """Apply ``files`` (one failing statement in them) to a fresh database twice, batched then
    one by one: per run, the batches sent and what the user and the revisions table see."""
    seen: list[tuple] = []
    for batch_min in (mysql._BATCH_MIN, 10 ** 9):
        monkeypatch.setattr(mysql, "_BATCH_MIN", batch_min)
        sent = _spy(monkeypatch)
        name = "t_" + uuid.uuid4().hex[:16]
        server.create_database(name)
        url = server.app_url(name)
        events: list[Event] = []
        with pytest.raises(MigrateError) as info:
            engine.apply(url + query, make_dir(tmp_path / str(batch_min), files), Options(),
                         logger=events.append)
        row = dbcheck.revisions(url)["1"]
        seen.append((sent, type(info.value), str(info.value).replace(name, "DB"),
                     getattr(info.value, "db_error", None), row.applied, row.error, row.error_stmt,
                     [e.index for e in events if isinstance(e, StatementRun)], _count(url)))
    return seen


def test_a_syntax_error_inside_a_batch_reads_as_alone(maria_server: MariaDbServer, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's syntax error quotes the query from where it stopped reading ("near '…' at
    line N"): in a batch, the statements after it too. The error recorded and shown is the one
    the statement gives alone, as with Atlas; nothing after it ran."""
    body = [_insert(i) for i in range(1, 11)]
    body[5] = "INSERT INTO items (id, s) VALUES (6 'no comma');\n"  # file statement 7
    batched, alone = _batched_and_alone(maria_server, tmp_path, monkeypatch,
                                        {"1_seed.sql": CREATE + "".join(body)})
    assert batched[0] == [(0, 10)] and alone[0] == []
    assert batched[1:] == alone[1:]
    assert alone[3] == ("Error 1064 (42000): You have an error in your SQL syntax; check the manual "
                        "that corresponds to your MariaDB server version for the right syntax to "
                        "use near ''no comma')' at line 1")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_signal_while_a_batch_runs_stops_it_on_the_server(maria_url: str, tmp_path: Path,
                                                            sig: signal.Signals) -> None:
    """Ctrl-C or SIGTERM to a real run while the server works through a batch: as for a
    statement alone (KILL QUERY), the server stops it too, rather than running the rest of the
    batch in a session that still holds the migration lock; the rerun applies it once."""
    body = "".join(f"INSERT INTO items (id, s) VALUES ({i}, IF(SLEEP(1) = 0, 'x', 'y'));\n"
                   for i in range(1, 9))
    d = make_dir(tmp_path, {"1_slow.sql": CREATE + body})
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent),
               TMPDIR=str(tmp_path), PYTHONUNBUFFERED="1")
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pulumi_migrations_provider", "apply", "--dir", str(d), "--url", maria_url],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    busy = "SELECT id FROM information_schema.processlist WHERE info LIKE 'INSERT INTO items%%'"
    deadline = time.monotonic() + 20
    while not dbcheck.query(maria_url, busy) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # the batch of 8 one-second INSERTs under way
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == (130 if sig == signal.SIGINT else 143)
    assert len(err.strip().splitlines()) == 1
    deadline = time.monotonic() + 1.5
    running: list[tuple] = [()]
    while running and time.monotonic() < deadline:
        running = dbcheck.query(maria_url, busy)
        time.sleep(0.1)
    assert running == []
    assert _count(maria_url) == 0
    engine.apply(maria_url, d, Options(lock_timeout=1))
    assert _count(maria_url) == 8
    row = dbcheck.revisions(maria_url)["1"]
    assert (row.applied, row.total, row.error) == (9, 9, "")


def test_a_statement_the_charset_cannot_hold_fails_as_alone(maria_server: MariaDbServer, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A character the connection's charset lacks (charset=latin1): the statement holding it
    fails exactly as one by one (it is not planned into a batch), whatever that failure is."""
    body = [_insert(i) for i in range(1, 9)]
    body[4] = "INSERT INTO items (id, s) VALUES (5, '表');\n"
    batched, alone = _batched_and_alone(maria_server, tmp_path, monkeypatch,
                                        {"1_seed.sql": CREATE + "".join(body)}, "?charset=latin1")
    assert batched[0] == [(0, 4)] and alone[0] == []
    assert batched[1:] == alone[1:]
    kind, message, _, applied, error, error_stmt, _, count = alone[1:]
    reason = "it holds U+8868, which the connection's character set latin1 cannot hold"
    assert kind is StatementError and message == (
        f"applying 1_seed.sql (version 1): statement 6 at 1_seed.sql:10:1 cannot be sent: {reason} "
        "[INSERT INTO items (id, s) VALUES (5, '表');]; nothing of it was sent: connect with a "
        "character set that holds it (charset=utf8mb4 in the URL) or change the statement, and "
        "apply again: the next run resumes with this file")
    # the INSERTs before it shared its transaction: rolled back; the CREATE TABLE is recorded
    stored = "INSERT INTO items (id, s) VALUES (5, '?');"  # as latin1 can hold it
    assert (applied, error, error_stmt, count) == (1, reason, stored, 0)


def test_a_statement_the_charset_cannot_hold_under_tx_mode_none(maria_url: str,
                                                               tmp_path: Path) -> None:
    """Under --tx-mode none, one statement per step: the ones before it are kept, it is not sent."""
    body = CREATE + _insert(1) + "INSERT INTO items (id, s) VALUES (5, '表');\n" + _insert(7)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent),
               TMPDIR=str(tmp_path))
    env.pop("DATABASE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pulumi_migrations_provider", "apply", "--tx-mode", "none",
         "--dir", str(make_dir(tmp_path, {"1_seed.sql": body})), "--url",
         maria_url + "?charset=latin1"], env=env, capture_output=True, text=True, timeout=60)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "statement 3 at 1_seed.sql:4:1 cannot be sent: it holds U+8868, which the " \
           "connection's character set latin1 cannot hold" in lines[0]
    assert "charset=utf8mb4" in lines[0] and "privileges" not in lines[0]
    assert dbcheck.query(maria_url, "SELECT id FROM items ORDER BY id") == [(1,), (1001,)]
    row = dbcheck.revisions(maria_url)["1"]
    assert (row.applied, row.total) == (2, 4) and "U+8868" in row.error


def test_a_batch_that_gives_another_count_of_results_keeps_nothing(
        maria_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server splitting a batch otherwise than we did cannot happen (_batchable); if it
    did, the run stops with one line saying so, and nothing of the batch's transaction stays."""
    real = MySQLDialect.finish_batch

    def finish_batch(self: MySQLDialect, conn, batch) -> None:  # type: ignore[no-untyped-def]
        real(self, conn, batch)
        raise mysql.BatchMiscount(batch.stop - batch.start, batch.stop - batch.start - 1)

    monkeypatch.setattr(MySQLDialect, "finish_batch", finish_batch)
    d = make_dir(tmp_path, {"1_seed.sql": CREATE + "".join(_insert(i) for i in range(1, 9))})
    with pytest.raises(MigrateError) as info:
        engine.apply(maria_url, d, Options())
    assert str(info.value) == (
        "applying 1_seed.sql (version 1): statements 2 to 9 went to the server as one batch of 8 "
        "and gave 7 results, which cannot happen; none of them was kept (their transaction rolled "
        "back) and the next run resumes there: please report this as a bug")
    assert _count(maria_url) == 0
    row = dbcheck.revisions(maria_url)["1"]
    assert (row.applied, row.error) == (1, "")
    monkeypatch.setattr(MySQLDialect, "finish_batch", real)
    engine.apply(maria_url, d, Options())
    assert _count(maria_url) == 16


def test_an_interrupt_half_way_through_sending_a_batch(maria_url: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while a batch's bytes are only partly sent: the server waits for the rest of the
    query, and whatever the client sent next (switching multi-statements off, ROLLBACK) would
    complete it with garbage, or leave both sides waiting. The connection is dropped instead:
    the run stops with the interrupt at once, and nothing of the batch is kept."""
    import threading

    import pymysql.connections

    real = pymysql.connections.Connection._write_bytes
    cut: list[bool] = []

    def write_bytes(self, data: bytes) -> None:  # type: ignore[no-untyped-def]
        if not cut and b"VALUES (3, " in data and b"VALUES (4, " in data:  # the batch's query
            cut.append(True)
            self._sock.sendall(data[:len(data) // 2])
            raise KeyboardInterrupt
        real(self, data)

    monkeypatch.setattr(pymysql.connections.Connection, "_write_bytes", write_bytes)
    d = make_dir(tmp_path, {"1_seed.sql": CREATE + "".join(_insert(i) for i in range(1, 9))})
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            engine.apply(maria_url, d, Options())
            outcome.append(None)
        except BaseException as err:  # noqa: BLE001 - what the run raised, checked below
            outcome.append(err)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(20)
    assert cut and len(outcome) == 1 and isinstance(outcome[0], KeyboardInterrupt)
    monkeypatch.setattr(pymysql.connections.Connection, "_write_bytes", real)
    assert _count(maria_url) == 0
    engine.apply(maria_url, d, Options(lock_timeout=5))
    assert _count(maria_url) == 16
    row = dbcheck.revisions(maria_url)["1"]
    assert (row.applied, row.total, row.error) == (9, 9, "")
