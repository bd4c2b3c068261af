"""The engine against real databases: one conformance suite for SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import hashlib
import base64
import json
from pathlib import Path

import pytest

from pulumi_migrations_provider import engine, events
from pulumi_migrations_provider.errors import ConfigError, NonLinearError, NotCleanError
from pulumi_migrations_provider.migdir import MigrationDir
from pulumi_migrations_provider.reports import Options
from tests.dbtools import execute, query, revisions, revisions_table, table_exists, user_tables
from tests.dirtools import make_dir

FILES = {
    "20240101000000_users.sql": "CREATE TABLE users (id int PRIMARY KEY, name varchar(50));\n"
                                "INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b');\n",
    "20240102000000_posts.sql": "CREATE TABLE posts (id int PRIMARY KEY, user_id int);\n"
                                "CREATE INDEX posts_user ON posts (user_id);\n",
}
THIRD = {"20240103000000_tags.sql": "CREATE TABLE tags (id int PRIMARY KEY);\n"}


def parse_ph(value):
    if isinstance(value, (bytes, bytearray)):
        value = value.decode()
    return json.loads(value) if isinstance(value, str) else value


def test_apply_writes_atlas_rows(server_db, tmp_path):
    d = make_dir(tmp_path, FILES)
    report = engine.apply(server_db.url, d)
    assert report.applied == list(FILES)
    assert report.from_version is None and report.current_version == "20240102000000"
    assert report.statements == 4
    assert user_tables(server_db.url) == ["posts", "users"]
    rows = revisions(server_db.url)
    hf = MigrationDir.load(d).validate()
    assert [r["version"] for r in rows] == ["20240101000000", "20240102000000"]
    for row, name in zip(rows, FILES):
        assert row["description"] == name.split("_", 1)[1][:-4]
        assert (row["type"], row["applied"], row["total"]) == (2, 2, 2)
        assert row["error"] == "" and row["error_stmt"] == ""
        assert row["hash"] == hf.hash_of(name) and not row["hash"].startswith("h1:")
        assert parse_ph(row["partial_hashes"]) is None      # JSON null, as current Atlas writes
        assert row["operator_version"] == f"pulumi-migrations {engine.__version__}"
        assert isinstance(row["execution_time"], int) and row["execution_time"] > 1000  # nanoseconds
    table = revisions_table(server_db.url)
    assert query(server_db.url, f"SELECT count(*) FROM {table} WHERE partial_hashes IS NULL") == [(0,)]


def test_second_apply_is_a_noop_and_new_files_run(server_db, tmp_path):
    d = make_dir(tmp_path, FILES)
    engine.apply(server_db.url, d)
    assert engine.apply(server_db.url, d).applied == []
    make_dir(tmp_path, THIRD)
    report = engine.apply(server_db.url, d)
    assert report.applied == list(THIRD) and report.from_version == "20240102000000"
    assert len(revisions(server_db.url)) == 3


def test_status_and_dry_run_write_nothing(server_db, tmp_path):
    d = make_dir(tmp_path, FILES)
    st = engine.status(server_db.url, d)
    assert st.status == "PENDING" and st.pending == list(FILES) and not st.table_exists
    assert st.current_version is None and st.next_version == "20240101000000"
    seen: list = []
    report = engine.apply(server_db.url, d, dry_run=True, logger=seen.append)
    assert report.dry_run and report.applied == [] and report.pending == list(FILES)
    assert [type(e).__name__ for e in seen].count("StatementRun") == 4
    if server_db.dialect == "sqlite":
        assert not Path(server_db.url.removeprefix("sqlite://")).exists()
    else:
        assert not table_exists(server_db.url)
        assert user_tables(server_db.url) == []
    if server_db.dialect == "postgresql":
        assert query(server_db.url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'atlas_schema_revisions'") == [(0,)]


def test_status_after_apply(server_db, tmp_path):
    d = make_dir(tmp_path, FILES)
    engine.apply(server_db.url, d, Options(amount=1))
    st = engine.status(server_db.url, d)
    assert (st.status, st.current_version, st.next_version, st.executed) == ("PENDING", "20240101000000", "20240102000000", 1)
    assert st.pending == ["20240102000000_posts.sql"] and st.table_exists
    engine.apply(server_db.url, d)
    st = engine.status(server_db.url, d)
    assert st.status == "OK" and st.pending == [] and st.current_version == "20240102000000"


def test_to_version_and_amount(server_db, tmp_path):
    d = make_dir(tmp_path, {**FILES, **THIRD})
    assert engine.apply(server_db.url, d, Options(to_version="20240102000000")).applied == list(FILES)
    assert engine.apply(server_db.url, d, Options(amount=5)).applied == list(THIRD)


def test_events_sequence(server_db, tmp_path):
    d = make_dir(tmp_path, FILES)
    seen: list = []
    engine.apply(server_db.url, d, logger=seen.append)
    kinds = [type(e).__name__ for e in seen]
    assert kinds == ["ExecutionStarted", "FileStarted", "StatementRun", "StatementRun", "FileDone",
                     "FileStarted", "StatementRun", "StatementRun", "FileDone", "ExecutionDone"]
    assert isinstance(seen[0], events.ExecutionStarted) and seen[0].files == tuple(FILES)
    assert seen[2].line == 1 and seen[3].line == 2


def test_not_clean_first_run_then_baseline(server_db, tmp_path):
    execute(server_db.url, "CREATE TABLE legacy (id int)")
    d = make_dir(tmp_path, {**FILES, **THIRD})
    with pytest.raises(NotCleanError, match="legacy"):
        engine.apply(server_db.url, d)
    assert not table_exists(server_db.url)
    report = engine.apply(server_db.url, d, Options(baseline="20240102000000"))
    assert report.applied == list(THIRD) and report.baseline_written == "20240102000000"
    rows = revisions(server_db.url)
    assert [(r["version"], r["type"], r["applied"], r["total"], r["hash"]) for r in rows[:1]] == [
        ("20240102000000", 1, 0, 0, "")]
    assert rows[1]["type"] == 2


def test_allow_dirty(server_db, tmp_path):
    execute(server_db.url, "CREATE TABLE legacy (id int)")
    d = make_dir(tmp_path, FILES)
    assert engine.apply(server_db.url, d, Options(allow_dirty=True)).applied == list(FILES)


def test_non_linear_file_added_out_of_order(server_db, tmp_path):
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id int);\n", "3_c.sql": "CREATE TABLE c (id int);\n"})
    engine.apply(server_db.url, d)
    make_dir(tmp_path, {"2_b.sql": "CREATE TABLE b (id int);\n"})
    with pytest.raises(NonLinearError, match="2_b.sql was added out of order"):
        engine.apply(server_db.url, d)
    st = engine.status(server_db.url, d)
    assert st.out_of_order == ["2_b.sql"] and "out of order" in (st.error or "")
    assert engine.apply(server_db.url, d, Options(exec_order="linear-skip")).applied == []
    assert engine.apply(server_db.url, d, Options(exec_order="non-linear")).applied == ["2_b.sql"]


def test_checkpoint_on_fresh_database(server_db, tmp_path):
    d = make_dir(tmp_path, {
        "1_a.sql": "CREATE TABLE a (id int);\n",
        "2_cp.sql": "-- atlas:checkpoint\n\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n",
        "3_c.sql": "CREATE TABLE c (id int);\n",
    })
    assert engine.apply(server_db.url, d).applied == ["2_cp.sql", "3_c.sql"]
    assert user_tables(server_db.url) == ["a", "b", "c"]


ATLAS_V021 = "Atlas CLI v0.21.2-ae7eac8-canary"


@pytest.mark.parametrize("encoding", ["array", "json-null", "sql-null", "empty-array"])
def test_continues_a_database_migrated_by_atlas(server_db, tmp_path, encoding):
    """Rows exactly as Atlas writes them (every partial_hashes encoding it has used)."""
    d = make_dir(tmp_path, {**FILES, **THIRD})
    hf = MigrationDir.load(d).validate()
    # Atlas ran the first two files: create what they created, then its revisions table and rows.
    engine.apply(server_db.url, d, Options(to_version="20240102000000"))
    table = revisions_table(server_db.url)
    execute(server_db.url, f"DELETE FROM {table}")
    ph = {"array": '["h1:+4xr+ho6j5FlU3TPC2aUwGMnQAUsRvi8saL8oPMoF+E=","h1:Bc4/TsoaziksCMuoVZY2kHb1UaSz7PoqAbVIVb9MX+M="]',
          "json-null": "null", "sql-null": None, "empty-array": "[]"}[encoding]
    for name in FILES:
        version, desc = name[:-4].split("_", 1)
        phv = "NULL" if ph is None else f"'{ph}'"
        execute(server_db.url,
                f"INSERT INTO {table} (version, description, type, applied, total, executed_at, execution_time, "
                f"error, error_stmt, hash, partial_hashes, operator_version) VALUES ('{version}', '{desc}', 2, 2, 2, "
                f"'2024-04-13 14:10:44', 410341502, '', '', '{hf.hash_of(name)}', {phv}, '{ATLAS_V021}')")
    # Atlas Cloud's identifier row must be ignored everywhere.
    execute(server_db.url,
            f"INSERT INTO {table} (version, description, type, applied, total, executed_at, execution_time, "
            f"error, error_stmt, hash, partial_hashes, operator_version) VALUES ('.atlas_cloud_identifier', "
            f"'7b2f5e9c-0000-4000-8000-000000000000', 2, 0, 0, '2024-04-13 14:10:44', 0, '', '', '', NULL, '{ATLAS_V021}')")
    st = engine.status(server_db.url, d)
    assert st.current_version == "20240102000000" and st.executed == 2 and st.pending == list(THIRD)
    assert engine.apply(server_db.url, d).applied == list(THIRD)
    rows = {r["version"]: r for r in revisions(server_db.url)}
    assert rows["20240101000000"]["operator_version"] == ATLAS_V021   # Atlas's rows untouched
    assert rows[".atlas_cloud_identifier"]["applied"] == 0


def chained(*stmts: str) -> list[str]:
    h = hashlib.sha256()
    out = []
    for s in stmts:
        h.update(s.encode())
        out.append("h1:" + base64.b64encode(h.digest()).decode())
    return out


def test_resumes_a_file_atlas_left_partially_applied(server_db, tmp_path):
    """Atlas (non-transactional DDL) stopped after statement 1 of 2; we continue at statement 2."""
    d = make_dir(tmp_path, FILES)
    hf = MigrationDir.load(d).validate()
    engine.apply(server_db.url, d, Options(amount=1))
    table = revisions_table(server_db.url)
    execute(server_db.url, "CREATE TABLE posts (id int PRIMARY KEY, user_id int)")
    ph = json.dumps(chained("CREATE TABLE posts (id int PRIMARY KEY, user_id int);"))
    execute(server_db.url,
            f"INSERT INTO {table} (version, description, type, applied, total, executed_at, execution_time, error, "
            f"error_stmt, hash, partial_hashes, operator_version) VALUES ('20240102000000', 'posts', 2, 1, 2, "
            f"'2024-04-13 14:10:44', 179, 'Error 1146: table missing', 'CREATE INDEX posts_user ON posts (user_id);', "
            f"'{hf.hash_of('20240102000000_posts.sql')}', '{ph}', '{ATLAS_V021}')")
    st = engine.status(server_db.url, d)
    assert st.partial and (st.applied_statements, st.total_statements) == (1, 2)
    assert st.error == "Error 1146: table missing" and st.pending == ["20240102000000_posts.sql"]
    seen: list = []
    report = engine.apply(server_db.url, d, logger=seen.append)
    assert report.applied == ["20240102000000_posts.sql"] and report.statements == 1
    assert [e.text for e in seen if isinstance(e, events.StatementRun)] == [
        "CREATE INDEX posts_user ON posts (user_id);"]
    row = revisions(server_db.url)[-1]
    assert (row["applied"], row["total"], row["error"], row["error_stmt"]) == (2, 2, "", "")
    assert parse_ph(row["partial_hashes"]) is None


def test_statement_hashes_match_atlas_chaining(server_db, tmp_path):
    """Our partial hashes (written during a failure) are Atlas's chained SHA-256 with h1:."""
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id int);\nCREATE TABLE a (id int);\n"})
    with pytest.raises(Exception):
        engine.apply(server_db.url, d, Options(tx_mode="none"))
    row = revisions(server_db.url)[0]
    assert row["applied"] == 1 and row["total"] == 2
    # sha256sum of the statement text, base64 (computed with coreutils, not with our code)
    assert parse_ph(row["partial_hashes"]) == ["h1:Fo9K92y+zoKkGFxsVzZuB4g8bkFV8lzihVkBjZlDO4E="]


