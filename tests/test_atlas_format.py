"""``--format '{{ json . }}'``: Atlas's JSON for ``status`` and ``apply``, and Atlas's text.

The goldens are the samples Atlas v1.2.3 printed on SQLite (issue 11) and the structs of
``cmd/atlas/internal/cmdlog`` (``MigrateStatus``, ``MigrateApply``, ``AppliedFile``,
``migrate.Revision``): same keys in Go's order, same nesting, same value types. Run on every
dialect; the URL object never carries the password.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

from tests.dirtools import make_dir
from tests.servers import SECRET_PASSWORD
from tests.test_cli import one_error_line, run

FILES = {"1_a.sql": "CREATE TABLE a (id int);\n",
         "2_b.sql": "CREATE TABLE b (id int);\nCREATE TABLE c (id int);\n"}
JSON = "{{ json . }}"
RFC3339NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")

# Issue 11's samples (values elided), in Go's field order.
URL_KEYS = ["Scheme", "Opaque", "User", "Host", "Path", "RawPath", "OmitHost", "ForceQuery",
            "RawQuery", "Fragment", "RawFragment", "Schema"]
STATUS_KEYS = ["Env", "Available", "Pending", "Applied", "Current", "Next", "Status"]
REVISION_KEYS = ["Version", "Description", "Type", "Applied", "Total", "ExecutedAt",
                 "ExecutionTime", "OperatorVersion"]
FILE_KEYS = ["Name", "Version", "Description"]
APPLY_KEYS = ["Driver", "URL", "Dir", "Pending", "Applied", "Current", "Target", "Start", "End",
              "Message"]
APPLIED_FILE_KEYS = ["Name", "Version", "Description", "Start", "End", "Applied"]
NOOP_APPLY_KEYS = ["Driver", "URL", "Dir", "Current", "Start", "End", "Message"]


def _no_password(*texts: str) -> None:
    for text in texts:
        assert SECRET_PASSWORD not in text and quote(SECRET_PASSWORD, safe="") not in text


def _json(result) -> dict:
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1, result.stdout
    _no_password(result.stdout, result.stderr)
    return json.loads(result.stdout)


def _check_url(doc: dict, url: str, dialect: str) -> None:
    assert list(doc) == URL_KEYS
    assert doc["User"] == (None if dialect == "sqlite" else {})   # Go's Userinfo: no fields
    assert doc["Scheme"] == url.split("://")[0]
    assert isinstance(doc["OmitHost"], bool) and isinstance(doc["ForceQuery"], bool)
    if dialect == "sqlite":
        assert doc["Schema"] == "main" and doc["Path"] == url[len("sqlite://"):]
    elif dialect == "mariadb":
        assert doc["Schema"] == doc["Path"].lstrip("/") != ""
    else:
        assert doc["Schema"] == "" and "sslmode=disable" in doc["RawQuery"]


def test_status_and_apply_print_atlas_json(server_db, tmp_path):
    url, dialect = server_db.url, server_db.dialect
    d = make_dir(tmp_path, FILES)
    assert run("apply", "1", "--dir", d, "--url", url).exit_code == 0

    status = _json(run("status", "--dir", d, "--url", url, "--format", JSON))
    assert list(status) == STATUS_KEYS
    assert list(status["Env"]) == ["Driver", "URL", "Dir"]
    assert status["Env"]["Driver"] == url.split("://")[0]
    assert status["Env"]["Dir"] == f"file://{d}?format=atlas"
    _check_url(status["Env"]["URL"], url, dialect)
    assert status["Available"] == [{"Name": "1_a.sql", "Version": "1", "Description": "a"},
                                   {"Name": "2_b.sql", "Version": "2", "Description": "b"}]
    assert status["Pending"] == [{"Name": "2_b.sql", "Version": "2", "Description": "b"}]
    rev, = status["Applied"]
    assert list(rev) == REVISION_KEYS
    assert (rev["Version"], rev["Description"], rev["Type"], rev["Applied"], rev["Total"]) == \
        ("1", "a", "applied", 1, 1)
    assert RFC3339NANO.match(rev["ExecutedAt"]), rev["ExecutedAt"]
    assert isinstance(rev["ExecutionTime"], int) and rev["ExecutionTime"] > 0   # nanoseconds
    assert rev["OperatorVersion"].startswith("pulumi-migrations ")
    assert (status["Current"], status["Next"], status["Status"]) == ("1", "2", "PENDING")

    applied = run("apply", "--dir", d, "--url", url, "--format", JSON)
    assert applied.exit_code == 0 and applied.stderr == ""
    doc = _json(applied)
    assert list(doc) == APPLY_KEYS
    _check_url(doc["URL"], url, dialect)
    assert doc["Dir"] == f"file://{d}"
    assert doc["Pending"] == [{"Name": "2_b.sql", "Version": "2", "Description": "b"}]
    f, = doc["Applied"]
    assert list(f) == APPLIED_FILE_KEYS
    assert f["Applied"] == ["CREATE TABLE b (id int);", "CREATE TABLE c (id int);"]
    assert all(RFC3339NANO.match(doc[k]) and RFC3339NANO.match(f[k]) for k in ("Start", "End"))
    assert f["Start"] <= f["End"] and doc["Start"] <= f["Start"]
    assert (doc["Current"], doc["Target"]) == ("1", "2")
    assert doc["Message"] == "Migrated to version 2 from 1 (1 migrations in total)"

    status = _json(run("status", "--dir", d, "--url", url, "--format", JSON))
    assert "Pending" not in status
    assert (status["Current"], status["Next"], status["Status"]) == ("2", "Already at latest version", "OK")
    assert [r["Version"] for r in status["Applied"]] == ["1", "2"]

    noop = _json(run("apply", "--dir", d, "--url", url, "--format", JSON))
    assert list(noop) == NOOP_APPLY_KEYS
    assert (noop["Current"], noop["Message"]) == ("2", "No migration files to execute")


def test_no_revisions_yet(server_db, tmp_path):
    d = make_dir(tmp_path, FILES)
    status = _json(run("status", "--dir", d, "--url", server_db.url, "--format", JSON))
    assert "Applied" not in status
    assert status["Available"] == status["Pending"] and len(status["Pending"]) == 2
    assert (status["Current"], status["Next"], status["Status"]) == ("No migration applied yet", "1", "PENDING")


def test_failed_apply_has_the_error_and_no_message(server_db, tmp_path):
    url = server_db.url
    d = make_dir(tmp_path, {"1_a.sql": FILES["1_a.sql"],
                            "2_bad.sql": "CREATE TABLE b (id int);\nINSERT INTO nope VALUES (1);\n"})
    result = run("apply", "--dir", d, "--url", url, "--format", JSON, "--tx-mode", "none")
    assert result.exit_code == 1
    line = one_error_line(result.stderr)
    doc = _json(result)
    assert "Message" not in doc and doc["Error"] == line.removeprefix("error: ")
    bad = doc["Applied"][-1]
    assert bad["Name"] == "2_bad.sql" and list(bad["Error"]) == ["Stmt", "Text"]
    assert bad["Error"]["Stmt"] == "INSERT INTO nope VALUES (1);"
    assert "nope" in bad["Error"]["Text"]
    assert bad["Applied"] == ["CREATE TABLE b (id int);", "INSERT INTO nope VALUES (1);"]  # as Atlas logs

    status = _json(run("status", "--dir", d, "--url", url, "--format", JSON))
    assert (status["Current"], status["Count"], status["Total"], status["Status"]) == ("2", 1, 2, "PENDING")
    assert status["SQL"] == "INSERT INTO nope VALUES (1);" and "nope" in status["Error"]


def test_error_before_anything_runs_prints_no_json(tmp_path):
    d = make_dir(tmp_path, FILES)
    (d / "1_a.sql").write_text("CREATE TABLE changed (id int);\n")   # atlas.sum is stale now
    result = run("apply", "--dir", d, "--url", f"sqlite://{tmp_path}/x.db", "--format", JSON)
    assert result.exit_code == 1 and result.stdout == ""
    one_error_line(result.stderr)


@pytest.mark.parametrize("template", ["{{ .Status }}", "{{ json .Pending }}", "{{ range . }}x{{ end }}"])
def test_other_go_templates_are_a_usage_error(tmp_path, template):
    d = make_dir(tmp_path, FILES)
    for command in ("status", "apply"):
        result = run(command, "--dir", d, "--url", f"sqlite://{tmp_path}/x.db", "--format", template)
        assert result.exit_code == 2
        line = one_error_line(result.stderr)
        assert f"the Go template {template!r} is not supported" in line
    assert not (tmp_path / "x.db").exists()


def test_indented_json_as_atlas_json_function(tmp_path):
    d = make_dir(tmp_path, FILES)
    url = f"sqlite://{tmp_path}/x.db"
    compact = run("status", "--dir", d, "--url", url, "--format", JSON).stdout
    indented = run("status", "--dir", d, "--url", url, "--format", '{{ json . "  " }}').stdout
    assert indented.startswith('{\n  "Env": {\n    "Driver": "sqlite",\n')
    assert json.loads(indented) == json.loads(compact)


def test_json_and_text_are_kept(tmp_path):
    d = make_dir(tmp_path, FILES)
    url = f"sqlite://{tmp_path}/x.db"
    assert json.loads(run("status", "--dir", d, "--url", url, "--format", "json").stdout)["status"] == "PENDING"
    assert run("status", "--dir", d, "--url", url, "--format", "text").stdout.startswith("Migration Status: PENDING")
    bad = run("status", "--dir", d, "--url", url, "--format", "yaml")
    assert bad.exit_code == 2 and "invalid choice: 'yaml'" in one_error_line(bad.stderr)


def test_out_of_order_as_atlas(server_db, tmp_path):
    """Atlas's StatusReporter on HistoryNonLinearError: Pending (after the last applied file)
    and OutOfOrder listed apart, no Next, the error; exit 0. apply errors (exit 1)."""
    url = server_db.url
    d = make_dir(tmp_path, {"1_a.sql": FILES["1_a.sql"], "3_c.sql": "CREATE TABLE c3 (id int);\n"})
    run("apply", "--dir", d, "--url", url)
    d = make_dir(tmp_path, {**FILES, "3_c.sql": "CREATE TABLE c3 (id int);\n",
                            "4_d.sql": "CREATE TABLE d (id int);\n"})
    text = run("status", "--dir", d, "--url", url)
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[:5] == ["Migration Status: PENDING", "  -- Current Version: 3",
                         "  -- Next Version:    UNKNOWN", "  -- Executed Files:  2",
                         "  -- Pending Files:   2 (1 out of order)"]
    assert lines[5] == "" and lines[6].startswith("  ERROR: ") and "2_b.sql was added out of order" in lines[6]

    doc = _json(run("status", "--dir", d, "--url", url, "--format", JSON))
    assert [f["Name"] for f in doc["OutOfOrder"]] == ["2_b.sql"]
    assert [f["Name"] for f in doc["Pending"]] == ["4_d.sql"]
    assert "Next" not in doc and doc["Status"] == "PENDING" and doc["Current"] == "3"
    assert "2_b.sql was added out of order" in doc["Error"]
    # Atlas's StatusReporter returns on HistoryNonLinearError before it sets Available.
    assert list(doc) == ["Env", "OutOfOrder", "Pending", "Applied", "Current", "Status", "Error"]

    only = make_dir(tmp_path, {**FILES, "3_c.sql": "CREATE TABLE c3 (id int);\n"}, name="only")
    lines = run("status", "--dir", only, "--url", url).stdout.splitlines()
    assert lines[4] == "  -- Pending Files:   1 (out of order)"

    applied = run("apply", "--dir", d, "--url", url)
    assert applied.exit_code == 1
    assert "migration file 2_b.sql was added out of order" in one_error_line(applied.stderr)
    atlas = run("apply", "--dir", d, "--url", url, "--format", JSON)
    assert (atlas.exit_code, atlas.stdout) == (1, "")


def test_text_summary_singular_and_plural(tmp_path):
    d = make_dir(tmp_path, FILES)
    url = f"sqlite://{tmp_path}/x.db"
    one = run("apply", "1", "--dir", d, "--url", url).stdout.splitlines()
    assert one[-2:] == ["  -- 1 migration", "  -- 1 sql statement"]
    two = run("apply", "--dir", d, "--url", url).stdout.splitlines()
    assert two[-2:] == ["  -- 1 migration", "  -- 2 sql statements"]
    assert run("hash", "--dir", make_dir(tmp_path, {"1_a.sql": "SELECT 1;\n"}, name="single")).stdout \
        == "atlas.sum updated: 1 file\n"


def test_values_as_go_marshals_them():
    from datetime import datetime, timedelta, timezone

    from pulumi_migrations_provider.atlasfmt import dumps, go_time, parse_template, url_json

    assert [parse_template(t) for t in ("{{ json . }}", "{{json .}}", "{{- json . -}}")] == ["atlas"] * 3
    assert dumps({"a": "<&>\u2028"}, parse_template("{{ json . }}")) == '{"a":"\\u003c\\u0026\\u003e\\u2028"}'
    # json.MarshalIndent(v, prefix, indent): no prefix before the first line.
    assert dumps({"a": [1, {}], "b": []}, parse_template('{{ json . ">" "  " }}')) == \
        '{\n>  "a": [\n>    1,\n>    {}\n>  ],\n>  "b": []\n>}'
    assert dumps({"a": 1}, parse_template('{{ json . "\\t" }}')) == '{\n\t"a": 1\n}'
    # Go's RFC3339Nano: trailing zeros trimmed, none at all for whole seconds.
    assert go_time("2026-12-02 05:59:25.087667521+01:00") == "2026-12-02T04:59:25.087667521Z"
    assert go_time(datetime(2026, 1, 2, 3, 4, 5, 120000)) == "2026-01-02T03:04:05.12Z"
    assert go_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))) == "2026-01-02T01:04:05Z"
    doc = url_json("postgres://app:s3cret@db:5432/app?sslmode=disable&password=s3cret&search_path=s1",
                   "postgresql")
    assert (doc["User"], doc["Host"], doc["Path"], doc["Schema"]) == ({}, "db:5432", "/app", "s1")
    assert "s3cret" not in json.dumps(doc)
    assert url_json("mysql://u@h/my%2Fdb", "mysql")["RawPath"] == "/my%2Fdb"   # Go keeps the raw form
    assert url_json("sqlite://app.db", "sqlite")["Host"] == "app.db"            # as Go's url.Parse


def test_text_summary_of_a_failed_run(tmp_path):
    """Atlas's MigrateApply.Summary: the duration, then the failed counts."""
    d = make_dir(tmp_path, {"1_bad.sql": "INSERT INTO nope VALUES (1);\n"})
    result = run("apply", "--dir", d, "--url", f"sqlite://{tmp_path}/x.db")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[-4] == "  -------------------------"
    assert re.fullmatch(r"  -- [0-9.]+(ns|µs|ms|s)", lines[-3]), lines
    assert lines[-2:] == ["  -- 1 migration with errors", "  -- 1 sql statement with errors"]


def test_status_text_names_a_checkpoint_as_atlas(tmp_path):
    """Atlas's template: ``Next Version:    2 (checkpoint)`` when a fresh database starts from
    the last checkpoint file; that file is what Available and Pending begin with."""
    d = make_dir(tmp_path, {"1_a.sql": FILES["1_a.sql"],
                            "2_cp.sql": "-- atlas:checkpoint\n\nCREATE TABLE a (id int);\n",
                            "3_c.sql": "CREATE TABLE c (id int);\n"})
    url = f"sqlite://{tmp_path}/x.db"
    lines = run("status", "--dir", d, "--url", url).stdout.splitlines()
    assert lines[2] == "  -- Next Version:    2 (checkpoint)"
    assert lines[4] == "  -- Pending Files:   2"
    doc = _json(run("status", "--dir", d, "--url", url, "--format", JSON))
    assert [f["Name"] for f in doc["Available"]] == [f["Name"] for f in doc["Pending"]] == ["2_cp.sql", "3_c.sql"]
