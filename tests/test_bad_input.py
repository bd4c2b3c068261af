"""Bad input: each case is one clear line naming what to fix, and nothing reaches the database.

"Nothing written" is checked from the outside: no table and no revisions schema on the server,
and for errors found before connecting, not even the SQLite file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from pulumi_migrations_provider import engine
from pulumi_migrations_provider.errors import (
    ChecksumError,
    ChecksumMissingError,
    ConfigError,
    ConnectError,
    DirectiveError,
    FileEncodingError,
    MigrateError,
    ParseError,
)
from pulumi_migrations_provider.reports import Options

from tests.dirtools import make_dir
from tests.helpers import dbcheck
from tests.servers import SECRET_PASSWORD

GOOD = {"1_a.sql": "CREATE TABLE a (id INT);\n", "2_b.sql": "CREATE TABLE b (id INT);\n"}


def password_forms(password: str) -> set[str]:
    """Every way a password shows up in URLs and driver messages."""
    return {password, quote(password, safe=""), quote(password), quote(password, safe="@:"),
            quote(password, safe="").lower()}


def assert_one_line(err: BaseException, *needles: str) -> str:
    """``str(err)`` is one line, mentions every needle, and holds no form of the test password."""
    msg = str(err)
    assert msg and "\n" not in msg, msg
    for needle in needles:
        assert needle in msg, f"{needle!r} not in {msg!r}"
    for form in password_forms(SECRET_PASSWORD):
        assert form not in msg, f"password leaked in {msg!r}"
    return msg


def assert_untouched(url: str, *, sqlite_file_absent: bool = True) -> None:
    """Nothing was created: no tables, no revisions schema; optionally no SQLite file."""
    dialect = dbcheck.dialect_of(url)
    if dialect == "sqlite":
        path = dbcheck.sqlite_path(url)
        if sqlite_file_absent:
            assert not os.path.exists(path), f"{path} was created"
        assert dbcheck.tables(url) == set()
        return
    assert dbcheck.tables(url) == set()
    if dialect == "postgresql":
        assert dbcheck.query(url, "SELECT nspname FROM pg_namespace WHERE nspname = %s",
                             ("atlas_schema_revisions",)) == []


def expect(exc: type[MigrateError], url: str, d: Path, **kw: object) -> MigrateError:
    """Both ``status`` and ``apply`` raise ``exc``; return apply's error."""
    with pytest.raises(exc):
        engine.status(url, d)
    with pytest.raises(exc) as info:
        engine.apply(url, d, **kw)  # type: ignore[arg-type]
    return info.value


def test_edited_file_breaks_atlas_sum(db_url: str, tmp_path: Path) -> None:
    d = make_dir(tmp_path, GOOD)
    (d / "2_b.sql").write_text("CREATE TABLE b (id INT, x INT);\n")
    err = expect(ChecksumError, db_url, d)
    assert isinstance(err, ChecksumError)
    assert (err.file, err.line, err.reason) == ("2_b.sql", 3, "edited")
    assert_one_line(err, "L3: 2_b.sql was edited", "atlas.sum")
    assert_untouched(db_url)


def test_missing_atlas_sum(db_url: str, tmp_path: Path) -> None:
    d = make_dir(tmp_path, GOOD, with_sum=False)
    err = expect(ChecksumMissingError, db_url, d)
    assert_one_line(err, "atlas.sum", "hash")
    assert_untouched(db_url)


def test_non_utf8_file(db_url: str, tmp_path: Path) -> None:
    d = make_dir(tmp_path, {**GOOD, "2_b.sql": b"CREATE TABLE b (id INT);\n-- caf\xe9\n"})
    with pytest.raises(FileEncodingError) as info:
        engine.apply(db_url, d)
    err = info.value
    assert (err.file, err.line, err.col) == ("2_b.sql", 2, 7)  # type: ignore[attr-defined]
    assert_one_line(err, "2_b.sql", "UTF-8")
    # File 1 is fine but nothing runs: every pending file is read before anything is written.
    assert_untouched(db_url)


def test_unterminated_quote(db_url: str, tmp_path: Path) -> None:
    bad = "CREATE TABLE b (id INT);\nINSERT INTO b VALUES ('oops);\n"
    d = make_dir(tmp_path, {**GOOD, "2_b.sql": bad})
    with pytest.raises(ParseError) as info:
        engine.apply(db_url, d)
    err = info.value
    assert (err.file, err.line) == ("2_b.sql", 2)
    assert err.col > 0
    assert_one_line(err, f"2_b.sql:2:{err.col}", "quote")
    assert_untouched(db_url)


