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
    assert "plan" not in state and "pending" not in state  # outputs only: unknown in preview
    assert sorted(state["migrations"]) == ["1_users.sql", "2_posts.sql"]
    assert state["target_version"] == "2"


def test_preview_lists_pending_files_and_writes_nothing(tmp_path: Path) -> None:
    mocks = use_mocks(preview=True)
    d = make_dir(tmp_path, FILES)
    db_file = tmp_path / "preview.db"

    def program() -> pulumi.Output[Any]:
        app = Migration("app", url=f"sqlite://{db_file}", dir=str(d))
        return app.pending.apply(lambda p: None)

    run(program)
    assert mocks.outputs["app"]["__pending"] == ["1_users.sql", "2_posts.sql"]
    assert mocks.outputs["app"]["migrations"] == {"1_users.sql": {"statements": 1},
                                                  "2_posts.sql": {"statements": 1}}
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


def test_options_in_second_place_as_generated_sdks_take_them(tmp_path: Path) -> None:
    use_mocks()
    d = make_dir(tmp_path, FILES)
    url = f"sqlite://{tmp_path}/second.db"

    def program() -> pulumi.Output[Any]:
        group = pulumi.ComponentResource("test:index:Group", "group")
        child = pulumi.ResourceOptions(parent=group)
        db = Database("db", child, url=url)
        migrations = MigrationDirectory("migrations", child, path=str(d))
        app = Migration("app", child, database=db, directory=migrations)
        keyword = Migration("keyword", url=url, dir=str(d), opts=child)

        def check(args: list[Any]) -> None:
            *urns, version = args
            for urn in urns:
                assert "test:index:Group$pulumi-python:dynamic/migrations:" in urn, urn
            assert version == "2"
        return pulumi.Output.all(db.urn, migrations.urn, app.urn, keyword.urn,
                                 app.applied_version).apply(check)

    run(program)
    assert dbtools.user_tables(url) == ["posts", "users"]


@pytest.mark.parametrize("make, words", [
    (lambda: Migration("bad", MigrationArgs(url="sqlite://x.db", dir="m"), url="sqlite://y.db"),
     r"MigrationArgs or keyword arguments, not both \(keywords given: url\)"),
    (lambda: Database("bad", DatabaseArgs(url="sqlite://x.db"), revisions_schema="s"),
     "not both"),
    (lambda: MigrationDirectory("bad", pulumi.ResourceOptions(), pulumi.ResourceOptions(),
                                path="m"),
     "give the ResourceOptions once"),
    (lambda: MigrationDirectory("bad"), r"needs path= \(or a MigrationDirectoryArgs\)"),
    (lambda: Migration("bad", DatabaseArgs(url="sqlite://x.db")),  # type: ignore[arg-type]
     "args must be a MigrationArgs, not DatabaseArgs"),
], ids=["args-and-keywords", "database-args-and-keywords", "options-twice", "missing-path",
        "wrong-args"])
def test_constructor_misuse_is_a_type_error(make: Callable[[], Any], words: str) -> None:
    use_mocks()
    with pytest.raises(TypeError, match=words):
        make()


@pytest.mark.parametrize("given, seconds", [
    ("10s", 10.0), ("1m30s", 90.0), ("500ms", 0.5), ("2.5", 2.5), (5, 5.0), (None, 10.0),
], ids=["10s", "1m30s", "500ms", "seconds-text", "seconds", "default"])
def test_lock_timeout_takes_a_go_duration_or_seconds(tmp_path: Path, given: Any,
                                                     seconds: float) -> None:
    mocks = use_mocks()
    d = make_dir(tmp_path, FILES)
    url = f"sqlite://{tmp_path}/lock.db"

    def program() -> pulumi.Output[Any]:
        return Migration("app", url=url, dir=str(d), lock_timeout=given).applied_version

    run(program)
    assert mocks.outputs["app"]["lock_timeout"] == seconds
    assert dbtools.user_tables(url) == ["posts", "users"]


def test_a_bad_lock_timeout_fails_the_check(tmp_path: Path) -> None:
    use_mocks()
    d = make_dir(tmp_path, FILES)
    url = f"sqlite://{tmp_path}/lock.db"

    def program() -> pulumi.Output[Any]:
        return Migration("app", url=url, dir=str(d), lock_timeout="10x").applied_version

    with pytest.raises(Exception, match="lock_timeout: reading inputs: '10x' is not a duration "
                                        "such as '10s' or a number of seconds"):
        run(program)
    assert not (tmp_path / "lock.db").exists()


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
