"""The pulumi-migrations CLI: commands, output formats, exit codes and password hygiene.

Most tests call ``cli.main(argv)`` in-process (``run``), with stdout and stderr captured apart;
a few run the installed console script in a subprocess to check real exit codes, stderr
one-liners, start-up imports and the stderr scrubber of ``main()``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from pulumi_migrations_provider import __version__, cli, cliparse
from pulumi_migrations_provider.cliout import _forget_secrets, _remember_urls_in, _scrub_all
from pulumi_migrations_provider.durations import go_duration, parse_duration
from pulumi_migrations_provider.migdir import MigrationDir
from tests.dirtools import make_dir
from tests.ptytools import run_on_terminal
from tests.helpers import dbcheck
from tests.servers import SECRET_PASSWORD

COMMANDS = ("hash", "validate", "status", "apply", "new", "manifests", "lint")

FILES = {
    "1_init.sql": "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50));\n",
    "2_add_posts.sql": (
        "CREATE TABLE posts (id INT PRIMARY KEY, title VARCHAR(50));\n"
        "INSERT INTO posts (id, title) VALUES (1, 'a;b');\n"
    ),
}
BAD_PASSWORD_URL = f"postgres://u:{quote(SECRET_PASSWORD, safe='')}@127.0.0.1:1/db?connect_timeout=2"


@dataclass
class Result:
    """What one in-process CLI run printed and its exit code."""
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run(*args: object) -> Result:
    """Run ``cli.main(args)`` in-process; stdout and stderr are captured apart."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            cli.main([str(a) for a in args])
        except SystemExit as exit_:
            code = exit_.code
        else:
            raise AssertionError("cli.main() returned instead of exiting")
    if code is None:
        code = 0
    assert isinstance(code, int), code
    return Result(code, out.getvalue(), err.getvalue())