@pytest.mark.parametrize("url, secret", [
    pytest.param("not a url", None, id="no-scheme"),
    pytest.param("oracle://app:pw@127.0.0.1/db", None, id="unknown-scheme"),
    pytest.param(f"postgres://app:{quote(SECRET_PASSWORD, safe='')}@127.0.0.1:port/db", None,
                 id="bad-port"),
    pytest.param(f"mysql://app:{SECRET_PASSWORD}@127.0.0.1:3306/db", None, id="unencoded-password"),
    # An unencoded '/' ends the authority early, so part of the password lands where the
    # port goes: the parser's complaint about that "port" must not be echoed.
    pytest.param("postgres://app:hunter2/x@127.0.0.1:5432/db", "hunter2", id="password-as-port"),
    # The authority ends early and the rest of the password would become the database/query.
    pytest.param("postgres://app:/K9vLq2x@127.0.0.1/app", "K9vLq2x", id="password-starts-with-slash"),
    pytest.param("mysql://app:?K9vLq2x@127.0.0.1/app", "K9vLq2x", id="password-starts-with-question"),
    pytest.param("postgres://app:2024#Secret@127.0.0.1/app", "Secret", id="password-with-hash"),
    pytest.param("mysql://app:3306?Secret@127.0.0.1/app", "Secret", id="digits-then-question"),
])
def test_bad_url(tmp_path: Path, url: str, secret: str | None) -> None:
    d = make_dir(tmp_path, GOOD)
    for call in (lambda: engine.status(url, d), lambda: engine.apply(url, d)):
        with pytest.raises(ConfigError) as info:
            call()
        msg = assert_one_line(info.value, "URL")
        assert secret is None or secret not in msg, f"password fragment leaked in {msg!r}"
    assert list(tmp_path.iterdir()) == [d]


@pytest.fixture(params=["postgres", "mariadb"])
def server_url(request: pytest.FixtureRequest) -> str:
    """A fresh PG or MariaDB database URL (the cases below do not apply to SQLite)."""
    return str(request.getfixturevalue("pg_url" if request.param == "postgres" else "maria_url"))


def test_wrong_password(server_url: str, tmp_path: Path) -> None:
    d = make_dir(tmp_path, GOOD)
    encoded = quote(SECRET_PASSWORD, safe="")
    assert encoded in server_url
    wrong = server_url.replace(encoded, quote(SECRET_PASSWORD + "x", safe=""))
    err = expect(ConnectError, wrong, d)
    msg = assert_one_line(err, "credentials")
    for form in password_forms(SECRET_PASSWORD + "x"):
        assert form not in msg
    assert_untouched(server_url)


