"""Shared pytest fixtures: throwaway real database servers and per-test database URLs.

Server fixtures are session-scoped and lazy: a test that only uses SQLite never
starts PostgreSQL or MariaDB. When a server cannot start, tests that need it are
skipped with the reason, except under CI (``CI=true``), where they error.

URL fixtures return Atlas-style URLs for a fresh, empty database per test,
connecting as the ``app`` user (password ``tests.servers.SECRET_PASSWORD``,
percent-encoded).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.servers import (
    MariaDbServer,
    PgServer,
    ServerStartError,
    start_mariadb,
    start_postgres,
)


def _in_ci() -> bool:
    """True when running under CI, where a server that cannot start is a failure."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _server_base_dir(name: str) -> Path:
    """Return a new world-searchable temp dir (the ``postgres`` OS user must reach it)."""
    path = Path(tempfile.mkdtemp(prefix=f"pm-{name}-", dir="/tmp"))
    os.chmod(path, 0o755)
    return path


def _start_or_give_up(
    name: str, start: Callable[[Path], PgServer | MariaDbServer]
) -> Iterator[PgServer | MariaDbServer]:
    """Start a server for the session, stop it and remove its files at the end.

    Fails the requesting test under CI, skips it otherwise, when the server
    cannot start (pytest caches the outcome, so it is tried once per session).
    """
    base = _server_base_dir(name)
    try:
        server = start(base)
    except ServerStartError as err:
        shutil.rmtree(base, ignore_errors=True)
        if _in_ci():
            pytest.fail(f"CI=true and the {name} test server cannot start: {err}", pytrace=False)
        pytest.skip(f"{name} test server unavailable: {err.reason.splitlines()[0]}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL 15 server on 127.0.0.1 for the whole session (started on first use)."""
    yield from _start_or_give_up("postgresql", start_postgres)  # type: ignore[misc]


@pytest.fixture(scope="session")
def maria_server() -> Iterator[MariaDbServer]:
    """A MariaDB 10.11 server on 127.0.0.1 for the whole session (started on first use)."""
    yield from _start_or_give_up("mariadb", start_mariadb)  # type: ignore[misc]


def _fresh_name() -> str:
    """Return a new unique database name (lowercase, safe unquoted on every dialect)."""
    return "t_" + uuid.uuid4().hex[:16]


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """Atlas URL ``postgres://app:…@127.0.0.1:PORT/DB?sslmode=disable`` of a fresh database."""
    name = _fresh_name()
    pg_server.create_database(name)
    return pg_server.app_url(name)


@pytest.fixture
def maria_url(maria_server: MariaDbServer) -> str:
    """Atlas URL ``mysql://app:…@127.0.0.1:PORT/DB`` of a fresh MariaDB database."""
    name = _fresh_name()
    maria_server.create_database(name)
    return maria_server.app_url(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """Atlas URL ``sqlite://<tmp_path>/test.db`` (the file does not exist yet)."""
    return f"sqlite://{tmp_path}/test.db"


_URL_FIXTURES = {"sqlite": "sqlite_url", "postgres": "pg_url", "mariadb": "maria_url"}


@pytest.fixture(params=list(_URL_FIXTURES), ids=list(_URL_FIXTURES))
def db_url(request: pytest.FixtureRequest) -> str:
    """Atlas URL of a fresh empty database, parametrized: sqlite, postgres, mariadb."""
    return str(request.getfixturevalue(_URL_FIXTURES[request.param]))


@dataclass
class ServerDb:
    """A fresh database on one of the test servers (or a SQLite file).

    Attributes:
        url: Atlas-style URL connecting as the ``app`` user.
        dialect: "sqlite", "postgresql" or "mariadb".
        admin_url_for_db: SQLAlchemy URL of the same database with superuser
            credentials (plain ``sqlite:///path`` for SQLite), for out-of-band checks.
    """

    url: str
    dialect: str
    admin_url_for_db: str
    _fresh: Callable[[], str] = field(repr=False)

    def fresh_url(self) -> str:
        """Return the Atlas URL of another fresh empty database on the same server."""
        return self._fresh()


def _sqlite_db(tmp_path: Path) -> ServerDb:
    counter = iter(range(1, 1_000_000))

    def fresh() -> str:
        return f"sqlite://{tmp_path}/test{next(counter)}.db"

    return ServerDb(
        url=f"sqlite://{tmp_path}/test.db",
        dialect="sqlite",
        admin_url_for_db=f"sqlite:///{tmp_path}/test.db",
        _fresh=fresh,
    )


def _server_db(server: PgServer | MariaDbServer, dialect: str) -> ServerDb:
    def fresh() -> str:
        name = _fresh_name()
        server.create_database(name)
        return server.app_url(name)

    name = _fresh_name()
    server.create_database(name)
    return ServerDb(
        url=server.app_url(name),
        dialect=dialect,
        admin_url_for_db=server.admin_url_for(name),
        _fresh=fresh,
    )


@pytest.fixture(params=list(_URL_FIXTURES), ids=list(_URL_FIXTURES))
def server_db(request: pytest.FixtureRequest, tmp_path: Path) -> ServerDb:
    """A fresh database per test with its admin URL, parametrized: sqlite, postgres, mariadb."""
    if request.param == "sqlite":
        return _sqlite_db(tmp_path)
    if request.param == "postgres":
        return _server_db(request.getfixturevalue("pg_server"), "postgresql")
    return _server_db(request.getfixturevalue("maria_server"), "mariadb")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset DATABASE_URL and KUBECONFIG so no test picks up the developer's settings."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The suite's copied test data (``tests/testdata``; provenance in its SOURCE.md)."""
    from tests.paths import TESTDATA
    return TESTDATA


@pytest.fixture(scope="module")
def provider_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The SDK's real provider server (``python -m pulumi.dynamic`` over gRPC), one per test
    module (tests.grpc_harness.ProviderServer)."""
    from tests.grpc_harness import ProviderServer

    srv = ProviderServer(tmp_path_factory.mktemp("provider-cwd"))
    yield srv
    srv.close()