def test_revisions_table_location(server_db, tmp_path):
    d = make_dir(tmp_path, FILES)
    info = engine.inspect(server_db.url)
    if server_db.dialect == "sqlite":
        assert info.revisions_table == "main.atlas_schema_revisions"
        with pytest.raises(ConfigError, match="separate schema"):
            engine.apply(server_db.url, d, Options(revisions_schema="other"))
        return
    if server_db.dialect == "postgresql":
        assert info.revisions_schema == "atlas_schema_revisions"   # not bound without search_path
        engine.apply(server_db.url, d)
        assert query(server_db.url, "SELECT count(*) FROM atlas_schema_revisions.atlas_schema_revisions") == [(2,)]
        bound = server_db.fresh_url() + "&search_path=app"
        execute(bound.replace("&search_path=app", ""), "CREATE SCHEMA app")
        assert engine.inspect(bound).revisions_schema == "app"
        engine.apply(bound, d)
        assert query(bound.replace("&search_path=app", ""), "SELECT count(*) FROM app.atlas_schema_revisions") == [(2,)]
        assert query(bound.replace("&search_path=app", ""), "SELECT count(*) FROM app.users") == [(2,)]
    else:
        db = server_db.url.rsplit("/", 1)[1]
        assert info.revisions_schema == db
        engine.apply(server_db.url, d, Options(revisions_schema="revs_elsewhere"))
        assert query(server_db.url, "SELECT count(*) FROM revs_elsewhere.atlas_schema_revisions") == [(2,)]
        execute(server_db.url, "DROP DATABASE revs_elsewhere")