@contextmanager
def silent_server() -> Iterator[int]:
    """A loopback TCP server that accepts connections and never says a word; yields its port."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                accepted.append(conn)
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in accepted:
            conn.close()
        srv.close()


@pytest.mark.parametrize("scheme", ["postgres", "mysql"])
def test_unresponsive_server_is_a_bounded_wait(tmp_path: Path, scheme: str) -> None:
    d = make_dir(tmp_path, GOOD)
    outcome: dict[str, object] = {}

    def run(url: str) -> None:
        started = time.monotonic()
        try:
            engine.apply(url, d, Options(connect_timeout=2))
        except Exception as err:  # noqa: BLE001 - recorded, asserted below
            outcome["error"] = err
        outcome["elapsed"] = time.monotonic() - started

    with silent_server() as port:
        url = f"{scheme}://app:{quote(SECRET_PASSWORD, safe='')}@127.0.0.1:{port}/db"
        worker = threading.Thread(target=run, args=(url,), daemon=True)
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive(), "apply hung on a server that never answers"
    assert isinstance(outcome.get("error"), ConnectError), outcome
    assert outcome["elapsed"] < 6.0, outcome  # type: ignore[operator]
    assert_one_line(outcome["error"], f"127.0.0.1:{port}")  # type: ignore[arg-type]


def test_dry_run_on_fresh_database_writes_nothing(db_url: str, tmp_path: Path) -> None:
    d = make_dir(tmp_path, GOOD)
    report = engine.apply(db_url, d, dry_run=True)
    assert report.dry_run and report.applied == []
    assert report.pending == ["1_a.sql", "2_b.sql"]
    assert report.statements == 2
    assert_untouched(db_url)  # SQLite: the file is not even created
    st = engine.status(db_url, d)
    assert st.pending == ["1_a.sql", "2_b.sql"] and not st.table_exists


# --- the password never leaks through the CLI -----------------------------------------------


REFUSED_BEFORE_ANYTHING_RUNS = [
    # (id, content of 2_b.sql, error type, file:line:col, words in the message)
    ("unclosed-block-comment", "CREATE TABLE b (id INT);\n/* never closed\nCREATE TABLE c (id INT);\n",
     ParseError, "2_b.sql:2:1", "unclosed comment"),
    ("bom", b"\xef\xbb\xbfCREATE TABLE b (id INT);\n", FileEncodingError, "2_b.sql:1:1",
     "byte order mark"),
    ("nul-in-literal", b"CREATE TABLE b (id INT);\nINSERT INTO b VALUES ('a\x00b');\n",
     FileEncodingError, "2_b.sql:2:25", "NUL byte"),
    ("repeated-txmode", "-- atlas:txmode none\n-- atlas:txmode file\n\nCREATE TABLE b (id INT);\n",
     DirectiveError, "2_b.sql:2:1", "multiple txmode values"),
    ("unknown-txmode", "-- header\n-- atlas:txmode statement\n\nCREATE TABLE b (id INT);\n",
     DirectiveError, "2_b.sql:2:1", "unknown txmode"),
    ("txmode-all-in-file", "-- atlas:txmode all\n\nCREATE TABLE b (id INT);\n",
     DirectiveError, "2_b.sql:1:1", 'txmode "all" is not allowed'),
    ("empty-txmode", "-- atlas:txmode\n\nCREATE TABLE b (id INT);\n",
     DirectiveError, "2_b.sql:1:1", 'unknown txmode ""'),
    ("empty-delimiter", "-- atlas:delimiter\n\nCREATE TABLE b (id INT);\n",
     ParseError, "2_b.sql:1:1", "empty delimiter"),
    ("unclosed-double-quote", 'CREATE TABLE b (id INT);\nSELECT "x;\n',
     ParseError, "2_b.sql:2:8", "unclosed quote"),
    ("crlf-unclosed-block-comment", "CREATE TABLE b (id INT);\r\n/* x\r\nCREATE TABLE c (id INT);\r\n",
     ParseError, "2_b.sql:2:1", "unclosed comment"),
    ("invalid-utf8", b"CREATE TABLE b (id INT);\n-- caf\xe9\n", FileEncodingError, "2_b.sql:2:7",
     "invalid UTF-8 byte"),
    # UTF-16's NULs were blamed ("holds a NUL byte" at 1:4): say what the file is
    ("utf16", "CREATE TABLE b (id INT);\n".encode("utf-16"), FileEncodingError, "2_b.sql:1:1",
     "is UTF-16"),
]


@pytest.mark.parametrize("content, exc, where, words",
                         [c[1:] for c in REFUSED_BEFORE_ANYTHING_RUNS],
                         ids=[c[0] for c in REFUSED_BEFORE_ANYTHING_RUNS])
def test_bad_later_file_is_refused_before_anything_runs(
        db_url: str, tmp_path: Path, content: str | bytes, exc: type[MigrateError], where: str,
        words: str) -> None:
    """File 1 is fine, file 2 is broken: apply and validate both name file:line:col, and file 1
    never ran (Atlas applies file 1 first, then fails or, for the comment, silently drops c)."""
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id INT);\n", "2_b.sql": content})
    with pytest.raises(exc) as info:
        engine.apply(db_url, d)
    assert_one_line(info.value, where, words)
    assert_untouched(db_url)
    for command in (("validate",), ("apply",), ("apply", "--dry-run")):
        # through the CLI: exit 1, one line naming file:line:col, nothing written (no SQLite file)
        code, out = run_cli(tmp_path, *command, "--dir", str(d), "--url", db_url)
        line, = [x for x in out.splitlines() if x.strip()] or [""]
        assert code == 1 and line.startswith("error: ") and where in line and words in line, (command, out)
        assert "Traceback" not in out
        assert_untouched(db_url)


@pytest.mark.parametrize("head", ["/*!40101 SET NAMES utf8mb4 */;", "/*M!100100 SET @x = 1 */ SELECT 1;"])
def test_an_executable_comment_leading_a_statement_is_refused_on_mariadb(maria_url: str, tmp_path: Path,
                                                                         head: str) -> None:
    """MySQL runs ``/*! … */`` as code; leading comments are dropped from a statement (as Atlas
    does), so the server got ';' ("Query was empty", after file 1 and 2's first statement ran)
    or ran the rest without it, silently."""
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id INT);\n",
                            "2_b.sql": f"CREATE TABLE b (id INT);\n{head}\n"})
    for command in (("validate",), ("apply",), ("apply", "--dry-run")):
        code, out = run_cli(tmp_path, *command, "--dir", str(d), "--url", maria_url)
        line, = [x for x in out.splitlines() if x.strip()] or [""]
        assert code == 1 and "2_b.sql:2:1" in line and "executable comment" in line, (command, out)
    assert_untouched(maria_url)


def test_unclosed_dollar_quote_is_refused_on_postgres(pg_url: str, tmp_path: Path) -> None:
    bad = "CREATE TABLE b (id INT);\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1;\n"
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id INT);\n", "2_b.sql": bad})
    with pytest.raises(ParseError) as info:
        engine.apply(pg_url, d)
    assert_one_line(info.value, "2_b.sql:2:", "unclosed")
    assert_untouched(pg_url)


def run_cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``python -m pulumi_migrations_provider ARGS``; return (exit code, stdout + stderr)."""
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "pulumi_migrations_provider", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, env=full_env,
                          check=False)
    return proc.returncode, proc.stdout + proc.stderr


