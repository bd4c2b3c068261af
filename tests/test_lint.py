"""Lint: the corpus per dialect (exact findings, and what Atlas's open analyzers report on it),
live facts on seeded tables of real servers, nolint, the CLI's exit codes and JSON, and the
database behaviour our findings claim (checked on the real servers, not assumed).

The corpus is ``tests/testdata/lint/<dialect>`` (its README says what each file holds).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from pulumi_migrations_provider import engine, lint
from pulumi_migrations_provider.errors import ConfigError
from pulumi_migrations_provider.lint.facts import COUNT_LIMIT
from pulumi_migrations_provider.lint.findings import human_bytes, human_rows
from pulumi_migrations_provider.migdir import MigrationDir, MigrationFile
from pulumi_migrations_provider.reports import Options
from tests import dbtools
from tests.dirtools import make_dir
from tests.paths import TESTDATA
from tests.test_cli import run

CORPUS = TESTDATA / "lint"
DIALECTS = ("postgres", "mysql", "sqlite")
URL_FIXTURE = {"postgres": "pg_url", "mysql": "maria_url", "sqlite": "sqlite_url"}
JSON_KEYS = ["file", "line", "statement", "code", "category", "severity", "message", "table",
             "rows", "bytes"]


def _corpus(dialect: str) -> MigrationDir:
    return MigrationDir.load(CORPUS / dialect / "migrations", unique_versions=False)


def _lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]


def _files(**files: str) -> list[MigrationFile]:
    return [MigrationFile(name, text.encode()) for name, text in files.items()]


def _codes(findings) -> list[tuple[str, int, str]]:
    return [(f.file, f.line, f.code) for f in findings]


# --- the corpus ------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_corpus_static_findings_are_exact(dialect: str) -> None:
    d = _corpus(dialect)
    got = [f"{f.severity.ljust(7)} {f.text()}" for f in lint.analyze(d.files[1:], dialect)]
    assert got == _lines(CORPUS / dialect / "expected.txt")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_corpus_against_atlas(dialect: str) -> None:
    """Every finding Atlas's open analyzers report on the corpus is ours too, unless atlas.txt
    lists it as a deliberate difference ("-", with the reason); every finding of ours with an
    Atlas code is either Atlas's ("=") or a documented difference ("+")."""
    ours = {f.text() for f in lint.analyze(_corpus(dialect).files[1:], dialect)}
    same, missing, extra = set(), set(), set()
    for line in _lines(CORPUS / dialect / "atlas.txt"):
        mark, text = line[0], line[2:]
        if mark in "-+":
            text, sep, why = text.partition(" | ")
            assert sep and why.strip(), f"difference without a reason: {line}"
        {"=": same, "-": missing, "+": extra}[mark].add(text)
    assert same <= ours, sorted(same - ours)
    assert not (missing & ours), sorted(missing & ours)
    assert extra <= ours, sorted(extra - ours)
    undocumented = {t for t in ours - same - extra if lint.CODES[t.split()[1]].atlas}
    assert not undocumented, sorted(undocumented)


def _apply_base(url: str, d: MigrationDir) -> None:
    engine.apply(url, d, Options(to_version="1"))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_corpus_live_facts_on_seeded_tables(dialect: str, request: pytest.FixtureRequest,
                                            tmp_path: Path) -> None:
    """With --url: only the pending files (the revisions table says 1 is applied), findings as
    in expected-live.txt, and each finding on a seeded table carries its live rows and size."""
    url = request.getfixturevalue(URL_FIXTURE[dialect])
    src = CORPUS / dialect / "migrations"
    d = MigrationDir.load(shutil.copytree(src, tmp_path / "m"), unique_versions=False)
    d.write_sum()
    _apply_base(url, d)
    res = run("lint", "--dir", tmp_path / "m", "--url", url, "--format", "json")
    assert res.exit_code == 1, res.output  # destructive findings are errors
    data = json.loads(res.stdout)
    assert "note" not in data, data
    findings = data["findings"]
    assert all(list(f) == JSON_KEYS for f in findings)
    got = [f"{f['severity'].ljust(7)} {f['file']}:{f['line']}: {f['code']} {f['message']}"
           for f in findings]
    assert got == _lines(CORPUS / dialect / "expected-live.txt")
    seeded = {"users": 5000, "orders": 20000, "purchases": 20000, "old_logs": 300 if dialect == "postgres" else 0}
    for f in findings:
        base = {"organizations": "orgs"}.get(f["table"], f["table"])
        if base in seeded and f["rows"] is not None:
            exact = dialect != "mysql"  # InnoDB's TABLE_ROWS is an estimate
            want = seeded[base]
            assert (f["rows"] == want) if exact else (want / 2 <= f["rows"] <= want * 2 + 10), f
            assert f["bytes"] > 0, f
    on_seeded = [f for f in findings if f["table"] in ("users", "purchases", "orders")]
    assert on_seeded and all(f["rows"] is not None for f in on_seeded)
    # the text form names the table's size once per finding
    text = run("lint", "--dir", tmp_path / "m", "--url", url)
    users_line = next(ln for ln in text.stdout.splitlines() if '"users"' in ln and "(table users:" in ln)
    assert "rows" in users_line


# --- nolint as Atlas reads it ----------------------------------------------------------------


def test_nolint_file_and_statement_levels() -> None:
    files = _files(**{
        "1_a.sql": "-- atlas:nolint\n\nDROP TABLE a;\n",
        "2_b.sql": "-- atlas:nolint destructive\n\nDROP TABLE b;\nALTER TABLE b2 RENAME COLUMN x TO y;\n",
        "3_c.sql": "DROP TABLE c;\n-- atlas:nolint DS102 BC101\nDROP TABLE d;\n-- atlas:nolint\nDROP TABLE e;\n"
                   "-- atlas:nolint incompatible\n\nDROP TABLE f;\n#atlas:nolint DS102\nDROP TABLE g;\n",
    })
    got = _codes(lint.analyze(files, "mysql"))
    assert got == [("2_b.sql", 4, "BC102"), ("3_c.sql", 1, "DS102"), ("3_c.sql", 8, "DS102")]


