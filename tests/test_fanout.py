"""Multi-tenant fan-out on real databases: an env with for_each (or --url repeated) applies to
every tenant, --parallel N at a time; one failing tenant does not stop the others; exit 1 when
any failed; --format json lists every tenant; passwords never printed."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from pulumi_migrations_provider import fanout
from pulumi_migrations_provider.migdir import MigrationDir
from pulumi_migrations_provider.reports import Options
from pulumi_migrations_provider.target import Target
from tests.conftest import ServerDb
from tests.dbtools import execute, query, revisions
from tests.dirtools import make_dir
from tests.ptytools import run_on_terminal
from tests.servers import SECRET_PASSWORD
from tests.test_cli import run, script

FILES = {
    "1_users.sql": "CREATE TABLE users (id INT PRIMARY KEY);\n",
    "2_posts.sql": "CREATE TABLE posts (id INT PRIMARY KEY);\nCREATE TABLE tags (id INT);\n",
}


def _tenant_project(tmp_path: Path, urls: dict[str, str]) -> Path:
    """atlas.hcl with env "tenants" for_each over a map of tenant name -> URL."""
    make_dir(tmp_path, FILES)
    entries = "\n".join(f'    {name} = "{url}"' for name, url in urls.items())
    (tmp_path / "atlas.hcl").write_text(f'''
locals {{
  tenants = {{
{entries}
  }}
}}
env "tenants" {{
  for_each = local.tenants
  url      = each.value
  migration {{
    dir = "file://migrations"
  }}
}}
''')
    return tmp_path


def _versions(url: str) -> list[str]:
    return [r["version"] for r in revisions(url)]


def test_for_each_applies_every_tenant_and_one_failure_stops_none(
        server_db: ServerDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    urls = {f"t{i}": server_db.fresh_url() for i in range(4)}
    execute(urls["t2"], "CREATE TABLE posts (id INT PRIMARY KEY)")  # t2's second file fails
    monkeypatch.chdir(_tenant_project(tmp_path, urls))
    r = run("apply", "--env", "tenants", "--allow-dirty", "--parallel", "3")
    assert r.exit_code == 1
    assert r.stderr == ("error: applying to 4 tenants: 1 failed (t2); the others ran; fix the "
                        "failed ones and rerun the same command\n")
    for name in ("t0", "t1", "t3"):
        assert _versions(urls[name]) == ["1", "2"], name
        assert f"tenant {name}: migrated to version 2 from none (2 files, " in r.stdout
    rows = revisions(urls["t2"])
    # 1 applied; 2 failed on its first statement (rolled back: no row, or a row with 0 applied)
    assert [(row["version"], row["applied"]) for row in rows][:1] == [("1", 1)]
    assert all(row["applied"] == 0 for row in rows[1:])
    assert "tenant t2: error (after 1 of 2 files): applying 2_posts.sql (version 2): statement 1 " in r.stdout
    summary = r.stdout[r.stdout.index("Tenant "):]
    assert summary.splitlines()[0].split() == ["Tenant", "From", "->", "To", "Files", "Time", "Error"]
    assert [line.split()[0] for line in summary.splitlines()[1:5]] == ["t0", "t1", "t2", "t3"]
    assert next(line for line in summary.splitlines() if line.startswith("t2 ")).split()[1:5] == ["none", "->", "1", "1"]
    assert summary.splitlines()[-1] == "4 tenants: 3 ok, 1 failed"
    assert SECRET_PASSWORD not in r.stdout + r.stderr
    # Rerun after the fix: only t2 has work left; the others say so.
    execute(urls["t2"], "DROP TABLE posts")
    r = run("apply", "--env", "tenants", "--allow-dirty")
    assert r.exit_code == 0, r.stderr
    assert _versions(urls["t2"]) == ["1", "2"]
    assert "tenant t0: no migration files to execute (version 2)" in r.stdout


def test_json_lists_every_tenant_with_masked_urls(server_db: ServerDb, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    urls = {f"t{i}": server_db.fresh_url() for i in range(3)}
    missing = urls["t1"].replace("/t_", "/nope_") if "://" in urls["t1"] and \
        not urls["t1"].startswith("sqlite") else f"sqlite://{tmp_path}/no/such/dir/x.db"
    urls["t1"] = missing
    monkeypatch.chdir(_tenant_project(tmp_path, urls))
    r = run("apply", "--env", "tenants", "--format", "json", "--parallel", "2")
    assert r.exit_code == 1
    data = json.loads(r.stdout)  # stdout is exactly one JSON document
    assert data["failed"] == 1
    assert [t["tenant"] for t in data["tenants"]] == ["t0", "t1", "t2"]
    by = {t["tenant"]: t for t in data["tenants"]}
    assert by["t0"]["status"] == "APPLIED" and by["t0"]["applied"] == list(FILES)
    assert by["t0"]["from_version"] is None and by["t0"]["to_version"] == "2"
    assert by["t1"]["status"] == "FAILED" and by["t1"]["error"]
    assert by["t1"]["applied"] == []
    if server_db.dialect != "sqlite":
        assert all(":****@" in t["url"] for t in data["tenants"])
    assert SECRET_PASSWORD not in r.stdout + r.stderr
    assert r.stderr.startswith("error: applying to 3 tenants: 1 failed (t1)")
    # status of every tenant, read-only
    r = run("status", "--env", "tenants", "--format", "json")
    data = json.loads(r.stdout)
    # SQLite: the file's directory does not exist, so apply cannot create the file; status says
    # so (a missing file in an existing directory is PENDING: test_sqlite_connection).
    assert [(t["tenant"], t["status"]) for t in data["tenants"]] == [
        ("t0", "OK"), ("t1", "FAILED"), ("t2", "OK")]
    if server_db.dialect == "sqlite":
        assert "the directory of the database file" in data["tenants"][1]["error"]
    assert r.exit_code == 1


def test_several_urls_fan_out_without_a_project_file(server_db: ServerDb, tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    a, b = server_db.fresh_url(), server_db.fresh_url()
    r = run("apply", "--dir", d, "--url", a, "--url", b, "1")
    assert r.exit_code == 0, r.stderr
    assert _versions(a) == _versions(b) == ["1"]
    r = run("status", "--dir", d, "--url", a, "--url", b)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.count("PENDING at version 1, 1 pending") == 2
    assert SECRET_PASSWORD not in r.stdout + r.stderr
    # --dry-run on every tenant writes nothing
    r = run("apply", "--dir", d, "--url", a, "--url", b, "--dry-run")
    assert r.exit_code == 0 and r.stdout.count("would migrate to version 2 from 1 (1 file, ") == 2
    assert _versions(a) == _versions(b) == ["1"]


def test_commands_with_one_database_refuse_several(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    (tmp_path / "atlas.hcl").write_text(
        'env "e" {\n for_each = toset(["a", "b"])\n url = "sqlite://${each.value}.db"\n'
        ' migration {\n dir = "file://${each.value}"\n }\n}\n')
    r = run("hash", "-c", f"file://{tmp_path / 'atlas.hcl'}", "--env", "e")
    assert r.exit_code == 2
    assert "env 'e' has 2 instances (for_each) that differ in what hash uses" in r.stderr
    assert d.exists()


def test_parallel_tenants_overlap_on_postgres(pg_server: object, tmp_path: Path) -> None:
    """--parallel 4: four tenants' one-second files run at the same time (the revisions rows'
    execution intervals overlap); --parallel 1 runs them one after the other."""
    d = make_dir(tmp_path, {"1_wait.sql": "SELECT pg_sleep(1);\n"})
    from tests.conftest import _server_db

    def intervals(parallel: int) -> list[tuple[object, object]]:
        urls = [_server_db(pg_server, "postgresql").url for _ in range(4)]  # type: ignore[arg-type]
        args: list[object] = ["apply", "--dir", d, "--parallel", parallel]
        for u in urls:
            args += ["--url", u]
        r = run(*args)
        assert r.exit_code == 0, r.stderr
        spans = []
        for u in urls:
            (row,) = revisions(u)
            start = row["executed_at"]
            spans.append((start, start + timedelta(microseconds=row["execution_time"] / 1000)))
        return sorted(spans)

    together = intervals(4)
    assert max(s for s, _ in together) < min(e for _, e in together)  # all four overlap
    apart = intervals(1)
    assert all(apart[i][1] <= apart[i + 1][0] for i in range(3))


def test_api_outcomes_keep_tenant_order_and_never_raise(tmp_path: Path) -> None:
    d = MigrationDir.load(make_dir(tmp_path, FILES))
    good = Target.parse(f"sqlite://{tmp_path}/good.db")
    bad = Target.parse(f"sqlite://{tmp_path}/missing/dir/bad.db")
    seen: list[str] = []

    class Recorder(fanout.Watch):
        def tenant_done(self, tenant: fanout.Tenant, outcome: fanout.Outcome) -> None:
            seen.append(f"{tenant.name}:{outcome.status}")

    tenants = [fanout.Tenant("bad", bad, d, Options()), fanout.Tenant("good", good, d, Options())]
    outcomes = fanout.apply_all(tenants, parallel=1, watch=Recorder())
    assert [(o.tenant, o.status) for o in outcomes] == [("bad", "FAILED"), ("good", "APPLIED")]
    assert seen == ["bad:FAILED", "good:APPLIED"]
    assert query(f"sqlite://{tmp_path}/good.db", "SELECT COUNT(*) FROM tags") == [(0,)]


def test_a_failed_tenant_counts_the_statements_of_the_files_it_applied(server_db: ServerDb,
                                                                       tmp_path: Path) -> None:
    """--format json's ``statements`` said 0 for a tenant that applied files before failing."""
    d = MigrationDir.load(make_dir(tmp_path, {**FILES, "3_bad.sql": "INSERT INTO nope VALUES (1);\n"}))
    tenants = [fanout.Tenant("a", Target.parse(server_db.fresh_url()), d, Options())]
    outcome, = fanout.apply_all(tenants)
    assert (outcome.status, outcome.applied, outcome.statements) == (
        "FAILED", ["1_users.sql", "2_posts.sql"], 3), outcome


