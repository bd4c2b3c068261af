"""SQLite connections: the settings Atlas's driver (mattn/go-sqlite3) applies, from the same URL
parameters, and the TRUNCATE journal used while applying (restored to DELETE afterwards)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from pulumi_migrations_provider import engine
from pulumi_migrations_provider.dialects import for_target
from pulumi_migrations_provider.errors import ConfigError, LockError, StatementError
from pulumi_migrations_provider.events import FileDone
from pulumi_migrations_provider.reports import Options
from pulumi_migrations_provider.target import Target
from tests.dirtools import make_dir

FILES = {
    "1_a.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
    "2_b.sql": "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id));\n",
    "3_c.sql": "INSERT INTO a (id) VALUES (1);\n",
}


def pragma(url: str, name: str, *, readonly: bool = False) -> object:
    target = Target.parse(url)
    conn = for_target(target).connect(target, timeout=5, readonly=readonly)
    assert conn is not None
    try:
        return conn.raw.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize(("query", "expected"), [
    ("", 1), ("?_sync=FULL", 2), ("?_synchronous=off", 0), ("?_sync=3", 3), ("?_sync=normal", 1),
])
def test_synchronous_follows_atlas_driver(tmp_path: Path, query: str, expected: int) -> None:
    url = f"sqlite://{tmp_path}/s.db{query}"
    assert pragma(url, "synchronous") == expected
    assert pragma(url, "synchronous", readonly=True) == expected


@pytest.mark.parametrize(("query", "expected"), [("", 0), ("?_fk=1", 1), ("?_foreign_keys=true", 1),
                                                 ("?_fk=off", 0)])
def test_foreign_keys_follow_atlas_driver(tmp_path: Path, query: str, expected: int) -> None:
    assert pragma(f"sqlite://{tmp_path}/f.db{query}", "foreign_keys") == expected


@pytest.mark.parametrize("query", ["?_sync=fast", "?_fk=maybe", "?_locking_mode=shared"])
def test_bad_driver_parameter_is_a_config_error_and_writes_nothing(tmp_path: Path, query: str) -> None:
    d = make_dir(tmp_path, FILES)
    with pytest.raises(ConfigError, match=r"reading the SQLite URL: _(sync|fk|locking_mode)=") as err:
        engine.apply(f"sqlite://{tmp_path}/x.db{query}", d)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "x.db").exists()


def test_foreign_keys_on_make_a_violating_migration_fail(tmp_path: Path) -> None:
    files = {**FILES, "4_bad.sql": "INSERT INTO b (id, a_id) VALUES (1, 42);\n"}
    d = make_dir(tmp_path, files)
    with pytest.raises(StatementError, match="FOREIGN KEY constraint failed"):
        engine.apply(f"sqlite://{tmp_path}/fk.db?_fk=1", d)
    # SQLite's default (no _fk) does not enforce: the same file applies.
    report = engine.apply(f"sqlite://{tmp_path}/nofk.db", d)
    assert report.current_version == "4"


def journal_seen_during_apply(url: str, db: Path, d: Path) -> list[bool]:
    """Apply; after each file record whether the journal file exists (TRUNCATE keeps an empty
    one between commits, DELETE unlinks it)."""
    seen: list[bool] = []

    def logger(event: object) -> None:
        if isinstance(event, FileDone):
            seen.append(os.path.exists(f"{db}-journal"))

    engine.apply(url, d, logger=logger)
    return seen


def test_apply_uses_truncate_journal_and_restores_delete(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    db = tmp_path / "j.db"
    assert journal_seen_during_apply(f"sqlite://{db}", db, d) == [True, True, True]
    assert not Path(f"{db}-journal").exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("SELECT count(*) FROM atlas_schema_revisions").fetchone()[0] == 3


def test_full_sync_keeps_delete_journal(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    db = tmp_path / "full.db"
    engine.apply(f"sqlite://{db}?_sync=FULL", d)
    assert not Path(f"{db}-journal").exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("SELECT count(*) FROM atlas_schema_revisions").fetchone()[0] == 3


def reads_during_apply(url: str, db: Path, d: Path) -> list[str]:
    """Apply; after each file, try to read the database from another connection without
    waiting: the number of tables it sees, or the error."""
    seen: list[str] = []

    def logger(event: object) -> None:
        if isinstance(event, FileDone):
            try:
                with sqlite3.connect(db, timeout=0) as other:
                    n = other.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
                    seen.append(str(n.fetchone()[0]))
            except sqlite3.OperationalError as err:
                seen.append(str(err))

    engine.apply(url, d, logger=logger)
    return seen


def test_apply_holds_the_file_exclusively_until_done(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    db = tmp_path / "x.db"
    assert reads_during_apply(f"sqlite://{db}", db, d) == ["database is locked"] * 3
    with sqlite3.connect(db, timeout=0) as other:  # released at the end of the run
        other.execute("INSERT INTO a (id) VALUES (2)")
        assert other.execute("SELECT count(*) FROM a").fetchone()[0] == 2


def test_locking_mode_normal_lets_readers_in_between_files(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    db = tmp_path / "n.db"
    # revisions table + a, then + b, then the same: readers see each committed file.
    assert reads_during_apply(f"sqlite://{db}?_locking_mode=NORMAL", db, d) == ["2", "3", "3"]


def test_status_takes_no_lock_and_changes_no_mode(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    db = tmp_path / "s.db"
    engine.apply(f"sqlite://{db}", d)
    with sqlite3.connect(db, timeout=0) as writer:
        writer.execute("BEGIN IMMEDIATE")  # a writer holds RESERVED: status still reads
        assert engine.status(f"sqlite://{db}", d).status == "OK"
        writer.execute("ROLLBACK")


def test_wal_database_stays_wal(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    db = tmp_path / "wal.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
    # Not taken exclusively: WAL readers go on reading while files apply.
    assert reads_during_apply(f"sqlite://{db}", db, d) == ["2", "3", "3"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM a").fetchone()[0] == 1


def test_executed_at_is_go_sqlite3_time_text_and_now() -> None:
    import re
    from datetime import datetime, timezone

    from pulumi_migrations_provider.dialects.sqlite import SQLiteDialect

    dialect = SQLiteDialect()
    stamps = [dialect.executed_at() for _ in range(3)]  # cached per second: still exact
    for stamp in stamps:
        m = re.fullmatch(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d{1,9})?([+-]\d\d:\d\d)", stamp)
        assert m is not None, stamp
        assert not (m.group(2) or ".").endswith("0")  # Go trims trailing zeros
        when = datetime.fromisoformat(m.group(1) + (m.group(2) or "")[:7] + m.group(3))
        assert abs((datetime.now(timezone.utc) - when).total_seconds()) < 5
    assert stamps == sorted(stamps) or stamps[0][:19] != stamps[-1][:19]


def test_apply_waits_for_an_app_writer_instead_of_deadlocking(tmp_path: Path) -> None:
    # An application is half way through a write transaction when the run starts: the run
    # must wait for it (holding nothing), not hold a read lock that blocks the app's COMMIT.
    import threading
    import time

    d = make_dir(tmp_path, FILES)
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as setup:
        setup.execute("CREATE TABLE app (id INTEGER)")
    app = sqlite3.connect(db, timeout=5, isolation_level=None)
    app.execute("BEGIN IMMEDIATE")
    app.execute("INSERT INTO app VALUES (1)")
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(engine.apply(f"sqlite://{db}", d, Options(allow_dirty=True, lock_timeout=5)))
        except Exception as err:  # reported below
            outcome.append(err)

    started = time.monotonic()
    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(0.5)
    app.execute("COMMIT")  # would fail "database is locked" if the run held a read lock
    app.close()
    worker.join(10)
    assert not isinstance(outcome[0], Exception), outcome
    assert time.monotonic() - started >= 0.5
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT count(*) FROM app").fetchone()[0] == 1
        assert check.execute("SELECT count(*) FROM atlas_schema_revisions").fetchone()[0] == 3


def test_a_look_during_a_run_waits_then_says_the_database_is_held(tmp_path: Path) -> None:
    import time

    d = make_dir(tmp_path, FILES)
    db = tmp_path / "held.db"
    engine.apply(f"sqlite://{db}", d)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("COMMIT")  # the file stays locked, as during a run
    started = time.monotonic()
    with pytest.raises(LockError, match="locked by another process") as err:
        engine.status(f"sqlite://{db}", d, Options(lock_timeout=0.6, connect_timeout=0.1))
    assert time.monotonic() - started >= 0.5  # waited the lock timeout, not the connect one
    assert "\n" not in str(err.value)
    holder.close()
    assert engine.status(f"sqlite://{db}", d).status == "OK"


def test_the_file_lock_is_dropped_before_the_migration_lock(tmp_path: Path) -> None:
    db = tmp_path / "order.db"
    target = Target.parse(f"sqlite://{db}")
    dialect = for_target(target)
    conn = dialect.connect(target, timeout=1)
    assert conn is not None
    release = dialect.lock(conn, 1)
    conn.execute("CREATE TABLE t (id INTEGER)").close()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        sqlite3.connect(db, timeout=0).execute("SELECT count(*) FROM t").fetchone()
    release()  # what Connection.close runs before closing the connection itself
    with sqlite3.connect(db, timeout=0) as other:
        assert other.execute("SELECT count(*) FROM t").fetchone()[0] == 0
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.raw.close()


def _leave_hot_journal(path: Path) -> None:
    """SIGKILL a process inside a write transaction that has already spilled changed pages into
    the database file: what a kill during a long migration leaves behind."""
    import subprocess
    import sys
    code = (
        "import sqlite3, sys, time\n"
        f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
        "c.execute('PRAGMA cache_size=2'); c.execute('BEGIN')\n"
        "c.execute('CREATE TABLE IF NOT EXISTS junk (x)')\n"
        "for _ in range(200): c.execute('INSERT INTO junk VALUES (zeroblob(5000))')\n"
        "print('ready', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    proc.kill()
    proc.wait()
    assert os.path.getsize(f"{path}-journal") > 0
    with pytest.raises(sqlite3.OperationalError, match="readonly"):  # what a read-only look meets
        sqlite3.connect(f"file:{path}?mode=ro", uri=True).execute("SELECT * FROM sqlite_master").fetchall()


def test_hot_journal_after_a_kill_is_rolled_back_before_the_look(tmp_path: Path) -> None:
    """Issue 8: after such a kill every status and apply failed for good with 'attempt to write a
    readonly database'. SQLite's own recovery (one ordinary read) restores the committed state."""
    db = tmp_path / "app.db"
    url = f"sqlite://{db}"
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id INT);\n"})
    engine.apply(url, d)
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id INT);\n",
                            "2_b.sql": "CREATE TABLE b (id INT);\n"})
    _leave_hot_journal(db)
    report = engine.status(url, d)
    assert (report.current_version, [f for f in report.pending]) == ("1", ["2_b.sql"])
    assert not os.path.exists(f"{db}-journal") or os.path.getsize(f"{db}-journal") == 0
    tables = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master")}
    assert "junk" not in tables  # the killed transaction was rolled back, not kept
    engine.apply(url, d)
    assert engine.status(url, d).status == "OK"


@pytest.mark.parametrize("args", [
    ("status",), ("status", "--format", "json"), ("apply",), ("apply", "--dry-run"),
    ("set", "2", "--dry-run"),
], ids=lambda args: "-".join(a.lstrip("-") for a in args))
def test_a_held_file_with_a_journal_fails_within_the_lock_timeout(tmp_path: Path,
                                                                   args: tuple[str, ...]) -> None:
    """Audit gap 1: a holder in EXCLUSIVE locking mode after a write (its journal stays, not
    empty) made every look wait 20 s whatever --lock-timeout said: the hot-journal recovery
    open and the read-only open each waited max(connect 10 s, lock). One deadline, the lock
    timeout, covers both."""
    import subprocess
    import sys
    import time

    d = make_dir(tmp_path, FILES)
    db = tmp_path / "app.db"
    url = f"sqlite://{db}"
    engine.apply(url, make_dir(tmp_path / "first", dict(list(FILES.items())[:2])))
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO a (id) VALUES (7)")
        holder.execute("COMMIT")  # the file stays locked and its journal stays, as during a run
        assert os.path.getsize(f"{db}-journal") > 0
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pulumi_migrations_provider", *args, "--dir", str(d),
             "--url", url, "--lock-timeout", "1s"],
            capture_output=True, text=True, timeout=60, env=env, check=False)
        took = time.monotonic() - started
    finally:
        holder.close()
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert 0.9 <= took < 5, took  # the asked 1 s (plus start-up), not 20 s
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "locked by another process" in lines[0] and "--lock-timeout" in lines[0], lines[0]
    assert engine.status(url, d).current_version == "2"  # nothing was written


@pytest.mark.parametrize("args", [
    ("status",), ("apply", "--dry-run"), ("apply",), ("set", "2", "--dry-run"),
], ids=lambda args: "-".join(a.lstrip("-") for a in args))
@pytest.mark.parametrize("parent", ["missing", "file"])
def test_a_database_whose_directory_is_missing_is_one_line_for_every_command(
        tmp_path: Path, args: tuple[str, ...], parent: str) -> None:
    """Audit: a missing database file is a database with nothing applied (apply creates it),
    but apply creates no directory. The looks used to answer as for an empty database (status
    PENDING, --dry-run the whole plan, exit 0); the run then failed with SQLite's "unable to
    open database file"."""
    import subprocess
    import sys

    d = make_dir(tmp_path, FILES)
    where = tmp_path / "nowhere"
    if parent == "file":
        where.write_text("")
    db = where / "app.db"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "pulumi_migrations_provider", *args, "--dir", str(d), "--url",
         f"sqlite://{db}"], capture_output=True, text=True, timeout=60, env=env, check=False)
    problem = ("is a file, not a directory; fix the path in the URL" if parent == "file"
               else "does not exist; create it, or fix the path in the URL")
    assert (done.returncode, done.stderr) == (1, (
        f"error: opening sqlite://{db}: the directory of the database file ({where}) {problem}\n"))
    assert "Migrat" not in done.stdout, done.stdout  # no status, no plan
    assert where.is_file() if parent == "file" else not where.exists()  # nothing was created
    # A missing file in a directory that exists is still an empty database: everything pending.
    report = engine.status(f"sqlite://{tmp_path / 'app.db'}", d)
    assert (report.status, len(report.pending)) == ("PENDING", 3)
    assert not (tmp_path / "app.db").exists()