def test_nolint_header_rules_and_statement_rules_combine_as_atlas() -> None:
    """Atlas (``nolintRules``) appends the header's rules to every statement's own, and only a
    statement whose rules are exactly one empty rule is silenced entirely: under a header that
    names rules, a bare statement directive adds an empty rule and silences nothing more (the
    audit expected otherwise; Atlas's source reads ``["DS103", ""]`` as two rules, neither
    DS102). Naming the code or the category silences it; two header lines of which one is
    bare neither skip the file nor silence anything beyond the named rule."""
    files = _files(**{
        "1_audit.sql": "-- atlas:nolint DS103\n\nALTER TABLE users DROP COLUMN age;\n"
                       "-- atlas:nolint\nDROP TABLE users;\n",
        "2_named.sql": "-- atlas:nolint DS103\n\nALTER TABLE u DROP COLUMN a;\n"
                       "-- atlas:nolint DS102\nDROP TABLE u;\n-- atlas:nolint destructive\nDROP TABLE v;\n",
        "3_two.sql": "-- atlas:nolint\n-- atlas:nolint DS102\n\nDROP TABLE w;\n"
                     "ALTER TABLE x DROP COLUMN a;\n-- atlas:nolint\nALTER TABLE y DROP COLUMN b;\n",
        "4_bare.sql": "ALTER TABLE z DROP COLUMN a;\n-- atlas:nolint\nDROP TABLE z;\n",
    })
    for dialect in DIALECTS:
        assert _codes(lint.analyze(files, dialect)) == [
            ("1_audit.sql", 5, "DS102"), ("3_two.sql", 5, "DS103"), ("3_two.sql", 7, "DS103"),
            ("4_bare.sql", 1, "DS103")], dialect


def test_tables_created_by_an_earlier_pending_file_are_new() -> None:
    files = _files(**{
        "1_a.sql": "CREATE TABLE t (id int);\n",
        "2_b.sql": "ALTER TABLE t ADD COLUMN n int NOT NULL;\nCREATE UNIQUE INDEX i ON t (id);\n"
                   "ALTER TABLE t RENAME COLUMN id TO pk;\nCREATE INDEX j ON t (pk);\nDROP TABLE t;\n",
    })
    assert lint.analyze(files, "postgres") == []
    assert _codes(lint.analyze(files[1:], "postgres")) == [
        ("2_b.sql", 1, "MF103"), ("2_b.sql", 2, "MF101"), ("2_b.sql", 2, "PG101"),
        ("2_b.sql", 3, "BC102"), ("2_b.sql", 4, "PG101"), ("2_b.sql", 5, "DS102")]


def test_policy_levels_and_errors() -> None:
    files = _files(**{"1.sql": "DROP TABLE a;\nALTER TABLE b RENAME TO c;\n"})
    assert [f.severity for f in lint.analyze(files, "sqlite")] == ["error", "warning"]
    relaxed = lint.analyze(files, "sqlite", policy={"destructive": "warn", "BC101": "error"})
    assert [f.severity for f in relaxed] == ["warning", "error"]
    assert _codes(lint.analyze(files, "sqlite", policy={"destructive": "off", "DS102": "warn"})) == \
        [("1.sql", 1, "DS102"), ("1.sql", 2, "BC101")]
    with pytest.raises(ConfigError, match="unknown key 'nope'"):
        lint.analyze(files, "sqlite", policy={"nope": "off"})
    with pytest.raises(ConfigError, match="'DS102' is 'loud'"):
        lint.analyze(files, "sqlite", policy={"DS102": "loud"})
    with pytest.raises(ConfigError, match="unknown dialect"):
        lint.analyze(files, "oracle")


def test_human_sizes() -> None:
    assert human_rows(12_400_000) == "~12.4M rows" and human_rows(532) == "~532 rows"
    assert human_bytes(int(3.1 * 2**30)) == "3.1 GB" and human_bytes(48 * 1024) == "48 kB"
    f = lint.Finding("1.sql", 3, "ALTER …", "PM204", "locking", "warning", "rewrites", "orders",
                     12_400_000, int(3.1 * 2**30))
    assert f.text() == "1.sql:3: PM204 rewrites (table orders: ~12.4M rows, 3.1 GB)"
    assert list(f.to_dict()) == JSON_KEYS


# --- what the findings claim, checked on the real databases ----------------------------------


def test_pg103_postgres_refuses_concurrently_in_a_transaction(pg_url: str) -> None:
    dbtools.execute(pg_url, "CREATE TABLE t (id int)")
    with pytest.raises(Exception, match="cannot run inside a transaction block"):
        dbtools.execute(pg_url, "CREATE INDEX CONCURRENTLY t_id ON t (id)")  # one transaction
    files = _files(**{"1.sql": "CREATE INDEX CONCURRENTLY t_id ON t (id);\n",
                      "2.sql": "-- atlas:txmode none\n\nCREATE INDEX CONCURRENTLY t_id2 ON t (id);\n"})
    assert [(f.code, f.severity) for f in lint.analyze(files, "postgres")] == [("PG103", "error")]


def _relfilenode(url: str, table: str) -> int:
    return dbtools.query(url, f"SELECT pg_relation_filenode('{table}')")[0][0]


