"""The password is masked where it can be one, never in our own words (issue 11): with the common
password ``postgres``, Atlas's JSON must still say ``"Driver":"postgres"`` and a message about the
maintenance database must stay readable, while every place the password really is stays masked.
Found by the review of issues 8-12 (``"Driver":"****","Scheme":"****"`` on a live server)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from pulumi_migrations_provider.target import mask_forms, masked_forms, scrub
from tests.dirtools import make_dir
from tests.servers import PgServer

PASSWORD = "postgres"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pulumi_migrations_provider", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def postgres_password_url(pg_server: PgServer) -> str:
    """A fresh database owned by a role whose password is ``postgres``."""
    from psycopg import sql

    name = "m_" + uuid.uuid4().hex[:12]
    with pg_server._admin_connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(name), sql.Literal(PASSWORD)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(name)))
    return f"postgres://{name}:{PASSWORD}@{pg_server.host}:{pg_server.port}/{name}?sslmode=disable"


def test_atlas_json_keeps_driver_and_scheme_on_a_live_server(postgres_password_url: str,
                                                            tmp_path: Path) -> None:
    d = make_dir(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (id INT);\n"})
    applied = _cli("apply", "--url", postgres_password_url, "--dir", f"file://{d}", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    for fmt in ("{{ json . }}", '{{ json . "  " }}'):
        proc = _cli("status", "--url", postgres_password_url, "--dir", f"file://{d}",
                    "--format", fmt, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["Env"]["Driver"] == "postgres" and doc["Env"]["URL"]["Scheme"] == "postgres"
        assert doc["Applied"][0]["Type"] == "applied" and doc["Status"] == "OK"
        assert doc["Env"]["URL"]["User"] == {}
    # The password itself is still never printed where it is one.
    wrong = postgres_password_url.replace("/m_", "/nosuch_m_")
    proc = _cli("status", "--url", wrong, "--dir", f"file://{d}", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1
    assert ":postgres@" not in proc.stderr and ":****@" in proc.stderr


def test_no_database_name_message_is_not_masked(tmp_path: Path) -> None:
    proc = _cli("status", "--url", "postgres://u:postgres@127.0.0.1:1", cwd=tmp_path)
    assert proc.returncode == 1
    line, = proc.stderr.splitlines()
    assert "u:****@127.0.0.1:1" in line and "naming the maintenance database explicitly" in line
    assert "'****'" not in line


def test_json_exemption_is_only_for_our_own_fields() -> None:
    forms = masked_forms(PASSWORD)
    assert mask_forms('{"Driver":"postgres","Error":"password=postgres"}', forms) == (
        '{"Driver":"postgres","Error":"password=****"}')
    assert mask_forms('{"Scheme": "postgres", "error": "auth postgres failed"}', forms) == (
        '{"Scheme": "postgres", "error": "auth **** failed"}')
    # Outside a JSON value of ours, the word is masked as before.
    assert scrub("bad password postgres", PASSWORD) == "bad password ****"
    assert scrub('{"Status":"OK","url":"postgres://u:postgres@h/db"}', PASSWORD) == (
        '{"Status":"OK","url":"postgres://u:****@h/db"}')


def test_a_database_named_like_the_password_is_not_masked(tmp_path: Path) -> None:
    """The password is never a URL's path: ``postgres://postgres:****@host/postgres`` read
    ``…@127.0.0.1:1/****`` (the database name masked) in our own connection error."""
    assert scrub("connecting to postgres://postgres:****@127.0.0.1:1/postgres: refused", PASSWORD) == (
        "connecting to postgres://postgres:****@127.0.0.1:1/postgres: refused")
    # A driver echoing the whole DSN: its password is masked, its path kept.
    assert scrub("dsn postgres://u:postgres@h:5432/postgres?x=1 bad", PASSWORD) == (
        "dsn postgres://u:****@h:5432/postgres?x=1 bad")
    assert scrub('{"Scheme":"postgres","Path":"/postgres","Error":"postgres"}', PASSWORD) == (
        '{"Scheme":"postgres","Path":"/postgres","Error":"****"}')
    d = make_dir(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (id INT);\n"})
    proc = _cli("status", "--url", "postgres://postgres:postgres@127.0.0.1:1/postgres", "--dir",
                f"file://{d}", cwd=tmp_path)
    assert proc.returncode == 1
    line, = proc.stderr.splitlines()
    assert "postgres://postgres:****@127.0.0.1:1/postgres:" in line, line
    assert ":postgres@" not in line and "/****" not in line


def test_long_text_is_masked_like_a_short_one() -> None:
    """A seed file's statement log (megabytes, searched with one pattern for all forms) is
    masked exactly as a short line is, whichever form of the password it holds."""
    forms = masked_forms("p@ss:w/rd#?%+^")
    assert len(forms) > 1
    filler = "INSERT INTO t VALUES ('pass', 'p@ss', 'w/rd');\n" * 3000
    assert len(filler) > 65536
    assert mask_forms(filler, forms) == filler
    for form in forms:
        short = f"x '{form}' y"
        assert mask_forms(filler + short, forms) == filler + mask_forms(short, forms) != filler + short