def assert_no_password(text: str, *passwords: str) -> None:
    for password in (SECRET_PASSWORD, *passwords):
        for form in password_forms(password):
            assert form not in text, f"password form {form!r} leaked in:\n{text}"


def test_password_never_leaks(server_url: str, tmp_path: Path,
                              request: pytest.FixtureRequest) -> None:
    failing = "CREATE TABLE b (id INT);\nINSERT INTO missing_table VALUES (1);\n"
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id INT);\n", "2_b.sql": failing})
    encoded = quote(SECRET_PASSWORD, safe="")
    wrong_password = SECRET_PASSWORD + "x"
    wrong = server_url.replace(encoded, quote(wrong_password, safe=""))
    closed = socket.socket()           # bound, never listening: connections are refused
    closed.bind(("127.0.0.1", 0))
    request.addfinalizer(closed.close)
    dead = server_url.split("@", 1)[0] + f"@127.0.0.1:{closed.getsockname()[1]}/db"

    # In-process: the raised errors and what was recorded in the revisions table.
    with pytest.raises(MigrateError) as failed:
        engine.apply(server_url, d, Options(tx_mode="none"))
    texts = [str(failed.value), failed.value.db_error]  # type: ignore[attr-defined]
    texts += [r.error or "" for r in dbcheck.revisions(server_url).values()]
    for url in (wrong, dead):
        with pytest.raises(ConnectError) as info:
            engine.apply(url, d, Options(connect_timeout=2))
        texts.append(str(info.value))
    assert any("missing_table" in t for t in texts)
    assert_no_password("\n".join(texts), wrong_password)

    # Through the CLI: every line it prints, in every format, on every failure path.
    unencoded = server_url.replace(encoded, SECRET_PASSWORD)
    runs = [  # (arguments, environment, expected to fail)
        (["apply", "--dir", str(d), "--url", server_url], None, True),
        (["apply", "--dir", str(d), "--url", server_url, "--format", "json"], None, True),
        (["status", "--dir", str(d), "--url", server_url], None, False),
        (["status", "--dir", str(d), "--url", server_url, "--format", "json"], None, False),
        (["apply", "--dir", str(d), "--dry-run"], {"DATABASE_URL": server_url}, False),
        (["apply", "--dir", str(d), "--url", wrong], None, True),
        (["status", "--dir", str(d), "--url", wrong, "--format", "json"], None, True),
        (["apply", "--dir", str(d), "--url", dead], None, True),
        (["apply", "--dir", str(d), "--url", unencoded], None, True),
    ]
    outputs = []
    for args, env, should_fail in runs:
        code, out = run_cli(tmp_path, *args, env=env)
        outputs.append(out)
        assert_no_password(out, wrong_password)
        assert (code != 0) is should_fail, f"{args} exit code {code}:\n{out}"
    assert "missing_table" in outputs[0] and "missing_table" in outputs[2], outputs[:3]


