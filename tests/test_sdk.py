"""The SDK's resources under ``pulumi.runtime.set_mocks``, with the mocks forwarding dynamic
resources to the real providers, so every test really migrates a database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pulumi
import pytest
from pulumi.runtime import rpc

from pulumi_migrations import (
    Database,
    DatabaseArgs,
    Migration,
    MigrationArgs,
    MigrationDirectory,
)
from pulumi_migrations_provider.errors import ConfigError
from pulumi_migrations_provider.providers.migration import PLAN_URL_UNKNOWN
from tests import dbtools
from tests.dirtools import make_dir
from tests.grpc_harness import ForwardingMocks
from tests.servers import APP_USER, SECRET_PASSWORD

FILES = {
    "1_users.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n",
    "2_posts.sql": "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER);\n",
}


def use_mocks(preview: bool = False) -> ForwardingMocks:
    mocks = ForwardingMocks(preview=preview)
    pulumi.runtime.set_mocks(mocks, project="sdktest", stack="test", preview=preview)
    return mocks


def run(program: Callable[[], pulumi.Output[Any]]) -> None:
    """Run ``program`` as a Pulumi program under the current mocks; it returns an Output whose
    ``apply`` callbacks assert."""
    pulumi.runtime.test(program)()


def _without_secrets(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return "[secret]"
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def test_migration_with_url_and_dir(tmp_path: Path) -> None:
    mocks = use_mocks()
    d = make_dir(tmp_path, FILES)
    url = f"sqlite://{tmp_path}/app.db"

    def program() -> pulumi.Output[Any]:
        app = Migration("app", url=url, dir=str(d))

        def check(args: list[Any]) -> None:
            version, applied, pending, status, url_secret = args
            assert version == "2"
            assert applied == ["1_users.sql", "2_posts.sql"]
            assert pending == []
            assert status == "OK"
            assert url_secret is True
            inputs = mocks.registered["app"].inputs
            assert mocks.registered["app"].typ == "pulumi-python:dynamic/migrations:Migration"
            assert rpc.is_rpc_secret(inputs["url"])
            assert not rpc.is_rpc_secret(inputs["__provider"])  # captures nothing secret
        return pulumi.Output.all(app.applied_version, app.applied, app.pending, app.status,
                                 pulumi.Output.from_input(app.url.is_secret())).apply(check)

    run(program)
    assert dbtools.user_tables(url) == ["posts", "users"]


def test_database_parts_and_directory_resource(tmp_path: Path) -> None:
    use_mocks()
    d = make_dir(tmp_path, FILES)
    path = str(tmp_path / "parts.db")

    def program() -> pulumi.Output[Any]:
        db = Database("db", driver="sqlite", database=path)
        migrations = MigrationDirectory("migrations", path=str(d))
        app = Migration("app", MigrationArgs(database=db, directory=migrations))

        def check(args: list[Any]) -> None:
            dialect, latest, files, applied_version, db_url = args
            assert dialect == "sqlite"
            assert latest == "2"
            assert [f["name"] for f in files] == ["1_users.sql", "2_posts.sql"]
            assert applied_version == "2"
            assert db_url == f"sqlite://{path}"
        return pulumi.Output.all(db.dialect, migrations.latest_version, migrations.files,
                                 app.applied_version, db.url).apply(check)

    run(program)
    assert dbtools.user_tables(f"sqlite://{path}") == ["posts", "users"]


def test_postgres_parts_keep_the_password_secret(pg_server: Any, tmp_path: Path) -> None:
    mocks = use_mocks()
    name = "t_sdk_parts"
    pg_server.create_database(name)
    d = make_dir(tmp_path, FILES)

    def program() -> pulumi.Output[Any]:
        db = Database("db", DatabaseArgs(driver="postgres", host=pg_server.host,
                                         port=pg_server.port, user=APP_USER,
                                         password=SECRET_PASSWORD, database=name,
                                         params={"sslmode": "disable"}))
        app = Migration("app", database=db, dir=str(d), lock_timeout=5)

        def check(args: list[Any]) -> None:
            display, version, flavor, secret = args
            assert display.startswith(f"postgres://{APP_USER}:****@")
            assert version == "2"
            assert flavor == "postgresql"
            assert secret is True
            for res in mocks.registered.values():
                shown = json.dumps(_without_secrets(res.inputs), default=str)
                assert SECRET_PASSWORD not in shown
            for state in mocks.outputs.values():
                shown = json.dumps(_without_secrets(state), default=str)
                assert SECRET_PASSWORD not in shown and "p%40ss" not in shown
        return pulumi.Output.all(db.display_url, app.applied_version, db.flavor,
                                 pulumi.Output.from_input(db.url.is_secret())).apply(check)

    run(program)
    url = pg_server.app_url(name)
    assert dbtools.user_tables(url) == ["posts", "users"]


def test_preview_with_a_database_not_created_yet(tmp_path: Path) -> None:
    mocks = use_mocks(preview=True)
    d = make_dir(tmp_path, FILES)

    def program() -> pulumi.Output[Any]:
        # Stands in for any resource creating the database: its outputs are unknown in preview.
        server = pulumi.CustomResource("test:index:Server", "server", {"endpoint": None})
        url = server.endpoint.apply(lambda e: f"sqlite://{e}/app.db")  # type: ignore[attr-defined]
        app = Migration("app", url=url, dir=str(d))
        return app.urn.apply(lambda _: None)

    run(program)
    state = mocks.outputs["app"]
    assert state["plan"] == PLAN_URL_UNKNOWN
    assert "pending" not in state  # unknown in preview
    assert state["target_version"] == "2"


def test_preview_lists_pending_files_and_writes_nothing(tmp_path: Path) -> None:
    mocks = use_mocks(preview=True)
    d = make_dir(tmp_path, FILES)
    db_file = tmp_path / "preview.db"

    def program() -> pulumi.Output[Any]:
        app = Migration("app", url=f"sqlite://{db_file}", dir=str(d))
        return app.pending.apply(lambda p: None)

    run(program)
    assert mocks.outputs["app"]["pending"] == ["1_users.sql", "2_posts.sql"]
    assert not db_file.exists()


@pytest.mark.parametrize("kwargs, words", [
    ({"url": "sqlite://x.db"}, "directory= and dir="),
    ({"dir": "m"}, "database= and url="),
    ({"url": "sqlite://x.db", "database": "db", "dir": "m"}, "database= and url="),
], ids=["no-dir", "no-target", "two-targets"])
def test_migration_rejects_ambiguous_arguments(kwargs: dict[str, Any], words: str) -> None:
    use_mocks()
    with pytest.raises(ConfigError, match=words):
        Migration("bad", **kwargs)


def test_database_rejects_url_and_parts() -> None:
    use_mocks()
    with pytest.raises(ConfigError, match="not both"):
        Database("bad", url="sqlite://x.db", driver="sqlite")


@pytest.mark.parametrize("cls", ["MigrationProvider", "DatabaseProvider", "DirectoryProvider"])
def test_providers_pickle_by_reference_from_the_installed_package(cls: str) -> None:
    import base64

    from pulumi.dynamic.dynamic import serialize_provider

    from pulumi_migrations_provider import providers

    provider = getattr(providers, cls)()  # constructible with no arguments
    raw = base64.b64decode(serialize_provider(provider))
    assert b"pulumi_migrations_provider.providers." in raw and cls.encode() in raw
    assert b"__main__" not in raw and len(raw) < 200  # a reference, not pickled code
    assert provider.serialize_as_secret_always is False  # captures nothing secret