def test_column_types_are_atlas_types(server_db, tmp_path):
    engine.apply(server_db.url, make_dir(tmp_path, FILES))
    if server_db.dialect == "sqlite":
        cols = {r[1]: (r[2], r[3], r[4]) for r in query(server_db.url, "PRAGMA table_info(atlas_schema_revisions)")}
        assert cols["version"] == ("TEXT", 1, None) or cols["version"][0].lower() == "text"
        assert cols["type"][0].lower() == "integer" and cols["type"][2] == "2"
        assert cols["partial_hashes"][0].lower() == "json"
        assert cols["executed_at"][0].lower() == "datetime"
        return
    if server_db.dialect == "postgresql":
        rows = query(server_db.url, "SELECT column_name, data_type FROM information_schema.columns "
                                    "WHERE table_schema = 'atlas_schema_revisions' ORDER BY ordinal_position")
        assert rows == [("version", "character varying"), ("description", "character varying"),
                        ("type", "bigint"), ("applied", "bigint"), ("total", "bigint"),
                        ("executed_at", "timestamp with time zone"), ("execution_time", "bigint"),
                        ("error", "text"), ("error_stmt", "text"), ("hash", "character varying"),
                        ("partial_hashes", "jsonb"), ("operator_version", "character varying")]
    else:
        db = server_db.url.rsplit("/", 1)[1]
        rows = query(server_db.url, "SELECT column_name, column_type FROM information_schema.columns "
                                    f"WHERE table_schema = '{db}' AND table_name = 'atlas_schema_revisions' "
                                    "ORDER BY ordinal_position")
        assert [(c, t.lower()) for c, t in rows] == [
            ("version", "varchar(255)"), ("description", "varchar(255)"), ("type", "bigint(20) unsigned"),
            ("applied", "bigint(20)"), ("total", "bigint(20)"), ("executed_at", "timestamp"),
            ("execution_time", "bigint(20)"), ("error", "longtext"), ("error_stmt", "longtext"),
            ("hash", "varchar(255)"), ("partial_hashes", "longtext"), ("operator_version", "varchar(255)")]
        coll = query(server_db.url, "SELECT table_collation FROM information_schema.tables "
                                    f"WHERE table_schema = '{db}' AND table_name = 'atlas_schema_revisions'")
        assert coll == [("utf8mb4_bin",)]


