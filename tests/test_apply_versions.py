"""The versions an apply names (its header ``Migrating to version X from Y``, JSON ``from_version``,
Atlas's JSON ``Current``) agree with ``status`` and with the real run, after a failed or in-doubt
first statement and with ``--baseline``; a dry run lists exactly the statements the run would run.

Atlas (``sql/migrate/migrate.go`` ``LogIntro``) takes the header's "from" from the last revision
row, as its status takes "Current" (``cmdlog.StatusReporter.Report``). Our status, on purpose,
does not count the row of a file whose first statement failed (or is in doubt) outside a
transaction: it ran nothing, so the version before it is current (README "Where we differ from
Atlas"). The apply header follows our status. With ``--baseline``, Atlas's dry run writes the
baseline row, so its header says "from <baseline>"; ours writes nothing and says the same.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.dirtools import make_dir
from tests.helpers import dbcheck, kills
from tests.test_cli import one_error_line, run

FIRST_FAILS = {"1_init.sql": "CREATE TABLE t1 (id INT);\n",
               "2_b.sql": "INSERT INTO missing_t VALUES (1);\nCREATE TABLE t2 (id INT);\n",
               "3_c.sql": "CREATE TABLE t3 (id INT);\n"}


def _header(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("Migrating to version"))


def _versions(d: Path, url: str, *extra: str) -> tuple[str, str | None, str | None]:
    """(text header, JSON from_version, Atlas JSON Current) of three dry runs."""
    text = run("apply", "--dir", d, "--url", url, "--dry-run", *extra)
    ours = run("apply", "--dir", d, "--url", url, "--dry-run", "--format", "json", *extra)
    theirs = run("apply", "--dir", d, "--url", url, "--dry-run", "--format", "{{ json . }}", *extra)
    for r in (text, ours, theirs):
        assert r.exit_code == 0, r.output
    return (_header(text.stdout), json.loads(ours.stdout)["from_version"],
            json.loads(theirs.stdout).get("Current"))


def test_header_after_a_failed_first_statement_names_the_current_version(db_url: str,
                                                                           tmp_path: Path) -> None:
    d = make_dir(tmp_path, FIRST_FAILS)
    failed = run("apply", "--dir", d, "--url", db_url, "--tx-mode", "none")
    assert failed.exit_code == 1, failed.output
    row = dbcheck.revisions(db_url)["2"]
    assert (row.applied, row.total) == (0, 2) and "missing_t" in row.error_stmt
    status = json.loads(run("status", "--dir", d, "--url", db_url, "--format", "json").stdout)
    assert status["current_version"] == "1", status
    (d / "2_b.sql").write_text("CREATE TABLE t2b (id INT);\nCREATE TABLE t2 (id INT);\n")
    assert run("hash", "--dir", d).exit_code == 0
    expected = "Migrating to version 3 from 1 (2 migrations in total):"
    assert _versions(d, db_url) == (expected, "1", "1")
    done = run("apply", "--dir", d, "--url", db_url, "--tx-mode", "none")
    assert done.exit_code == 0, done.output
    assert _header(done.stdout) == expected
    assert all(dbcheck.has_table(db_url, t) for t in ("t2b", "t2", "t3"))


def test_baseline_dry_run_names_the_baseline_as_the_real_run_does(db_url: str, tmp_path: Path) -> None:
    dbcheck.query(db_url, "CREATE TABLE legacy (id INT)")
    d = make_dir(tmp_path, {"1_init.sql": "CREATE TABLE t1 (id INT);\n",
                            "2_b.sql": "CREATE TABLE t2 (id INT);\n",
                            "3_c.sql": "CREATE TABLE t3 (id INT);\n"})
    expected = "Migrating to version 3 from 1 (2 migrations in total):"
    assert _versions(d, db_url, "--baseline", "1") == (expected, "1", "1")
    assert not dbcheck.has_table(db_url, "atlas_schema_revisions") or not dbcheck.revisions(db_url)
    done = run("apply", "--dir", d, "--url", db_url, "--baseline", "1")
    assert done.exit_code == 0, done.output
    assert _header(done.stdout) == expected
    assert set(dbcheck.revisions(db_url)) == {"1", "2", "3"}


def test_dry_run_skips_the_statement_an_in_doubt_answer_skips(maria_url: str, tmp_path: Path) -> None:
    """A run killed right after 2_b.sql's first statement (``ALTER … MODIFY``, which the catalog
    cannot confirm) leaves it in doubt. A dry run says what the real run does: without an
    answer it stops as the real run does; ``done`` skips the statement, ``redo`` runs it."""
    alter = "ALTER TABLE t MODIFY c BIGINT;"
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE t (c INT);\n",
                            "2_b.sql": f"{alter}\nINSERT INTO t (c) VALUES (5000000000);\n"})
    killed, _, err = kills.run_killed_at(maria_url, d, tmp_path, tx_mode="file", kill_point="after:2")
    assert killed, err
    row = dbcheck.revisions(maria_url)["2"]
    assert (row.applied, row.error_stmt) == (0, alter) and row.error.startswith("in doubt: ")
    status = json.loads(run("status", "--dir", d, "--url", maria_url, "--format", "json").stdout)
    assert status["current_version"] == "1", status
    stopped = run("apply", "--dir", d, "--url", maria_url, "--dry-run")
    assert stopped.exit_code == 1 and "may or may not have completed" in one_error_line(stopped.stderr)
    header = "Migrating to version 2 from 1 (1 migrations in total):"
    for answer, listed in (("done", False), ("redo", True)):
        dry = run("apply", "--dir", d, "--url", maria_url, "--dry-run", "--resolve-in-doubt", answer)
        assert dry.exit_code == 0, dry.output
        assert _header(dry.stdout) == header
        assert (f"-> {alter}" in dry.stdout) is listed, (answer, dry.stdout)
        assert "-> INSERT INTO t (c) VALUES (5000000000);" in dry.stdout
        assert ("1 sql statement\n" in dry.stdout) is not listed, dry.stdout
    assert dbcheck.revisions(maria_url)["2"] == row  # the dry runs wrote nothing
    done = run("apply", "--dir", d, "--url", maria_url, "--resolve-in-doubt", "done")
    assert done.exit_code == 0, done.output
    assert _header(done.stdout) == header and f"-> {alter}" not in done.stdout
    assert dbcheck.query(maria_url, "SELECT c FROM t") == [(5000000000,)]


def test_status_counts_the_statements_left_in_the_file_as_it_is_now(db_url: str, tmp_path: Path) -> None:
    """A file that stopped at statement 2 of 3 is fixed with 4 statements: the resume runs 3 of
    them. Atlas's status counts the file again (``StatusReporter.Report``: ``Total`` is the
    file's statement count, ``Count`` the row's applied), so it says "3 statements left"; the row's
    total (3) would say 2."""
    d = make_dir(tmp_path, {"1_init.sql": "CREATE TABLE t1 (id INT);\n",
                            "2_b.sql": ("CREATE TABLE t2a (id INT);\nINSERT INTO missing_t VALUES (1);\n"
                                        "CREATE TABLE t2c (id INT);\n")})
    assert run("apply", "--dir", d, "--url", db_url, "--tx-mode", "none").exit_code == 1
    assert (dbcheck.revisions(db_url)["2"].applied, dbcheck.revisions(db_url)["2"].total) == (1, 3)
    (d / "2_b.sql").write_text("CREATE TABLE t2a (id INT);\nCREATE TABLE t2b (id INT);\n"
                               "CREATE TABLE t2c (id INT);\nCREATE TABLE t2d (id INT);\n")
    assert run("hash", "--dir", d).exit_code == 0
    text = run("status", "--dir", d, "--url", db_url).stdout
    assert "Current Version: 2 (1 statements applied)" in text, text
    assert "Next Version:    2 (3 statements left)" in text, text
    doc = json.loads(run("status", "--dir", d, "--url", db_url, "--format", "{{ json . }}").stdout)
    assert (doc["Count"], doc["Total"]) == (1, 4), doc
    done = run("apply", "--dir", d, "--url", db_url, "--tx-mode", "none")
    assert done.exit_code == 0 and "3 sql statements" in done.stdout, done.output
