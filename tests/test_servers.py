"""Checks of the throwaway test servers and the URL fixtures built on them."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import sqlalchemy as sa

from tests import servers
from tests.conftest import ServerDb, _start_or_give_up
from tests.servers import (
    APP_USER,
    SECRET_PASSWORD,
    MariaDbServer,
    PgServer,
    ServerStartError,
    start_mariadb,
    start_postgres,
)

_DRIVERS = {"postgres": "postgresql+psycopg", "mysql": "mysql+pymysql", "sqlite": "sqlite"}


def _sqlalchemy_url(atlas_url: str, password: str | None = None) -> sa.engine.URL:
    """Translate one of our Atlas-style URLs into a SQLAlchemy URL (query dropped)."""
    parts = urlsplit(atlas_url)
    if parts.scheme == "sqlite":
        return sa.engine.make_url(f"sqlite:///{parts.netloc}{parts.path}")
    return sa.engine.URL.create(
        _DRIVERS[parts.scheme],
        username=unquote(parts.username or ""),
        password=unquote(parts.password or "") if password is None else password,
        host=parts.hostname,
        port=parts.port,
        database=parts.path.lstrip("/"),
    )


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_password_is_percent_encoded_in_urls(pg_url: str, maria_url: str) -> None:
    for url in (pg_url, maria_url):
        parts = urlsplit(url)
        assert SECRET_PASSWORD not in url
        assert parts.username == APP_USER
        assert unquote(parts.password or "") == SECRET_PASSWORD
        assert parts.hostname == "127.0.0.1"
    assert pg_url.startswith("postgres://") and pg_url.endswith("?sslmode=disable")
    assert maria_url.startswith("mysql://") and "?" not in maria_url


@pytest.mark.parametrize(
    ("fixture", "version_sql", "expected_prefix"),
    [
        ("pg_url", "SHOW server_version", "15."),
        ("maria_url", "SELECT VERSION()", "10.11."),
    ],
    ids=["postgres", "mariadb"],
)
def test_app_user_connects_and_server_version(
    request: pytest.FixtureRequest, fixture: str, version_sql: str, expected_prefix: str
) -> None:
    url = request.getfixturevalue(fixture)
    engine = sa.create_engine(_sqlalchemy_url(url))
    try:
        with engine.begin() as conn:
            version = conn.execute(sa.text(version_sql)).scalar_one()
            user = conn.execute(sa.text("SELECT CURRENT_USER")).scalar_one()
            conn.execute(sa.text("CREATE TABLE probe (id INT PRIMARY KEY)"))
            conn.execute(sa.text("INSERT INTO probe (id) VALUES (7)"))
            assert conn.execute(sa.text("SELECT id FROM probe")).scalar_one() == 7
    finally:
        engine.dispose()
    assert str(version).startswith(expected_prefix), version
    assert str(user).split("@")[0] == APP_USER


@pytest.mark.parametrize("fixture", ["pg_url", "maria_url"], ids=["postgres", "mariadb"])
def test_wrong_password_is_rejected(request: pytest.FixtureRequest, fixture: str) -> None:
    url = request.getfixturevalue(fixture)
    engine = sa.create_engine(_sqlalchemy_url(url, password=SECRET_PASSWORD + "x"))
    try:
        with pytest.raises(sa.exc.OperationalError):
            with engine.connect():
                pass
    finally:
        engine.dispose()


def test_app_user_may_create_databases(pg_server: PgServer, maria_server: MariaDbServer) -> None:
    for url, stmt in (
        (pg_server.app_url("postgres"), "CREATE DATABASE made_by_app"),
        (maria_server.app_url(""), "CREATE DATABASE made_by_app"),
    ):
        engine = sa.create_engine(_sqlalchemy_url(url), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(stmt))
                conn.execute(sa.text("DROP DATABASE made_by_app"))
        finally:
            engine.dispose()


def test_server_db_fixture(server_db: ServerDb) -> None:
    other = server_db.fresh_url()
    assert other != server_db.url
    app_engine = sa.create_engine(_sqlalchemy_url(server_db.url))
    admin_engine = sa.create_engine(server_db.admin_url_for_db)
    other_engine = sa.create_engine(_sqlalchemy_url(other))
    try:
        assert sa.inspect(app_engine).get_table_names() == []
        with app_engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE seen_by_admin (id INT)"))
        assert sa.inspect(admin_engine).get_table_names() == ["seen_by_admin"]
        assert sa.inspect(other_engine).get_table_names() == []
    finally:
        for engine in (app_engine, admin_engine, other_engine):
            engine.dispose()
    expected = {"sqlite": "sqlite", "postgresql": "postgresql", "mariadb": "mysql"}
    assert admin_engine.dialect.name in (expected[server_db.dialect], server_db.dialect)


def test_db_url_is_fresh_and_empty(db_url: str) -> None:
    engine = sa.create_engine(_sqlalchemy_url(db_url))
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_session_servers_are_fast_not_durable(pg_server: PgServer) -> None:
    engine = sa.create_engine(pg_server.admin_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW fsync")).scalar_one() == "off"
    finally:
        engine.dispose()


def test_passwords_stay_out_of_repr(pg_server: PgServer, maria_server: MariaDbServer) -> None:
    for server in (pg_server, maria_server):
        text = repr(server)
        assert server.admin_password not in text
        assert SECRET_PASSWORD not in text


@pytest.mark.parametrize(
    ("start", "durable_sql", "durable_value"),
    [
        (start_postgres, "SHOW fsync", "on"),
        (start_mariadb, "SELECT @@innodb_flush_log_at_trx_commit", 1),
    ],
    ids=["postgres", "mariadb"],
)
def test_durable_server_starts_and_stops_cleanly(
    start, durable_sql: str, durable_value: object  # type: ignore[no-untyped-def]
) -> None:
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="pm-durable-", dir="/tmp"))
    os.chmod(base, 0o755)
    try:
        try:
            server = start(base, durable=True)
        except ServerStartError as err:
            if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
                raise
            pytest.skip(str(err).splitlines()[0])
        try:
            engine = sa.create_engine(server.admin_url)
            try:
                with engine.connect() as conn:
                    assert conn.execute(sa.text(durable_sql)).scalar_one() == durable_value
            finally:
                engine.dispose()
        finally:
            server.stop()
        assert server.process.poll() is not None
        assert not _port_open(server.port)
        assert server not in servers._RUNNING
        server.stop()  # idempotent
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_missing_postgres_binaries_give_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(servers, "PG_BIN", tmp_path / "nowhere")
    with pytest.raises(ServerStartError) as info:
        start_postgres(tmp_path)
    assert info.value.server == "postgresql"
    assert "postgresql-15" in str(info.value)


def _failing_start(base: Path) -> PgServer:
    raise ServerStartError("postgresql", "boom for test")


def test_unstartable_server_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="boom for test"):
        next(_start_or_give_up("postgresql", _failing_start))


def test_unstartable_server_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="boom for test"):
        next(_start_or_give_up("postgresql", _failing_start))


@pytest.mark.skipif(os.geteuid() != 0, reason="only root switches to the postgres OS user")
def test_postgres_base_dir_unreachable_by_postgres_user(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "inner").mkdir()
    with pytest.raises(ServerStartError, match="cannot reach"):
        start_postgres(private / "inner")