def test_triggers_and_functions_split_per_dialect(server_db, tmp_path):
    if server_db.dialect == "postgresql":
        body = ("CREATE TABLE t (id int);\n"
                "CREATE FUNCTION f() RETURNS trigger AS $$\nBEGIN\n  NEW.id := NEW.id + 1;\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n"
                "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();\n"
                "INSERT INTO t VALUES (1);\n")
    elif server_db.dialect == "sqlite":
        body = ("CREATE TABLE t (id int);\nCREATE TABLE log (id int);\n"
                "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  INSERT INTO log VALUES (NEW.id + 1);\nEND;\n"
                "INSERT INTO t VALUES (1);\n")
    else:
        body = ("CREATE TABLE t (id int);\nCREATE TABLE log (id int);\n"
                "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW BEGIN\n  INSERT INTO log VALUES (NEW.id + 1);\nEND;\n"
                "INSERT INTO t VALUES (1);\n")
    d = make_dir(tmp_path, {"1_t.sql": body})
    report = engine.apply(server_db.url, d)
    assert report.applied == ["1_t.sql"]
    if server_db.dialect == "postgresql":
        assert query(server_db.url, "SELECT id FROM t") == [(2,)]
    else:
        assert query(server_db.url, "SELECT id FROM log") == [(2,)]