def test_piped_summary_has_no_trailing_spaces(tmp_path: Path) -> None:
    """Audit gap 9: the table padded every row to the longest error (the last column) with
    spaces, so piped output and logs carried trailing blanks; so did the header of status's
    table of pending files."""
    d = make_dir(tmp_path, FILES)
    args: list[object] = ["apply", "--dir", d]
    for name in ("good", "missing/dir/bad", "also_good"):
        args += ["--url", f"sqlite://{tmp_path}/{name}.db"]
    r = run(*args)
    assert r.exit_code == 1, r.stderr
    summary = r.stdout[r.stdout.index("Tenant "):].splitlines()
    assert summary[0].split() == ["Tenant", "From", "->", "To", "Files", "Time", "Error"]
    assert len(summary) == 5 and "does not exist; create it" in summary[2], summary
    assert [line for line in summary if line != line.rstrip()] == [], summary
    status = run("status", "--dir", d, "--url", f"sqlite://{tmp_path}/fresh.db").stdout.splitlines()
    assert status[-3].split() == ["Version", "Description", "File"], status  # padded, too
    assert [line for line in status if line != line.rstrip()] == [], status


def test_terminal_shows_live_progress_then_the_summary(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    args = [script(), "apply", "--dir", str(d), "--parallel", "2"]
    for i in range(3):
        args += ["--url", f"sqlite://{tmp_path}/t{i}.db"]
    code, out, err = run_on_terminal(args, columns=120)
    assert code == 0, err
    assert "tenants" in out and "\x1b[" in out   # Rich's live rows (cursor control)
    for i in range(3):
        assert f"tenant sqlite://{tmp_path}/t{i}.db: migrated to version 2 from none" in out
    assert "3 tenants: 3 ok, 0 failed" in out


def test_ctrl_c_starts_no_further_tenant_and_finishes_the_running_one(
        pg_server: object, tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    from tests.conftest import _server_db

    d = make_dir(tmp_path, {"1_wait.sql": "SELECT pg_sleep(1);\n", "2_t.sql": "CREATE TABLE t (id INT);\n"})
    urls = [_server_db(pg_server, "postgresql").url for _ in range(4)]  # type: ignore[arg-type]
    args = [script(), "apply", "--dir", str(d)]
    for u in urls:
        args += ["--url", u]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.6)  # the first tenant is done or nearly, the second one is running
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().endswith("error: interrupted; rerun the same command to continue")
    done = [u for u in urls if _versions(u) == ["1", "2"]]
    untouched = [u for u in urls if _versions(u) == []]
    assert len(done) + len(untouched) == 4 and 1 <= len(done) <= 3  # never half a tenant
    assert "not run" in out and f"4 tenants: {len(done)} ok, 0 failed, {len(untouched)} not run" in out
    assert SECRET_PASSWORD not in out + err


def test_tenants_example_project_file_fans_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from tests.paths import TESTDATA

    example = TESTDATA.parent.parent / "examples" / "tenants"
    shutil.copy(example / "atlas.hcl", tmp_path / "atlas.hcl")
    shutil.copytree(example / "migrations", tmp_path / "migrations")
    monkeypatch.chdir(tmp_path)
    r = run("apply", "--env", "tenants", "--parallel", "3", "--var", "tenants=acme",
            "--var", "tenants=umbrella")
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["tenant_acme.db", "tenant_umbrella.db"]
    assert r.stdout.splitlines()[-1] == "2 tenants: 2 ok, 0 failed"
    r = run("status", "--env", "tenants", "--format", "json")
    data = json.loads(r.stdout)
    assert [(t["tenant"], t["status"]) for t in data["tenants"]] == [
        ("acme", "OK"), ("globex", "PENDING"), ("initech", "PENDING")]