def test_pm204_pm205_rewrites_are_what_postgres_does(pg_url: str) -> None:
    """PM204/PM205 are reported exactly for the changes that give the table a new file."""
    dbtools.execute(pg_url, "CREATE TABLE t (id int, s varchar(10))", "INSERT INTO t VALUES (1, 'a')")
    stmts = {
        "ALTER TABLE t ALTER COLUMN s TYPE text": False,
        "ALTER TABLE t ALTER COLUMN id TYPE bigint": True,
        "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now()": False,
        "ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid()": True,
        "ALTER TABLE t ADD COLUMN n bigserial": True,
    }
    for sql, rewrites in stmts.items():
        facts = lint.read_facts(pg_url, ["t"], 5)
        found = {f.code for f in lint.analyze(_files(**{"1.sql": sql + ";\n"}), "postgres", facts=facts)}
        before = _relfilenode(pg_url, "t")
        dbtools.execute(pg_url, sql)
        assert (_relfilenode(pg_url, "t") != before) == rewrites, sql
        assert bool(found & {"PM204", "PM205"}) == rewrites, (sql, found)


def test_mariadb_copies_for_reorders_not_for_appends(maria_url: str) -> None:
    dbtools.execute(maria_url, "CREATE TABLE t (id int PRIMARY KEY, st enum('a','b'), n int)")
    facts = lint.read_facts(maria_url, ["t"], 5)
    assert facts.flavor == "mariadb" and facts.table("t").columns["st"].type == "enum('a','b')"
    cases = [("MODIFY st enum('a','b','c')", "INSTANT", set()),
             ("MODIFY st enum('b','a')", "INPLACE", {"PM302"}),
             ("MODIFY n bigint", "INPLACE", {"PM301"}),
             ("DROP PRIMARY KEY", "INPLACE", {"PM301"})]
    for change, algorithm, codes in cases:
        found = {f.code for f in lint.analyze(_files(**{"1.sql": f"ALTER TABLE t {change};\n"}),
                                             "mysql", facts=facts)}
        assert found == codes, change
        sql = f"ALTER TABLE t {change}, ALGORITHM={algorithm}"
        if codes:  # what we call a copy: MariaDB refuses anything but ALGORITHM=COPY
            with pytest.raises(Exception, match="ALGORITHM=(INPLACE|INSTANT) is not supported"):
                dbtools.execute(maria_url, sql)
        else:
            dbtools.execute(maria_url, sql)


def test_mariadb_honours_inline_references_so_my102_is_left_out(maria_url: str) -> None:
    dbtools.execute(maria_url, "CREATE TABLE p (id int PRIMARY KEY)",
                    "CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p (id))")
    fks = dbtools.query(maria_url, "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS "
                                   "WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'c'")
    assert fks == [(1,)]
    files = _files(**{"1.sql": "ALTER TABLE c ADD COLUMN q int REFERENCES p (id);\n"})
    assert _codes(lint.analyze(files, "mysql")) == [("1.sql", 1, "MY102")]  # static: as Atlas
    assert lint.analyze(files, "mysql", facts=lint.read_facts(maria_url, ["c"], 5)) == []