def test_mysql_handshake_timeout_does_not_cut_long_statements(maria_url, tmp_path):
    """The connect timeout bounds the handshake only: a 2 s statement under a 1 s timeout runs."""
    d = make_dir(tmp_path, {"1_slow.sql": "CREATE TABLE a (id int);\nDO SLEEP(2);\n"})
    report = engine.apply(maria_url, d, Options(connect_timeout=1))
    assert report.applied == ["1_slow.sql"]


def test_history_reads_the_table_without_a_directory(server_db, tmp_path):
    assert engine.history(server_db.url) == []
    engine.apply(server_db.url, make_dir(tmp_path, FILES))
    assert [r.version for r in engine.history(server_db.url)] == ["20240101000000", "20240102000000"]


def test_postgres_lock_key_is_atlas_fnv1():
    """Atlas's key function is 32-bit FNV-1 (not 1a); its own test vector is name -> 797654004."""
    from pulumi_migrations_provider.dialects import postgres
    assert postgres.fnv1_32(b"name") == 797654004
    assert postgres.PG_LOCK_KEY == 2686470616


def test_unlocked_look_tolerates_a_run_that_is_midway(sqlite_url, tmp_path, monkeypatch):
    """status (no lock) reads an empty revisions table, then another run creates its first
    table and records its revision before the clean check: that is not "not clean"."""
    d = make_dir(tmp_path, FILES)
    engine.apply(sqlite_url, d, Options(amount=1))
    execute(sqlite_url, f"DELETE FROM {revisions_table(sqlite_url)}")   # looks like a fresh run
    rows_before = []
    from pulumi_migrations_provider.dialects.sqlite import SQLiteDialect
    real = SQLiteDialect.dirty_reason

    def racing(self, conn, target, schema):
        if not rows_before:   # the other run commits its revision row right now
            rows_before.append(1)
            execute(sqlite_url,
                    f"INSERT INTO {revisions_table(sqlite_url)} (version, description, type, applied, "
                    "total, executed_at, execution_time, error, error_stmt, hash, partial_hashes, "
                    "operator_version) VALUES ('20240101000000', 'users', 2, 2, 2, '2024-01-01', 1, '', '', "
                    f"'{MigrationDir.load(d).validate().hash_of('20240101000000_users.sql')}', 'null', 'x')")
        return real(self, conn, target, schema)

    monkeypatch.setattr(SQLiteDialect, "dirty_reason", racing)
    st = engine.status(sqlite_url, d)
    assert st.current_version == "20240101000000" and st.pending == ["20240102000000_posts.sql"]


def test_file_txmode_conflicting_with_global_all(sqlite_url, tmp_path):
    from pulumi_migrations_provider.errors import DirectiveError
    d = make_dir(tmp_path, {"1_a.sql": "-- atlas:txmode none\n\nCREATE TABLE a (id int);\n"})
    with pytest.raises(DirectiveError, match="when txmode 'all' is set globally") as err:
        engine.apply(sqlite_url, d, Options(tx_mode="all"))
    assert err.value.file == "1_a.sql"
    assert not Path(sqlite_url.removeprefix("sqlite://")).exists()
    assert engine.apply(sqlite_url, d, Options(tx_mode="file")).applied == ["1_a.sql"]