def one_error_line(stderr: str) -> str:
    """Assert stderr is exactly one ``error: ...`` line and return it."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def script() -> str:
    """Path of the installed console script next to this interpreter."""
    found = shutil.which("pulumi-migrations", path=str(Path(sys.executable).parent))
    assert found, "pulumi-migrations is not installed in this environment"
    return found


def run_script(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([script(), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=60, env={"PATH": "/usr/bin:/bin"})


def assert_no_password(*texts: str) -> None:
    for text in texts:
        for form in (SECRET_PASSWORD, quote(SECRET_PASSWORD, safe=""), quote(SECRET_PASSWORD)):
            assert form not in text, text


def revisions_table_exists(sqlite_url: str) -> bool:
    path = sqlite_url[len("sqlite://"):]
    if not Path(path).exists():
        return False
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return ("atlas_schema_revisions",) in rows


# --- helpers that need no database ----------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    ("10s", 10.0), ("500ms", 0.5), ("1m", 60.0), ("1m30s", 90.0), ("1h", 3600.0),
    ("1.5s", 1.5), ("250us", 0.00025), ("7", 7.0), ("2.5", 2.5), ("0", 0.0),
], ids=lambda v: str(v))
def test_parse_duration_accepts_go_durations_and_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10x", "s", "-1s", "1 s", "ten"])
def test_parse_duration_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("flag", ["--lock-timeout", "--lock-timeout="])
@pytest.mark.parametrize(("value", "words"), [
    ("-1s", "'-1s' is negative; give a duration of 0 or more"),
    ("-500ms", "'-500ms' is negative"), ("-2", "'-2' is negative"),
    ("-1q", "'-1q' is not a duration like 10s"),
])
def test_negative_lock_timeout_is_a_usage_error_naming_it(tmp_path: Path, flag: str, value: str,
                                                          words: str) -> None:
    """Audit gap 9: ``--lock-timeout -1s`` said "expected one argument" (argparse took -1s
    for an option)."""
    d = make_dir(tmp_path, FILES)
    args = [flag + value] if flag.endswith("=") else [flag, value]
    result = run("status", "--dir", d, "--url", f"sqlite://{tmp_path}/x.db", *args)
    assert result.exit_code == 2, result.output
    line = one_error_line(result.stderr)
    assert line.startswith(f"error: argument --lock-timeout: {words}"), line
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(("ns", "text"), [
    (0, "0s"), (999, "999ns"), (1_500, "1.5\u00b5s"), (1_234_567, "1.234567ms"),
    (2_000_000_000, "2s"), (61_500_000_000, "1m1.5s"), (3_600_000_000_000, "1h0m0s"),
])
def test_go_duration_matches_go_formatting(ns: int, text: str) -> None:
    assert go_duration(ns) == text


# --- version, usage errors ------------------------------------------------------------------


def test_version_flag() -> None:
    result = run("--version")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"pulumi-migrations {__version__}"


@pytest.mark.parametrize("args", [
    ["apply", "--url", "sqlite://x.db", "--no-such-flag"],
    ["apply", "--url", "sqlite://x.db", "--baseline", "1", "--allow-dirty"],
    ["apply", "--url", "sqlite://x.db", "--to-version", "2", "1"],
    ["apply", "--url", "sqlite://x.db", "0"],
    ["apply", "--url", "sqlite://x.db", "--lock-timeout", "ten"],
    ["apply", "--url", "sqlite://x.db", "--exec-order", "sideways"],
    ["apply", "--url", "sqlite://x.db", "--tx-mode", "some"],
    ["status"],  # no --url and no DATABASE_URL
    ["manifests", "--name", "app"],  # neither --url nor --url-secret
    ["manifests", "--name", "app", "--url", "sqlite://x.db", "--url-secret", "s"],
    ["manifests", "--name", "app", "--url-secret", "s", "--label", "novalue"],
], ids=["unknown-option", "baseline-allow-dirty", "to-version-amount", "amount-0",
        "lock-timeout", "exec-order", "tx-mode", "missing-url", "manifests-no-url",
        "manifests-both-urls", "manifests-bad-label"])
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    d = make_dir(tmp_path, FILES)
    args = [a.replace("sqlite://x.db", f"sqlite://{tmp_path}/x.db") for a in args]
    result = run(*args, "--dir", d)
    assert result.exit_code == 2, result.output
    line = one_error_line(result.stderr)
    assert line.endswith(f"; see 'pulumi-migrations {args[0]} --help'"), line
    assert result.stdout == ""
    assert not (tmp_path / "x.db").exists()


USAGE_ERRORS = [
    (["apply", "-u", "sqlite://x.db", "--frobnicate"],
     "no such option: --frobnicate (did you mean --format?)"),
    # the unknown option is blamed, not its value taken for AMOUNT
    (["apply", "-u", "sqlite://x.db", "--formt", "json"], "no such option: --formt (did you mean --format?)"),
    (["apply", "-u", "sqlite://x.db", "--url-secret=s"], "no such option: --url-secret"),
    (["apply", "-u", "sqlite://x.db", "0"], "argument AMOUNT: '0' is not an integer >= 1"),
    (["apply", "-u", "sqlite://x.db", "two"], "argument AMOUNT: 'two' is not an integer >= 1"),
    (["apply", "-u", "sqlite://x.db", "--lock-timeout", "ten"],
     "argument --lock-timeout: 'ten' is not a duration like 10s, 500ms, 1m30s or 2.5"),
    (["apply", "-u", "sqlite://x.db", "--exec-order", "sideways"],
     "argument --exec-order: invalid choice: 'sideways' (choose from 'linear', 'linear-skip', "
     "'non-linear')"),
    (["apply", "-u", "sqlite://x.db", "--baseline", "1", "--allow-dirty"],
     "--baseline and --allow-dirty are mutually exclusive; pass only one"),
    (["apply", "-u", "sqlite://x.db", "--to-version", "2", "1"],
     "--to-version and an AMOUNT are mutually exclusive; pass only one"),
    (["apply", "--dir"], "argument --dir: expected one argument"),
    (["status"], "missing option --url/-u (or the DATABASE_URL environment variable)"),
    (["new", "a", "b"], "unexpected extra argument: b"),
    (["validate", "--dialect", "oracle"],
     "argument --dialect: invalid choice: 'oracle' (choose from 'sqlite', 'postgres', 'mysql')"),
    (["manifests", "--url-secret", "s"], "the following arguments are required: --name"),
    (["manifests", "--name", "a"], "pass exactly one of --url and --url-secret"),
    (["manifests", "--name", "a", "--url-secret", "s", "-l", "novalue"],
     "argument -l/--label: 'novalue' is not k=v"),
    (["manifests", "--name", "a", "--url-secret", "s", "--backoff-limit", "-1"],
     "argument --backoff-limit: '-1' is not an integer >= 0"),
    (["frob"], "argument COMMAND: invalid choice: 'frob' (choose from 'hash', 'validate', "
               "'status', 'apply', 'set', 'new', 'manifests', 'lint')"),
    (["--bogus", "hash"], "no such option: --bogus"),
    (["--version=1"], "argument --version: ignored explicit argument '1'"),
]


@pytest.mark.parametrize(("args", "message"),
                         [pytest.param(args, message, id=" ".join(args)) for args, message in USAGE_ERRORS])
def test_usage_error_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 2, result.output
    command = next((f"{a} " for a in args if a in COMMANDS), "")
    assert result.stderr == f"error: {message}; see 'pulumi-migrations {command}--help'\n"
    assert result.stdout == "" and not (tmp_path / "x.db").exists()


def test_empty_database_url_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "")
    result = run("apply")
    assert result.exit_code == 2, result.output
    assert "missing option --url/-u" in one_error_line(result.stderr)


def test_no_arguments_prints_help_and_exits_2() -> None:
    result = run()
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("usage: pulumi-migrations ")
    assert all(f"\n  {name} " in result.stderr for name in COMMANDS), result.stderr


def test_help_lists_every_command_with_its_summary() -> None:
    result = run("--help")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].startswith("usage: pulumi-migrations ")
    for name in COMMANDS:
        line = next((ln for ln in lines if ln.startswith(f"  {name} ")), None)
        assert line is not None and len(line.split()) > 2, result.stdout  # name + a summary
    assert "  --version " in result.stdout
    assert "Apply pending migration files (like 'atlas migrate apply')." in result.stdout


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_command_help_lists_flags_and_defaults(flag: str) -> None:
    result = run("apply", flag)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # help wraps with the terminal width
    assert result.stdout.startswith("usage: pulumi-migrations apply ")
    for option in ("--url", "-u", "--dir", "--revisions-schema", "--baseline", "--allow-dirty",
                   "--exec-order", "--tx-mode", "--to-version", "--dry-run", "--lock-timeout",
                   "--allow-changed", "--format", "AMOUNT"):
        assert option in text, option
    for fragment in ("Migration directory: a path or file:// URL. [default: file://migrations]",
                     "(10s, 500ms, 1m, 2.5). [default: 10s]", "or none. [default: file]",
                     "Output format: text, json, or '{{ json . }}' for Atlas's JSON. [default: text]", "[env var: DATABASE_URL; required]",
                     "Apply at most this many pending files."):
        assert fragment in text, fragment
    assert "[default: None]" not in text and "[default: False]" not in text


def test_every_command_has_help() -> None:
    for name in COMMANDS:
        result = run(name, "--help")
        assert result.exit_code == 0, (name, result.output)
        assert result.stdout.startswith(f"usage: pulumi-migrations {name} ")
    manifests = " ".join(run("manifests", "--help").stdout.split())
    assert "-l K=V, --label K=V Label k=v for every object (repeatable)." in manifests
    assert "Key of the URL in that Secret. [default: url]" in manifests


def test_unknown_options_before_the_command_and_after_it_share_one_rule() -> None:
    p = cli.build_parser()
    ns, _ = p.parse_known_args(["apply", "-u", "sqlite://x.db"])
    parser = ns.command_parser
    assert parser.unknown_option(["--url=x", "-usqlite://y", "-1", "--dir", "d"]) is None
    assert parser.unknown_option(["-1", "--formt"]) == (
        "no such option: --formt (did you mean --format?)")
    assert parser.unknown_option(["--", "--bogus"]) is None  # after --, nothing is an option
    assert parser.unknown_option(["-x=1"]) == "no such option: -x"


def test_terminal_width_is_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = os.get_terminal_size
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(os, "get_terminal_size", lambda *a: calls.append(a) or real(*a))
    cliparse.columns.cache_clear()
    try:
        assert run("apply", "--help").exit_code == 0
        assert run("manifests", "--help").exit_code == 0
        assert len(calls) <= 1, calls  # not once per add_argument (none when stdout is no tty)
        monkeypatch.setenv("COLUMNS", "57")
        assert cliparse.columns() == cliparse.columns() != 57  # cached for the process
        cliparse.columns.cache_clear()
        assert cliparse.columns() == 57
    finally:
        cliparse.columns.cache_clear()


def test_version_is_eager() -> None:
    """Like Typer's eager --version: printed before anything else is looked at."""
    result = run("--version", "apply", "--bogus")
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"pulumi-migrations {__version__}\n", "")