def test_mf103_sqlite_fails_only_when_the_table_has_rows(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute("CREATE TABLE empty (a)")
    conn.execute("ALTER TABLE empty ADD COLUMN b integer NOT NULL")  # SQLite accepts it
    conn.execute("CREATE TABLE full (a)")
    conn.execute("INSERT INTO full VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="Cannot add a NOT NULL column"):
        conn.execute("ALTER TABLE full ADD COLUMN b integer NOT NULL")
    conn.close()
    f, = lint.analyze(_files(**{"1.sql": "ALTER TABLE full ADD COLUMN b integer NOT NULL;\n"}), "sqlite")
    assert f.message == ('Adding a non-nullable "integer" column "b" will fail in case table "full" '
                         "is not empty")


# --- live facts: read-only, never waiting ----------------------------------------------------


def test_facts_unreachable_database_is_a_note_not_an_error(tmp_path: Path) -> None:
    facts = lint.read_facts("postgres://u:hunter2secret@127.0.0.1:1/db?connect_timeout=1", ["t"], 1)
    assert facts.tables == {} and "no live facts" in facts.note and "hunter2secret" not in facts.note
    missing = lint.read_facts(f"sqlite://{tmp_path / 'x.db'}", ["t"], 1)
    assert missing.tables == {} and "does not exist yet" in missing.note
    nowhere = lint.read_facts("sqlite:///nonexistent/dir/x.db", ["t"], 1)
    assert nowhere.tables == {} and "no live facts" in nowhere.note
    assert "the directory of the database file (/nonexistent/dir) does not exist" in nowhere.note


def test_facts_on_a_locked_postgres_table_do_not_wait(pg_url: str) -> None:
    dbtools.execute(pg_url, "CREATE TABLE t (id int)", "INSERT INTO t SELECT generate_series(1, 100)",
                    "ANALYZE t")
    import psycopg
    from pulumi_migrations_provider.target import Target

    t = Target.parse(pg_url)
    holder = psycopg.connect(host=t.host, port=t.port, user=t.user, password=t.password,
                             dbname=t.database)
    try:
        holder.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")  # a transaction stays open
        started = time.monotonic()
        facts = lint.read_facts(pg_url, ["t"], 10)
        assert time.monotonic() - started < 3
        tf = facts.table("t")
        assert tf.rows == 100 and tf.bytes is not None  # pg_class's numbers, no lock needed
        assert "t is locked" in facts.note
    finally:
        holder.close()
    assert lint.read_facts(pg_url, ["t"], 10).note is None
    assert lint.read_facts(pg_url, ["T"], 10).table("T").rows == 100  # unquoted T is t


def test_facts_on_postgres_are_one_catalog_query_as_the_table_by_table_look(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many tables' facts in one query (after the session settings), the same facts as the look
    table by table (the fallback when a table is locked): never-analysed tables counted
    (bounded), a schema-qualified name, an unquoted mixed-case name, a missing table left out."""
    dbtools.execute(pg_url, "CREATE SCHEMA s",
                    "CREATE TABLE parent (id int PRIMARY KEY, code varchar(12) NOT NULL)",
                    "CREATE TABLE child (id bigint, parent_id int CONSTRAINT child_parent_fk "
                    "REFERENCES parent (id), total numeric(10,2), v int GENERATED ALWAYS AS (id) STORED)",
                    "INSERT INTO parent SELECT g, 'c' || g FROM generate_series(1, 7) g",
                    "INSERT INTO child (id, parent_id) SELECT g, 1 FROM generate_series(1, 12) g",
                    "CREATE TABLE s.logs (at timestamptz)", "INSERT INTO s.logs VALUES (now())",
                    f"CREATE TABLE big (id int)",
                    f"INSERT INTO big SELECT generate_series(1, {COUNT_LIMIT + 5})")
    from pulumi_migrations_provider.dialects import for_target
    from pulumi_migrations_provider.dialects.base import Connection
    from pulumi_migrations_provider.lint import facts as facts_mod
    from pulumi_migrations_provider.target import Target

    names = ["Parent", "child", "s.logs", "big", "missing"]
    sent: list[str] = []
    real = Connection.execute

    def counting(self: Connection, sql: str, params: object = None) -> object:
        sent.append(sql)
        return real(self, sql, params)

    monkeypatch.setattr(Connection, "execute", counting)
    batched = lint.read_facts(pg_url, names, 10)
    assert len(sent) == 2, sent  # the session settings, then one catalog query
    assert batched.note is None
    t = Target.parse(pg_url)
    conn = for_target(t).connect(t, timeout=10, readonly=True)
    try:
        each = facts_mod.Facts("postgres")
        facts_mod._postgres_each(conn, sorted(names), each)
    finally:
        conn.close()
    assert batched.tables == each.tables and len(sent) > 12
    assert list(batched.tables) == ["parent", "big", "child", "s.logs"]  # sorted names' order
    assert (batched.table("parent").rows, batched.table("child").rows) == (7, 12)
    assert batched.table("big").rows == COUNT_LIMIT + 1 and not batched.table("big").exact
    assert batched.table("s.logs").exact and batched.table("s.logs").bytes > 0
    child = batched.table("child")
    assert [(c.name, c.type, c.nullable, c.virtual) for c in child.columns.values()] == [
        ("id", "bigint", True, False), ("parent_id", "integer", True, False),
        ("total", "numeric(10,2)", True, False), ("v", "integer", True, False)]
    assert child.foreign_keys == {"child_parent_fk": ("parent_id",)}


def test_facts_on_a_locked_mariadb_table_do_not_wait(maria_url: str) -> None:
    dbtools.execute(maria_url, "CREATE TABLE t (id int)", "INSERT INTO t VALUES (1), (2)")
    eng = dbtools.engine_for(maria_url)
    with eng.connect() as holder:
        holder.exec_driver_sql("LOCK TABLES t WRITE")
        started = time.monotonic()
        facts = lint.read_facts(maria_url, ["t"], 10)
        assert time.monotonic() - started < 5
        # information_schema reads take no lock that LOCK TABLES ... WRITE blocks
        assert facts.table("t").rows == 2 and facts.note is None
        holder.exec_driver_sql("UNLOCK TABLES")
    eng.dispose()


def test_facts_on_a_sqlite_file_held_by_a_writer_do_not_wait(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE t (id int)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(10)])
    assert lint.read_facts(f"sqlite://{path}", ["t"], 5).table("t").rows == 10
    conn.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        facts = lint.read_facts(f"sqlite://{path}", ["t"], 5)
        assert time.monotonic() - started < 1
        assert facts.tables == {} and "no live facts" in facts.note
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def test_facts_sqlite_count_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id int)")
    conn.execute(f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {COUNT_LIMIT + 50}) "
                 "INSERT INTO t SELECT x FROM c")
    conn.commit()
    conn.close()
    tf = lint.read_facts(f"sqlite://{path}", ["t"], 5).table("t")
    assert tf.rows == COUNT_LIMIT + 1 and not tf.exact


# --- the CLI ---------------------------------------------------------------------------------


def _dir(tmp_path: Path) -> Path:
    return make_dir(tmp_path, {
        "1_create.sql": "CREATE TABLE users (id int, name text);\n",
        "2_drop.sql": "ALTER TABLE users DROP COLUMN name;\n",
        "3_rename.sql": "ALTER TABLE users RENAME TO people;\n",
    })


def test_cli_exit_codes_selection_and_policy(tmp_path: Path) -> None:
    d = _dir(tmp_path)
    res = run("lint", "--dir", d)
    assert res.exit_code == 0, res.output  # every file pending: the table is new
    assert res.stdout == "3 files linted: 0 findings, 0 errors\n"
    res = run("lint", "--dir", d, "--latest", "2")
    assert res.exit_code == 1
    assert res.stdout.splitlines() == [
        '2_drop.sql:1: DS103 Dropping non-virtual column "name"',
        '3_rename.sql:1: BC101 Renaming table "users" to "people"',
        "2 files linted: 2 findings, 1 error"]
    assert res.stderr == ("error: lint: 2_drop.sql:1: DS103 Dropping non-virtual column \"name\"; "
                          "change the statement, add '-- atlas:nolint DS103' above it, or pass "
                          "--policy DS103=warn\n")
    assert run("lint", "--dir", d, "--since", "2", "--policy", "destructive=warn").exit_code == 0
    res = run("lint", "--dir", d, "--since", "2", "--format", "json")
    assert res.exit_code == 0  # a rename is a warning
    assert [f["code"] for f in json.loads(res.stdout)["findings"]] == ["BC101"]
    assert run("lint", "--dir", d, "--latest", "1", "--since", "1").exit_code == 2
    bad = run("lint", "--dir", d, "--policy", "nope=off")
    assert bad.exit_code == 1 and bad.stderr.startswith("error: reading the lint policy: unknown key 'nope'")
    assert len(bad.stderr.splitlines()) == 1
    # no Atlas template: it used to print the text form under the template's name
    atlas = run("lint", "--dir", d, "--latest", "2", "--format", "{{ json . }}")
    assert atlas.exit_code == 2 and atlas.stdout == ""
    assert "invalid choice: '{{ json . }}' (choose from 'text', 'json')" in atlas.stderr


def test_cli_with_url_lints_what_the_revisions_table_leaves_pending(tmp_path: Path, db_url: str) -> None:
    d = _dir(tmp_path)
    run("apply", "--dir", d, "--url", db_url, "1")
    dbtools.execute(db_url, "INSERT INTO users (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    if db_url.startswith(("postgres", "mysql")):
        dbtools.execute(db_url, "ANALYZE TABLE users" if db_url.startswith("mysql") else "ANALYZE users")
    before = dbtools.user_tables(db_url), dbtools.revisions(db_url)
    res = run("lint", "--dir", d, "--url", db_url, "--format", "json")
    assert res.exit_code == 1, res.output
    assert (dbtools.user_tables(db_url), dbtools.revisions(db_url)) == before  # wrote nothing
    findings = json.loads(res.stdout)["findings"]
    assert [(f["file"], f["code"], f["table"], f["rows"]) for f in findings] == [
        ("2_drop.sql", "DS103", "users", 3), ("3_rename.sql", "BC101", "users", 3)]
    assert all(f["bytes"] > 0 for f in findings)
    text = run("lint", "--dir", d, "--url", db_url)
    assert "(table users: ~3 rows, " in text.stdout.splitlines()[0]


def test_cli_lint_never_creates_a_sqlite_file(tmp_path: Path) -> None:
    d = _dir(tmp_path)
    res = run("lint", "--dir", d, "--url", f"sqlite://{tmp_path}/new.db", "--format", "json")
    assert res.exit_code == 0 and json.loads(res.stdout)["findings"] == []  # all three pending
    assert not (tmp_path / "new.db").exists()


def test_cli_unreachable_url_degrades_to_static_findings(tmp_path: Path) -> None:
    d = _dir(tmp_path)
    url = "postgres://u:hunter2secret@127.0.0.1:1/db?connect_timeout=1"
    res = run("lint", "--dir", d, "--url", url, "--latest", "1", "--format", "json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [f["code"] for f in data["findings"]] == ["BC101"]
    assert "linted every file without live facts" in data["note"] and "hunter2secret" not in res.output


# --- squawk, the PostgreSQL migration linter, on the same corpus -----------------------------


def _squawk() -> str:
    exe = shutil.which("squawk") or str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "squawk")
    if not Path(exe).exists():
        pytest.fail("squawk (the squawk-cli package of the test extra) is not installed")
    return exe


def test_squawk_agrees_on_the_hazards_we_map_to_its_rules(tmp_path: Path) -> None:
    """Every squawk finding of a rule we cover (findings.CODES[...].squawk) is one of ours, on the
    same statement, for the corpus files on existing tables; squawk's other rules are style or
    out of scope."""
    ours_for: dict[str, set[str]] = {}
    for code, c in lint.CODES.items():
        for rule in c.squawk:
            ours_for.setdefault(rule, set()).add(code)
    d = _corpus("postgres")
    ours = {(f.file, f.line, f.code) for f in lint.analyze(d.files[1:], "postgres")}
    checked = 0
    for f in d.files[1:]:
        if f.name in ("6_safe.sql", "7_nolint.sql", "8_ignored.sql"):
            continue  # new tables, nolint: squawk knows neither the pending set nor atlas:nolint
        path = tmp_path / f.name
        path.write_bytes(f.data)
        out = subprocess.run([_squawk(), "--reporter", "json", str(path)], capture_output=True,
                             text=True, timeout=60)
        for v in json.loads(out.stdout or "[]"):
            codes = ours_for.get(v["rule_name"])
            if codes is None:
                continue
            line = v["line"] + 1
            stmt_line = next(s.line for s in _statements(f) if s.line <= line)
            assert any((f.name, stmt_line, code) in ours for code in codes), (f.name, v)
            checked += 1
    assert checked >= 15


def _statements(f: MigrationFile):
    from pulumi_migrations_provider import dialects, lex

    return sorted(lex.split_statements(f.text(), dialects.named("postgres").scan_options, file=f.name), key=lambda s: -s.line)


def test_status_and_dry_run_show_findings_and_write_nothing(tmp_path: Path, db_url: str) -> None:
    d = _dir(tmp_path)
    run("apply", "--dir", d, "--url", db_url, "1")
    before = dbtools.user_tables(db_url), dbtools.revisions(db_url)
    status = run("status", "--dir", d, "--url", db_url)
    assert status.exit_code == 0, status.output  # status reports; it is not a gate
    lines = status.stdout.splitlines()
    at = lines.index("Lint findings (2; 'pulumi-migrations lint' for details):")
    assert [ln.split(" (table ")[0] for ln in lines[at + 1:]] == [
        '  error: 2_drop.sql:1: DS103 Dropping non-virtual column "name"',
        '  warning: 3_rename.sql:1: BC101 Renaming table "users" to "people"']
    assert "(table users: ~0 rows, " in status.stdout
    data = json.loads(run("status", "--dir", d, "--url", db_url, "--format", "json").stdout)
    assert [f["code"] for f in data["findings"]] == ["DS103", "BC101"]
    dry = run("apply", "--dir", d, "--url", db_url, "--dry-run", "1")
    assert dry.exit_code == 0 and dry.stdout.count("  error: 2_drop.sql:1: DS103") == 1
    assert "BC101" not in dry.stdout  # the dry run would apply one file
    data = json.loads(run("apply", "--dir", d, "--url", db_url, "--dry-run", "--format", "json").stdout)
    assert [f["code"] for f in data["findings"]] == ["DS103", "BC101"]
    assert (dbtools.user_tables(db_url), dbtools.revisions(db_url)) == before
    run("apply", "--dir", d, "--url", db_url)
    done = json.loads(run("status", "--dir", d, "--url", db_url, "--format", "json").stdout)
    assert done["findings"] == []


def test_my101_values_are_what_mariadb_writes(maria_url: str) -> None:
    """MY101 names the value existing rows get; MariaDB writes exactly that."""
    dbtools.execute(maria_url, "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)")
    adds = [("n int NOT NULL", "0"), ("s varchar(5) NOT NULL", '""'),
            ("e enum('x','y') NOT NULL", '"x"'), ("ts timestamp NOT NULL", "0000-00-00 00:00:00"),
            ("ts2 timestamp NOT NULL", "0000-00-00 00:00:00")]
    # MariaDB 10.10+ has explicit_defaults_for_timestamp on: even the first TIMESTAMP gets zeros
    # (Atlas's mysqlcheck assumes CURRENT_TIMESTAMP on MariaDB); read live, so we say zeros.
    assert dbtools.query(maria_url, "SELECT @@explicit_defaults_for_timestamp") == [(1,)]
    for column, value in adds:
        facts = lint.read_facts(maria_url, ["t"], 5)
        f, = lint.analyze(_files(**{"1.sql": f"ALTER TABLE t ADD COLUMN {column};\n"}), "mysql", facts=facts)
        assert f.code == "MY101" and f.message.endswith(f"implicitly sets existing rows with {value}"), f
        dbtools.execute(maria_url, f"ALTER TABLE t ADD COLUMN {column}")
    n, s, e, ts, ts2 = dbtools.query(maria_url, "SELECT n, s, e, CAST(ts AS CHAR), CAST(ts2 AS CHAR) FROM t")[0]
    assert (n, s, e, ts, ts2) == (0, "", "x", "0000-00-00 00:00:00", "0000-00-00 00:00:00")


# --- Atlas's own lint tests (internal/integration/testdata/sqlite, copied as they are) -------

ATLAS_LINT = TESTDATA / "atlas-lint" / "sqlite"
# Where we deliberately report differently from these Atlas expectations, and why.
ATLAS_DIFFERENCES = {
    ("cli-migrate-lint-add-notnull.txt", "2.sql", 1):
        "--latest=2 makes 1.sql pending too: users is created by it, so it is new (Atlas only "
        "knows tables created in the same file)",
}


def _txtar(path: Path) -> tuple[list[str], dict[str, str]]:
    text = path.read_text()
    parts = text.split("\n-- ")
    script, sections = parts[0], {}
    for part in parts[1:]:
        name, _, body = part.partition(" --")
        sections[name] = body[1:] if body.startswith("\n") else body
    return script.splitlines(), sections


@pytest.mark.parametrize("name", sorted(p.name for p in ATLAS_LINT.glob("*.txt")))
def test_atlas_lint_testdata(name: str) -> None:
    """Each ``atlas migrate lint --dir D --latest=N`` of Atlas's test script: lint the last N
    files of D (the earlier ones count as applied) and compare with Atlas's expected
    ``file: report`` / ``\\tL<line>: <text>`` output."""
    script, sections = _txtar(ATLAS_LINT / name)
    runs = 0
    for i, line in enumerate(script):
        if "atlas migrate lint" not in line:
            continue
        words = line.split()
        directory = next(w for w in words if w.startswith("file://"))[len("file://"):]
        latest = int(next(w for w in words if w.startswith("--latest=")).split("=")[1])
        expected_name = script[i + 1].split()[-1]
        files = sorted((n.split("/", 1)[1], body) for n, body in sections.items()
                       if n.startswith(directory + "/"))
        pending = [MigrationFile(n, body.encode()) for n, body in files][-latest:]
        want, current = set(), None
        for ln in sections[expected_name].splitlines():
            if ln.endswith(":") and ".sql: " in ln:
                current = ln.split(":")[0]
            elif ln.startswith("\tL"):
                at, _, message = ln[2:].partition(": ")
                if (name, current, int(at)) not in ATLAS_DIFFERENCES:
                    want.add((current, int(at), message))
        got = {(f.file, f.line, f.message) for f in lint.analyze(pending, "sqlite")}
        assert got == want, (line, got ^ want)
        runs += 1
    assert runs


def test_sqlite_rebuild_to_not_null_with_live_facts(tmp_path: Path) -> None:
    """Atlas's cli-migrate-lint-modify-nullability cases: a rebuild that makes a nullable column
    NOT NULL is MF104, unless the new column has a default or an earlier UPDATE backfills it."""
    url = f"sqlite://{tmp_path}/x.db"
    dbtools.execute(url, "CREATE TABLE `users` (`a` int NULL)")
    facts = lint.read_facts(url, ["users"], 5)
    rebuild = ("PRAGMA foreign_keys = off;\n-- Create \"new_users\" table\n"
               "CREATE TABLE `new_users` (`a` int NOT NULL{default});\n"
               "INSERT INTO `new_users` (`a`) SELECT `a` FROM `users`;\nDROP TABLE `users`;\n"
               "ALTER TABLE `new_users` RENAME TO `users`;\nPRAGMA foreign_keys = on;\n")
    cases = {"": [("2.sql", 3, "PM401"), ("2.sql", 3, "MF104")],
             " DEFAULT 1": [("2.sql", 3, "PM401")],
             "backfill": [("2.sql", 3, "PM401")]}
    for case, want in cases.items():
        text = rebuild.format(default="" if case == "backfill" else case)
        if case == "backfill":
            text = "UPDATE `users` SET `a` = 1 WHERE `a` IS NULL;\n" + text.replace("-- Create \"new_users\" table\n", "")
        got = _codes(lint.analyze(_files(**{"2.sql": text}), "sqlite", facts=facts))
        assert sorted(got) == sorted(want), case


@pytest.mark.parametrize("dialect", ["mysql", "sqlite"])
def test_dropping_a_virtual_column_is_not_ds103(dialect: str, request: pytest.FixtureRequest) -> None:
    """Atlas's DS103 is about non-virtual columns: with live facts a virtual generated column's
    drop is not reported, a stored one's is."""
    url = request.getfixturevalue(URL_FIXTURE[dialect])
    dbtools.execute(url, "CREATE TABLE t (id int, v int GENERATED ALWAYS AS (id * 2) VIRTUAL, "
                         "s int GENERATED ALWAYS AS (id * 3) STORED)")
    facts = lint.read_facts(url, ["t"], 5)
    assert [(c.name, c.virtual) for c in facts.table("t").columns.values()] == \
        [("id", False), ("v", True), ("s", False)]
    files = _files(**{"1.sql": "ALTER TABLE t DROP COLUMN v;\nALTER TABLE t DROP COLUMN s;\n"})
    assert _codes(lint.analyze(files, dialect)) == [("1.sql", 1, "DS103"), ("1.sql", 2, "DS103")]
    assert _codes(lint.analyze(files, dialect, facts=facts)) == [("1.sql", 2, "DS103")]


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_cd101_not_when_the_statement_drops_the_keys_column(dialect: str, request: pytest.FixtureRequest) -> None:
    """Atlas's condrop: dropping a foreign key together with one of its columns is DS103 only."""
    url = request.getfixturevalue(URL_FIXTURE[dialect])
    dbtools.execute(url, "CREATE TABLE p (id int PRIMARY KEY)",
                    "CREATE TABLE c (id int PRIMARY KEY, p_id int, q_id int, "
                    "CONSTRAINT c_p_fk FOREIGN KEY (p_id) REFERENCES p (id), "
                    "CONSTRAINT c_q_fk FOREIGN KEY (q_id) REFERENCES p (id))")
    facts = lint.read_facts(url, ["c"], 5)
    assert facts.table("c").foreign_keys == {"c_p_fk": ("p_id",), "c_q_fk": ("q_id",)}
    drop = "DROP FOREIGN KEY" if dialect == "mysql" else "DROP CONSTRAINT"
    files = _files(**{"1.sql": f"ALTER TABLE c {drop} c_p_fk, DROP COLUMN p_id;\n"
                               f"ALTER TABLE c {drop} c_q_fk;\n"})
    assert _codes(lint.analyze(files, dialect, facts=facts)) == [
        ("1.sql", 1, "DS103"), ("1.sql", 2, "CD101")]


# --- statements sqlglot misreads or does not read --------------------------------------------


@pytest.mark.parametrize("dialect, sql, before, after, want", [
    # COLUMN is optional in both: sqlglot read PostgreSQL's as a rename of the table to "a"
    # (BC101, 'TO b' lost) and SQLite's DROP as text (no finding at all)
    ("postgres", "ALTER TABLE t RENAME a TO b", ["a", "c"], ["b", "c"],
     [("BC102", 'Renaming column "a" to "b"')]),
    ("sqlite", "ALTER TABLE t DROP a", ["a", "c"], ["c"],
     [("DS103", 'Dropping non-virtual column "a"')]),
    ("sqlite", 'ALTER TABLE t DROP "a"', ["a", "c"], ["c"],
     [("DS103", 'Dropping non-virtual column "a"')]),
])
def test_column_keyword_left_out(dialect: str, sql: str, before: list[str], after: list[str],
                                 want: list[tuple[str, str]], request: pytest.FixtureRequest) -> None:
    """What the database does with the statement is what the finding says."""
    url = request.getfixturevalue(URL_FIXTURE[dialect])
    dbtools.execute(url, "CREATE TABLE t (a int, c int)")
    assert dbtools.columns(url, "t") == before
    got = [(f.code, f.message) for f in lint.analyze(_files(**{"1.sql": sql + ";\n"}), dialect)]
    dbtools.execute(url, sql)
    assert dbtools.columns(url, "t") == after
    assert got == want


def test_pm001_a_statement_the_parser_does_not_read_is_said(maria_url: str) -> None:
    """An ALTER TABLE sqlglot keeps as text is not silently clean: it really drops a column on
    MariaDB here, and the finding says it was not linted. PostgreSQL statements sqlglot does not
    read but PostgreSQL's parser shows change nothing the analyzers read are left alone."""
    sql = "ALTER TABLE t DROP COLUMN a, ADD COLUMN p point NOT NULL"
    dbtools.execute(maria_url, "CREATE TABLE t (id int, a int)")
    [f] = lint.analyze(_files(**{"1.sql": sql + ";\n"}), "mysql")
    assert (f.code, f.category, f.severity, f.line) == ("PM001", "unparsed", "warning", 1)
    assert f.message.startswith("ALTER TABLE not linted: the SQL parser does not read this statement")
    dbtools.execute(maria_url, sql)
    assert dbtools.query(maria_url, "SELECT column_name FROM information_schema.columns WHERE "
                                    "table_schema = DATABASE() AND table_name = 't' "
                                    "ORDER BY ordinal_position") == [("id",), ("p",)]
    files = _files(**{"1.sql": "-- atlas:nolint PM001\n" + sql + ";\nRENAME TABLE t TO u;\n",
                      "2.sql": "ALTER TABLE t PARTITION BY HASH(id) PARTITIONS 2;\n"})
    assert _codes(lint.analyze(files, "mysql")) == [("1.sql", 3, "BC101"), ("2.sql", 1, "PM001")]
    assert lint.analyze(files, "mysql", policy={"unparsed": "off"})[0].code == "BC101"
    pg = _files(**{"1.sql": "ALTER TABLE users VALIDATE CONSTRAINT users_org_fk;\n"
                            "ALTER TABLE users OWNER TO someone;\n"})
    assert lint.analyze(pg, "postgres") == []


def _atlas_mysql_name(column_type: str) -> str:
    """Atlas's mysql.FormatType(ParseType(COLUMN_TYPE)) for the numeric and binary types (what
    its MY101 quotes after inspecting the dev database), ported from sql/mysql/convert.go."""
    parts = [p for p in column_type.replace("(", " ").replace(")", " ").replace(",", " ").split() if p]
    t, unsigned = parts[0], " unsigned" if "unsigned" in parts else ""
    nums = [int(p) for p in parts[1:] if p.isdigit()]
    if t in ("bool", "boolean") or (t in ("tinyint", "smallint", "mediumint", "int", "bigint") and nums == [1]):
        return "bool"
    if t in ("tinyint", "smallint", "mediumint", "int", "bigint"):
        return t + unsigned
    if t in ("decimal", "numeric"):
        p, s = (nums + [0, 0])[:2]
        return (f"decimal({p or 10})" if s == 0 else f"decimal({p},{s})") + unsigned
    if t in ("float", "double", "real"):
        return ("double" if t == "real" or (t == "float" and nums and nums[0] > 24) else t) + unsigned
    if t == "bit":
        return f"bit({nums[0]})" if nums and nums[0] > 1 else "bit"
    if t in ("binary", "varbinary"):
        return t if t == "binary" and nums in ([], [1]) else f"{t}({nums[0]})"
    raise AssertionError(column_type)


def test_my101_names_the_type_as_atlas_does(maria_url: str) -> None:
    """MY101's type is Atlas's name for the column MariaDB stores: no display width, bool for
    tinyint(1), decimal(10) for DECIMAL, double for FLOAT(30) (was sqlglot's spelling:
    'boolean', 'int(11)', 'decimal(10, 2)')."""
    types = ["bool", "boolean", "tinyint(1)", "tinyint", "int(11)", "int", "bigint unsigned",
             "int(10) unsigned", "decimal", "decimal(10)", "decimal(10,2)", "decimal(10,2) unsigned",
             "numeric(8,3)", "float", "float(30)", "double", "double precision", "bit", "bit(1)",
             "bit(8)", "binary", "binary(16)", "varbinary(20)", "mediumint", "smallint unsigned"]
    dbtools.execute(maria_url, "CREATE TABLE t (id int)",
                    "ALTER TABLE t " + ", ".join(f"ADD COLUMN c{i} {ty}" for i, ty in enumerate(types)))
    stored = dict(dbtools.query(maria_url, "SELECT column_name, column_type FROM information_schema.columns "
                                           "WHERE table_schema = DATABASE() AND table_name = 't'"))
    for i, ty in enumerate(types):
        [f] = lint.analyze(_files(**{"1.sql": f"ALTER TABLE t ADD COLUMN n {ty} NOT NULL;\n"}), "mysql")
        assert f.code == "MY101", f
        assert f.message.split('"')[1] == _atlas_mysql_name(stored[f"c{i}"]), (ty, stored[f"c{i}"])


@pytest.mark.parametrize("dialect", DIALECTS)
def test_drops_in_a_schema_as_atlas_spans_them(dialect: str) -> None:
    """Atlas's destructive analyzer: DS102 names the table without its schema; a table whose
    schema the same file drops is DS101 only; a schema the file creates and drops is nothing."""
    files = _files(**{"1.sql": "DROP TABLE s.t;\n",
                      "2.sql": "DROP TABLE s.t;\nDROP SCHEMA s;\n",
                      "3.sql": "CREATE SCHEMA tmp;\nDROP SCHEMA tmp;\n",
                      "4.sql": "DROP SCHEMA s;\n"})
    assert [f.text() for f in lint.analyze(files, dialect)] == [
        '1.sql:1: DS102 Dropping table "t"', '2.sql:2: DS101 Dropping schema "s"',
        '4.sql:1: DS101 Dropping schema "s"']


def test_mf102_an_index_made_unique_fails_on_duplicates(maria_url: str) -> None:
    """MySQL's DROP INDEX i, ADD UNIQUE INDEX i in one statement is Atlas's MF102 (its diff of
    the statement sees index i become unique), and MariaDB refuses it while duplicates exist."""
    dbtools.execute(maria_url, "CREATE TABLE t (id int PRIMARY KEY, c int, INDEX i (c))",
                    "INSERT INTO t VALUES (1, 7), (2, 7)")
    sql = "ALTER TABLE t DROP INDEX i, ADD UNIQUE INDEX i (c)"
    assert [f.text() for f in lint.analyze(_files(**{"1.sql": sql + ";\n"}), "mysql")] == [
        '1.sql:1: MF102 Modifying an index "i" on table "t" might fail in case of duplicate entries']
    with pytest.raises(Exception, match="Duplicate entry"):
        dbtools.execute(maria_url, sql)
    new = _files(**{"1.sql": "CREATE TABLE u (c int, INDEX j (c));\n",
                    "2.sql": "ALTER TABLE u DROP INDEX j, ADD UNIQUE INDEX j (c);\n"})
    assert lint.analyze(new, "mysql") == []  # u is created by a pending file: not existing