@pytest.mark.parametrize("url, words", [
    ("postgres://u:pw@127.0.0.1:1/db?connect_timeout=abc", "connect_timeout='abc' is not a whole number"),
    ("mysql://u:pw@127.0.0.1:1/db?charset=bogus", "charset='bogus' is not a character set"),
    ("mysql://u:pw@127.0.0.1:1/db?connect_timeout=abc", "connect_timeout='abc' is not a whole number"),
    ("postgres://u:pw@127.0.0.1:1/db?sslmode=bogus", "sslmode='bogus' is not a valid sslmode; use "
     "one of disable, allow, prefer, require, verify-ca, verify-full"),
    ("postgres://u:pw@127.0.0.1:1/db?target_session_attrs=main", "target_session_attrs='main' is "
     "not a valid target_session_attrs; use one of any, read-write"),
    ("postgres://u:pw@127.0.0.1:1/db?keepalives_idle=5s", "keepalives_idle='5s' is not a whole number"),
], ids=["pg-connect-timeout", "mysql-charset", "mysql-connect-timeout", "pg-sslmode",
        "pg-session-attrs", "pg-keepalives"])
def test_bad_url_parameters_are_one_line(tmp_path: Path, url: str, words: str) -> None:
    """Issue 8: the first two were tracebacks (ValueError, AttributeError inside the driver).
    Audit gap 5: MySQL's connect_timeout=abc was ignored, and libpq's "invalid sslmode value"
    ended with "check the host, port, credentials": none of them can be fixed there."""
    d = make_dir(tmp_path, GOOD)
    code, out = run_cli(tmp_path, "status", "--dir", str(d), "--url", url)
    assert code == 1 and "Traceback" not in out, out
    line, = [x for x in out.splitlines() if x.strip()]
    assert line.startswith("error: ") and words in line and "pw" not in line, line
    assert "check the host" not in line, line


def test_mysql_connect_timeout_parameter_bounds_the_connect(tmp_path: Path) -> None:
    """A server that accepts and never greets: ``?connect_timeout=1`` gives up after about a
    second, not after --connect-timeout's default 10 s (it was ignored)."""
    import socket
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    try:
        port = listener.getsockname()[1]
        d = make_dir(tmp_path, GOOD)
        started = time.monotonic()
        code, out = run_cli(tmp_path, "status", "--dir", str(d), "--url",
                            f"mysql://u:pw@127.0.0.1:{port}/db?connect_timeout=1")
        took = time.monotonic() - started
    finally:
        listener.close()
    assert code == 1 and "Traceback" not in out, out
    assert took < 6, (took, out)


def test_text_in_an_integer_revisions_column_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "bad.db"
    import sqlite3
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE atlas_schema_revisions (version text PRIMARY KEY, description "
                     "text, type integer, applied integer, total integer, executed_at datetime, "
                     "execution_time integer, error text, error_stmt text, hash text, "
                     "partial_hashes json, operator_version text)")
        conn.execute("INSERT INTO atlas_schema_revisions VALUES ('1', 'a', 'x', 'y', 1, "
                     "'2024-01-01 00:00:00', 1, '', '', 'h', 'null', 'v')")
    d = make_dir(tmp_path, GOOD)
    code, out = run_cli(tmp_path, "status", "--dir", str(d), "--url", f"sqlite://{db}")
    assert code == 1 and "Traceback" not in out, out
    assert "version 1: type, applied, total and execution_time must be integers" in out, out


@pytest.mark.parametrize("change, words", [
    ("applied = -1", "applied and total must not be negative, found -1 and 1"),
    ("total = -2", "applied and total must not be negative, found 1 and -2"),
    ("partial_hashes = 'garbage'", "partial_hashes is not a JSON array: 'garbage'"),
    ("partial_hashes = X'ff'", "partial_hashes is not a JSON array: b'\\xff'"),
], ids=["negative-applied", "negative-total", "partial-hashes-not-json", "partial-hashes-not-utf8"])
def test_a_broken_revisions_row_is_one_line_naming_the_column(tmp_path: Path, change: str,
                                                              words: str) -> None:
    """Audit of issue 8: applied = -1 made apply run the file's last statement again (a resume at
    index -1); broken partial_hashes said only "Expecting value: line 1 column 1 (char 0)"."""
    import sqlite3

    db = tmp_path / "app.db"
    url = f"sqlite://{db}"
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id INT);\n"})
    engine.apply(url, d)
    with sqlite3.connect(db) as conn:
        conn.execute(f"UPDATE atlas_schema_revisions SET {change}")
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id INT);\n", "2_b.sql": "CREATE TABLE b (id INT);\n"})
    for command in ("status", "apply"):
        code, out = run_cli(tmp_path, command, "--dir", str(d), "--url", url)
        line, = [x for x in out.splitlines() if x.strip()] or [""]
        assert code == 1 and line.startswith("error: reading ") and "version 1: " in line, out
        assert words in line and line.endswith("fix the row by hand"), line
    assert dbcheck.tables(url) == {"a", "atlas_schema_revisions"}  # nothing ran