def test_usage_error_never_prints_the_password(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    raw = f"mysql://u:{SECRET_PASSWORD}@127.0.0.1:1/db"
    backslash = "postgres://u:se\\cr'e\"t@h/db"  # argparse repr()s it: se\\\\cr\\'e"t
    for args in (["apply", "--url", BAD_PASSWORD_URL, "--exec-order", BAD_PASSWORD_URL],
                 ["apply", "--url", raw, "--exec-order", raw],
                 ["apply", "--url", raw, "--lock-timeout", raw],
                 ["status", "--url", raw, raw, BAD_PASSWORD_URL],
                 ["apply", f"--url={raw}", f"--bogus={raw}"],
                 ["apply", "--url", backslash, "--tx-mode", backslash]):
        result = run(*args, "--dir", d)
        assert result.exit_code == 2, result.output
        line = one_error_line(result.stderr)
        assert "****" in line or "--bogus" in line, line
        assert_no_password(result.stdout, result.stderr)
        for form in ("se\\cr'e\"t", repr("se\\cr'e\"t")[1:-1], "se\\\\cr\\'e\"t"):
            assert form not in result.stderr, result.stderr
    assert "invalid choice: 'postgres://u:****@h/db'" in run(
        "apply", "--url", backslash, "--tx-mode", backslash).stderr


def test_url_flag_wins_over_database_url(tmp_path: Path, sqlite_url: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    d = make_dir(tmp_path, FILES)
    monkeypatch.setenv("DATABASE_URL", "oracle://scott:tiger@db/x")
    result = run("status", "--dir", d, "-u", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "Migration Status: PENDING" in result.stdout


def test_bad_url_is_one_error_line(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    result = run("status", "--dir", d, "--url", "oracle://scott:tiger@db/x")
    assert result.exit_code == 1, result.output
    line = one_error_line(result.stderr)
    assert "unsupported scheme 'oracle'" in line
    assert "tiger" not in result.output


def test_status_and_apply_take_the_url_from_database_url(
        tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    d = make_dir(tmp_path, FILES)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    result = run("status", "--dir", d)
    assert result.exit_code == 0, result.output
    assert "Migration Status: PENDING" in result.stdout
    assert run("apply", "1", "--dir", d).exit_code == 0
    status = json.loads(run("status", "--dir", d, "--format", "json").stdout)
    assert status["current_version"] == "1" and status["pending"] == ["2_add_posts.sql"]
    assert run("validate", "--dir", d).stdout.endswith("(checked with sqlite statement rules)\n")


def test_url_comes_from_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = make_dir(tmp_path, FILES)
    monkeypatch.setenv("DATABASE_URL", "oracle://scott:tiger@db/x")
    result = run("status", "--dir", d)
    assert result.exit_code == 1, result.output
    assert "unsupported scheme 'oracle'" in one_error_line(result.stderr)
    assert "tiger" not in result.output


# --- hash / validate / new ------------------------------------------------------------------


def test_hash_writes_atlas_sum(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES, with_sum=False)
    result = run("hash", "--dir", d)
    assert result.exit_code == 0, result.output
    assert result.stdout == "atlas.sum updated: 2 files\n"
    loaded = MigrationDir.load(d)
    assert (d / "atlas.sum").read_bytes() == loaded.hash_file().to_bytes()
    loaded.validate()


def test_hash_and_validate_count_in_english(tmp_path: Path) -> None:
    """Audit gap 9: ``hash`` on an empty directory said ``0 file`` (Atlas's ``plural`` is for its
    own lines; these are ours)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("hash", "--dir", empty).stdout == "atlas.sum updated: 0 files\n"
    assert run("validate", "--dir", empty).stdout == "ok: 0 files (checked with sqlite statement rules)\n"
    one = make_dir(tmp_path, {"1_a.sql": "SELECT 1;\n"}, with_sum=False)
    assert run("hash", "--dir", one).stdout == "atlas.sum updated: 1 file\n"


def test_hash_and_validate_accept_file_url_and_default_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dir(tmp_path, FILES, with_sum=False)
    monkeypatch.chdir(tmp_path)
    assert run("hash").exit_code == 0  # default --dir file://migrations
    result = run("validate", "--dir", f"file://{tmp_path}/migrations")
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: 2 files (checked with sqlite statement rules)\n"


def test_validate_reports_edited_file(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    with open(d / "1_init.sql", "a") as f:
        f.write("-- changed\n")
    result = run("validate", "--dir", d)
    assert result.exit_code == 1, result.output
    assert "L2: 1_init.sql was edited" in one_error_line(result.stderr)
    assert result.stdout == ""


def test_validate_reports_missing_sum(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES, with_sum=False)
    result = run("validate", "--dir", d)
    assert result.exit_code == 1, result.output
    assert "atlas.sum not found" in one_error_line(result.stderr)


@pytest.mark.parametrize(("dialect", "code"), [("sqlite", 1), ("postgres", 1), ("mysql", 0)])
def test_validate_splits_with_the_dialect_rules(tmp_path: Path, dialect: str, code: int) -> None:
    # '#' starts a comment only for MySQL; elsewhere the quote in it is unclosed.
    d = make_dir(tmp_path, {"1_a.sql": "# it's a comment\nSELECT 1;\n"})
    result = run("validate", "--dir", d, "--dialect", dialect)
    assert result.exit_code == code, result.output
    if code:
        assert "1_a.sql:1:5: unclosed quote" in one_error_line(result.stderr)


@pytest.mark.parametrize(("url", "code"), [("mysql://u@h/db", 0), ("postgres://u@h/db", 1)])
def test_validate_takes_the_rules_from_the_url(tmp_path: Path, url: str, code: int) -> None:
    d = make_dir(tmp_path, {"1_a.sql": "# it's a comment\nSELECT 1;\n"})
    result = run("validate", "--dir", d, "--url", url)   # nothing connects
    assert result.exit_code == code, result.output
    if not code:
        assert "mysql statement rules" in result.stdout


def test_new_creates_file_and_updates_sum(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    result = run("new", "add_tags", "--dir", d)
    assert result.exit_code == 0, result.output
    created = Path(result.stdout.strip())
    assert created.parent == d and created.exists()
    assert created.name.endswith("_add_tags.sql") and created.name[:14].isdigit()
    loaded = MigrationDir.load(d)
    assert created.name in [f.name for f in loaded.files]
    loaded.validate()  # atlas.sum covers the new file


def test_new_creates_missing_directory(tmp_path: Path) -> None:
    result = run("new", "init", "--dir", f"file://{tmp_path}/fresh")
    assert result.exit_code == 0, result.output
    assert [f.description for f in MigrationDir.load(tmp_path / "fresh").files] == ["init"]


def test_new_reads_dir_urls_as_load_does(tmp_path: Path) -> None:
    result = run("new", "init", "--dir", f"FILE://{tmp_path}/upper?format=atlas")
    assert result.exit_code == 0, result.output
    assert Path(result.stdout.strip()).parent == tmp_path / "upper"
    for bad, message in ((f"s3://{tmp_path}/m", "unsupported scheme 's3'"),
                         (f"file://{tmp_path}/m?format=golang-migrate", "format 'golang-migrate'"),
                         ("file://", "the URL names no directory")):
        result = run("new", "init", "--dir", bad)
        assert result.exit_code == 1, result.output
        assert message in one_error_line(result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upper"]  # nothing else created


def test_new_refuses_a_stale_sum(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    (d / "3_more.sql").write_text("SELECT 1;\n")
    result = run("new", "x", "--dir", d)
    assert result.exit_code == 1, result.output
    assert "3_more.sql was added" in one_error_line(result.stderr)


def test_json_format_prints_json_on_failure_too(tmp_path: Path) -> None:
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id int);\nCREATE TABLEX b;\n"})
    result = run("apply", "--dir", d, "--url", f"sqlite://{tmp_path}/x.db", "--format", "json")
    assert result.exit_code == 1, result.output
    assert one_error_line(result.stderr).startswith("error: applying 1_a.sql")
    data = json.loads(result.stdout)
    assert data["type"] == "StatementError" and (data["file"], data["index"], data["line"]) == ("1_a.sql", 2, 2)
    assert "syntax error" in data["db_error"]


def test_unwritable_directories_are_one_line_errors() -> None:
    """OS errors while creating or writing files: exit 1, one line naming the path, no traceback."""
    result = run("new", "x", "--dir", "/proc/pm-missing/migrations")
    assert result.exit_code == 1, result.output
    assert "/proc/pm-missing/migrations" in one_error_line(result.stderr)
    result = run("hash", "--dir", "/proc/self/fd")   # not writable, even for root
    assert result.exit_code == 1, result.output
    assert "cannot write /proc/self/fd/atlas.sum" in one_error_line(result.stderr)
    assert "Traceback" not in result.output


# --- manifests ------------------------------------------------------------------------------


def test_manifests_prints_three_documents(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    result = run("manifests", "--dir", d, "--name", "app", "--namespace", "db",
                 "--url", "postgres://app:pw@db:5432/app", "--label", "team=core")
    assert result.exit_code == 0, result.output
    docs = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert len(docs) == 3
    assert all(doc["metadata"]["namespace"] == "db" for doc in docs)
    assert all(doc["metadata"]["labels"]["team"] == "core" for doc in docs)
    assert "AtlasMigration" in {doc["kind"] for doc in docs}


def test_manifests_protected_down_flow(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    result = run("manifests", "--dir", d, "--name", "app", "--url-secret", "db-url", "--allow-down")
    assert result.exit_code == 0, result.output
    migration = [doc for doc in yaml.safe_load_all(result.stdout) if doc and doc["kind"] == "AtlasMigration"][0]
    assert migration["spec"]["protectedFlows"] == {"migrateDown": {"allow": True, "autoApprove": True}}


# --- database-touching commands -------------------------------------------------------------


def test_status_and_apply_text(tmp_path: Path, db_url: str) -> None:
    d = make_dir(tmp_path, FILES)
    result = run("status", "--dir", d, "--url", db_url)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Migration Status: PENDING" in out
    assert "Current Version: No migration applied yet" in out
    assert "  -- Next Version:    1" in out
    assert "2_add_posts.sql" in out

    result = run("apply", "--dir", d, "--url", db_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Migrating to version 2 (2 migrations in total):"
    assert "  -- migrating version 1" in lines
    assert "    -> INSERT INTO posts (id, title) VALUES (1, 'a;b');" in lines
    assert sum(line.startswith("  -- ok (") for line in lines) == 2
    assert lines[-3:] == lines[-3:-2] + ["  -- 2 migrations", "  -- 3 sql statements"]
    assert_no_password(result.stdout, result.stderr)

    again = run("apply", "--dir", d, "--url", db_url)
    assert again.exit_code == 0, again.output
    assert again.stdout == "No migration files to execute\n"

    status = run("status", "--dir", d, "--url", db_url)
    assert "Migration Status: OK" in status.stdout
    assert "Already at latest version" in status.stdout
    assert_no_password(status.stdout, status.stderr)


def test_status_and_apply_json(tmp_path: Path, db_url: str) -> None:
    d = make_dir(tmp_path, FILES)
    result = run("status", "--dir", d, "--url", db_url, "--format", "json")
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert status["status"] == "PENDING" and status["pending"] == list(FILES)

    result = run("apply", "1", "--dir", d, "--url", db_url, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["applied"] == ["1_init.sql"] and report["current_version"] == "1"
    assert_no_password(result.stdout, result.stderr)

    status = json.loads(run("status", "--dir", d, "--url", db_url, "--format", "json").stdout)
    assert status["current_version"] == "1" and status["pending"] == ["2_add_posts.sql"]


def test_apply_to_version(tmp_path: Path, sqlite_url: str) -> None:
    d = make_dir(tmp_path, FILES)
    result = run("apply", "--dir", d, "--url", sqlite_url, "--to-version", "1",
                 "--lock-timeout", "500ms")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "Migrating to version 1 (1 migrations in total):"


def test_dry_run_writes_nothing(tmp_path: Path, sqlite_url: str) -> None:
    d = make_dir(tmp_path, FILES)
    result = run("apply", "--dir", d, "--url", sqlite_url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "    -> CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50));" in result.stdout
    assert not revisions_table_exists(sqlite_url)


def test_failed_statement_is_one_line_and_status_shows_it(tmp_path: Path, sqlite_url: str) -> None:
    d = make_dir(tmp_path, {
        "1_ok.sql": "CREATE TABLE a (x INT);\n",
        "2_bad.sql": "CREATE TABLE b (x INT);\nINSERT INTO nope VALUES (1);\n",
    })
    result = run("apply", "--dir", d, "--url", sqlite_url, "--tx-mode", "none")
    assert result.exit_code == 1, result.output
    line = one_error_line(result.stderr)
    # The message holds brackets: printed verbatim, not eaten as Rich markup.
    assert "2_bad.sql" in line and "[INSERT INTO nope VALUES (1);]" in line
    assert "  -- 1 migration ok, 1 with errors" in result.stdout  # Atlas's Summary wording
    assert "  -- 2 sql statements ok, 1 with errors" in result.stdout

    status = run("status", "--dir", d, "--url", sqlite_url)
    assert status.exit_code == 0, status.output
    assert "Last migration attempt had errors:" in status.stdout
    assert "(1 statements applied)" in status.stdout
    assert "INSERT INTO nope VALUES (1);" in status.stdout


def test_password_never_printed_in_process(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    result = run("apply", "--dir", d, "--url", BAD_PASSWORD_URL, "--lock-timeout", "1s")
    assert result.exit_code == 1, result.output
    one_error_line(result.stderr)
    assert_no_password(result.stdout, result.stderr)


# A password JSON escapes (", \\ and a non-ASCII letter), and every form it can be printed in.
JSON_PASSWORD = 's3"cr\\\u00e9t-42'
JSON_PASSWORD_FORMS = (JSON_PASSWORD, quote(JSON_PASSWORD, safe=""), quote(JSON_PASSWORD),
                       json.dumps(JSON_PASSWORD)[1:-1],
                       json.dumps(JSON_PASSWORD, ensure_ascii=False)[1:-1])
JSON_PASSWORD_URL = (f"postgres://u:{quote(JSON_PASSWORD, safe='')}@127.0.0.1:1/db"
                     "?connect_timeout=1")


def assert_no_json_password(*texts: str) -> None:
    assert "\\u00e9" in JSON_PASSWORD_FORMS[3] and "\u00e9" in JSON_PASSWORD_FORMS[4]
    for text in texts:
        for form in JSON_PASSWORD_FORMS:
            assert form not in text, (form, text)


@pytest.mark.parametrize("command", ["status", "apply"])
def test_json_output_never_prints_the_password(tmp_path: Path, command: str) -> None:
    d = make_dir(tmp_path, FILES)
    result = run(command, "--dir", d, "--url", JSON_PASSWORD_URL, "--format", "json")
    assert result.exit_code == 1, result.output
    one_error_line(result.stderr)
    assert json.loads(result.stdout)["type"] == "ConnectError"
    assert_no_json_password(result.stdout, result.stderr)


def test_json_output_masks_a_json_escaped_password(tmp_path: Path, sqlite_url: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing statement that holds the password: ``--format json`` escapes it."""
    d = make_dir(tmp_path, {"1_a.sql": f"SELECT '{JSON_PASSWORD}' FROM nope;\n"})
    monkeypatch.setenv("DATABASE_URL", JSON_PASSWORD_URL)  # remembered; --url wins
    result = run("apply", "--dir", d, "--url", sqlite_url, "--format", "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["statement"] == "SELECT '****' FROM nope;", data
    assert_no_json_password(result.stdout, result.stderr)


def test_scrubber_masks_every_form_of_every_password() -> None:
    _forget_secrets()
    try:
        _remember_urls_in(f"mysql://u:{quote(JSON_PASSWORD, safe='')}@h/db postgres://v:ab@h/db")
        text = " ".join((*JSON_PASSWORD_FORMS, repr(JSON_PASSWORD)[1:-1], "ab", "xabc"))
        # "xabc" only contains the password "ab" inside a longer word: left alone (issue 11).
        assert _scrub_all(text) == " ".join(["****"] * 7 + ["xabc"])
    finally:
        _forget_secrets()


# --- the installed console script -----------------------------------------------------------


def test_script_exit_codes_and_one_line_errors(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    ok = run_script("validate", "--dir", d)
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "ok: 2 files (checked with sqlite statement rules)\n", "")

    (d / "2_add_posts.sql").write_text("SELECT 2;\n")
    bad = run_script("validate", "--dir", d)
    assert bad.returncode == 1
    assert "L3: 2_add_posts.sql was edited" in one_error_line(bad.stderr)

    usage = run_script("apply", "--url", "sqlite://x.db", "--frobnicate", cwd=tmp_path)
    assert usage.returncode == 2
    assert one_error_line(usage.stderr) == ("error: no such option: --frobnicate (did you mean "
                                            "--format?); see 'pulumi-migrations apply --help'")
    assert usage.stdout == "" and not (tmp_path / "x.db").exists()

    url = run_script("status", "--dir", d, "--url", "sqlite")
    assert url.returncode == 1
    assert "reading the database URL" in one_error_line(url.stderr)


def test_script_fast_exit_loses_no_output_and_no_data(tmp_path: Path, sqlite_url: str) -> None:
    # run() leaves with os._exit after flushing: every line must still arrive through a pipe,
    # and the database must be complete, its journal gone (the connection was closed).
    files = {f"{i}_t{i}.sql": f"CREATE TABLE t{i} (id INT);\n" for i in range(1, 301)}
    d = make_dir(tmp_path, files)
    applied = run_script("apply", "--dir", d, "--url", sqlite_url)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.count("-- migrating version ") == 300
    assert applied.stdout.rstrip().splitlines()[-1].strip() == "-- 300 sql statements"
    db = Path(sqlite_url[len("sqlite://"):])
    assert not Path(f"{db}-journal").exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM atlas_schema_revisions").fetchone()[0] == 300
    status = run_script("status", "--dir", d, "--url", sqlite_url, "--format", "json")
    assert status.returncode == 0
    assert json.loads(status.stdout)["executed"] == 300


def test_script_never_prints_the_password(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    raw = f"mysql://u:{SECRET_PASSWORD}@127.0.0.1:1/db"
    # A usage error echoes the extra arguments: main() scrubs stderr.
    usage = run_script("status", "--dir", d, "--url", BAD_PASSWORD_URL, BAD_PASSWORD_URL, raw)
    assert usage.returncode == 2
    assert "unexpected extra arguments: postgres://u:****@" in one_error_line(usage.stderr)
    assert_no_password(usage.stdout, usage.stderr)
    # A connection failure is an error line naming the redacted target at most.
    failed = run_script("apply", "--dir", d, "--url", BAD_PASSWORD_URL, "--lock-timeout", "1s")
    assert failed.returncode == 1
    one_error_line(failed.stderr)
    assert_no_password(failed.stdout, failed.stderr)


def test_script_on_a_terminal_shows_progress_not_statements(tmp_path: Path, sqlite_url: str) -> None:
    d = make_dir(tmp_path, FILES)
    code, out, err = run_on_terminal([script(), "apply", "--dir", str(d), "--url", sqlite_url])
    assert code == 0, err
    assert "Migrating to version 2 (2 migrations in total):" in out
    assert "-- migrating version 2: ok (" in out
    assert "-> CREATE TABLE" not in out  # statements are shown by the progress bar only
    assert "-- 3 sql statements" in out


def test_start_up_imports_stay_lazy() -> None:
    """``--version`` (and so every command's start) loads no parser framework, no Rich, no engine."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "pulumi_migrations_provider",
                           "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert (proc.returncode, proc.stdout) == (0, f"pulumi-migrations {__version__}\n"), proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert "argparse" in imported and "pulumi_migrations_provider.cli" in imported
    heavy = {"typer", "click", "rich", "sqlalchemy", "yaml", "json", "shutil", "dataclasses",
             "inspect", "pulumi_migrations_provider.target", "pulumi_migrations_provider.engine",
             "pulumi_migrations_provider.migdir", "pulumi_migrations_provider.lex",
             "pulumi_migrations_provider.k8s", "pulumi_migrations_provider.reports"}
    assert not heavy & imported, sorted(heavy & imported)


def test_module_entry_point_matches_the_script(tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    proc = subprocess.run([sys.executable, "-m", "pulumi_migrations_provider", "validate", "--dir",
                           str(d), "--tx-mode", "all"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert one_error_line(proc.stderr).endswith("see 'pulumi-migrations validate --help'")


def test_script_closed_stdout_is_not_a_traceback(tmp_path: Path) -> None:
    """`pulumi-migrations manifests ... | head -0`: exit 1 quietly, as Click did (EPIPE)."""
    d = make_dir(tmp_path, FILES)
    proc = subprocess.Popen([script(), "manifests", "--dir", str(d), "--name", "app",
                             "--url-secret", "s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={"PATH": "/usr/bin:/bin"})
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the child has imported anything: its first write fails
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1, stderr
    assert stderr == ""


def test_scrubber_masks_the_password_not_our_words() -> None:
    """Issue 11: with the common password ``postgres`` messages read
    ``connecting to ****://****:****@…`` and ``checked with ****ql statement rules``."""
    _forget_secrets()
    try:
        _remember_urls_in("postgres://postgres:postgres@db:5432/app")
        line = ("connecting to postgres://postgres:postgres@db:5432/app: checked with postgresql "
                "statement rules; password=postgres 'postgres' \"postgres\"")
        assert _scrub_all(line) == (
            "connecting to postgres://postgres:****@db:5432/app: checked with postgresql "
            "statement rules; password=**** '****' \"****\"")
    finally:
        _forget_secrets()


def test_status_takes_the_options_that_change_what_is_pending(tmp_path: Path, db_url: str) -> None:
    """Issue 11: ``status --baseline`` was 'no such option', so one could not look before
    onboarding an existing database. Status answers what apply with the same flags would do,
    and writes nothing."""
    dbcheck.query(db_url, "CREATE TABLE legacy (id INT)")
    d = make_dir(tmp_path, FILES)
    dirty = run("status", "--dir", d, "--url", db_url)
    assert dirty.exit_code == 1 and "not clean" in dirty.stderr and "--baseline" in dirty.stderr
    looks = {
        "--baseline": (["--baseline", "1"], ["2_add_posts.sql"]),
        "--allow-dirty": (["--allow-dirty"], list(FILES)),
    }
    for flag, (extra, pending) in looks.items():
        result = run("status", "--dir", d, "--url", db_url, "--format", "json",
                     "--lock-timeout", "2s", "--exec-order", "linear", *extra)
        assert result.exit_code == 0, (flag, result.output)
        assert json.loads(result.stdout)["pending"] == pending, flag
        dry = run("apply", "--dir", d, "--url", db_url, "--dry-run", "--format", "json", *extra)
        assert json.loads(dry.stdout)["pending"] == pending, (flag, dry.output)
    # The version status calls current is the one apply's header starts from: the baseline.
    text = run("status", "--dir", d, "--url", db_url, "--baseline", "1")
    assert "  -- Current Version: 1\n" in text.stdout, text.output
    assert json.loads(run("status", "--dir", d, "--url", db_url, "--baseline", "1", "--format",
                          "{{ json . }}").stdout)["Current"] == "1"
    header = run("apply", "--dir", d, "--url", db_url, "--baseline", "1", "--dry-run").stdout
    assert header.startswith("Migrating to version 2 from 1 (1 migrations in total):"), header
    assert dbcheck.tables(db_url) == {"legacy"}  # neither status nor the dry run wrote anything
    both = run("status", "--dir", d, "--url", db_url, "--baseline", "1", "--allow-dirty")
    assert both.exit_code == 2 and "mutually exclusive" in both.stderr


def test_allow_changed_accepts_an_edit_once(tmp_path: Path, db_url: str) -> None:
    """Issue 11: ``apply --allow-changed`` succeeded, then the very next apply and status failed
    again. Accepting the edit records the file's new hash; later runs need no flag. atlas.sum's
    hashes are chained (each over every file up to it), so a later file's recorded hash moves
    too: it is named as such, not as edited (nobody can tell from the hashes whether it was)."""
    d = make_dir(tmp_path, FILES)
    assert run("apply", "--dir", d, "--url", db_url).exit_code == 0
    make_dir(tmp_path, {**FILES, "1_init.sql": FILES["1_init.sql"] + "-- reviewed\n"})
    refused = run("status", "--dir", d, "--url", db_url)
    assert refused.exit_code == 1 and "1_init.sql was changed" in refused.stderr
    looked = run("status", "--dir", d, "--url", db_url, "--allow-changed")
    assert looked.exit_code == 0, looked.output
    dry = run("apply", "--dir", d, "--url", db_url, "--allow-changed", "--dry-run")
    assert "Would accept the edit of applied file 1_init.sql" in dry.stdout, dry.output
    assert ("Would record the new hash of applied file 2_add_posts.sql too (atlas.sum chains it "
            "to 1_init.sql)") in dry.stdout, dry.output
    assert run("status", "--dir", d, "--url", db_url).exit_code == 1  # the dry run recorded nothing
    accepted = run("apply", "--dir", d, "--url", db_url, "--allow-changed")
    assert accepted.exit_code == 0, accepted.output
    assert "Accepted the edit of applied file 1_init.sql (its new hash is recorded)" in accepted.stdout
    # Audit gap 9: 2_add_posts.sql was called edited too; only its chained atlas.sum hash moved
    assert "edit of applied file 2_add_posts.sql" not in accepted.stdout, accepted.stdout
    assert ("Recorded the new hash of applied file 2_add_posts.sql too (atlas.sum chains it to "
            "1_init.sql)") in accepted.stdout, accepted.stdout
    for command in ("status", "apply"):
        again = run(command, "--dir", d, "--url", db_url)
        assert again.exit_code == 0, (command, again.output)
    rows = dbcheck.revisions(db_url)
    from pulumi_migrations_provider.migdir import MigrationDir
    hf = MigrationDir.load(d).hash_file()
    assert {v: r.hash for v, r in rows.items()} == {"1": hf.hash_of("1_init.sql"),
                                                    "2": hf.hash_of("2_add_posts.sql")}


def test_rolled_back_failed_file_is_not_the_current_version(tmp_path: Path, db_url: str) -> None:
    """Issue 11: status showed 'Current Version: 2 (0 statements applied)' for a file whose
    transaction rolled back; it ran nothing, so version 1 is current and 2 is pending. (Issue 9:
    the file leaves no row, as with Atlas: on MariaDB too, its first statement being DML, whose
    transaction rolls back with the file's row.)"""
    bad = {**FILES, "2_add_posts.sql": "SELECT * FROM no_such_table;\nCREATE TABLE p (id INT);\n"}
    d = make_dir(tmp_path, bad)
    assert run("apply", "--dir", d, "--url", db_url).exit_code == 1
    status = json.loads(run("status", "--dir", d, "--url", db_url, "--format", "json").stdout)
    assert (status["current_version"], status["executed"], status["pending"]) == (
        "1", 1, ["2_add_posts.sql"]), status
    # No row (it rolled back with the file), so no error either: the failed run said why.
    assert status["error"] is None and status["error_statement"] is None, status
