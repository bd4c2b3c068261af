"""Every example program runs under ``pulumi.runtime.set_mocks``, with the mocks forwarding the
dynamic resources to the real providers: the examples really migrate databases."""

from __future__ import annotations

import json
import runpy
import uuid
from pathlib import Path
from typing import Any, Callable

import pulumi
import pytest
import yaml
from pulumi.runtime import rpc

from pulumi_migrations_provider.migdir import MigrationDir
from tests import dbtools
from tests.grpc_harness import ForwardingMocks
from tests.servers import SECRET_PASSWORD

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
Handler = Callable[[pulumi.runtime.MockResourceArgs], "tuple[str, dict[str, Any]]"]


def run_example(name: str, config: dict[str, str], secret_keys: tuple[str, ...] = (),
                preview: bool = False,
                handlers: dict[str, Handler] | None = None) -> ForwardingMocks:
    """Run ``examples/<name>/__main__.py`` as its project would, under forwarding mocks."""
    project = yaml.safe_load((EXAMPLES / name / "Pulumi.yaml").read_text())["name"]
    mocks = ForwardingMocks(preview=preview, handlers=handlers)
    pulumi.runtime.set_mocks(mocks, project=project, stack="test", preview=preview)
    pulumi.runtime.set_all_config({f"{project}:{k}": v for k, v in config.items()},
                                  [f"{project}:{k}" for k in secret_keys])

    def program() -> None:
        runpy.run_path(str(EXAMPLES / name / "__main__.py"), run_name="__main__")

    pulumi.runtime.test(program)()
    return mocks


def _latest(name: str) -> str:
    version = MigrationDir.load(EXAMPLES / name / "migrations").latest_version
    assert version is not None
    return version


def test_example_directories_are_valid() -> None:
    for name in ("quickstart", "postgres", "tenants"):
        d = MigrationDir.load(EXAMPLES / name / "migrations")
        d.validate()
        assert len(d.files) == 2, name
        assert (EXAMPLES / name / "README.md").is_file()


def test_root_project_points_at_the_quickstart() -> None:
    root = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert root["main"].rstrip("/") == "examples/quickstart"
    assert root["runtime"]["name"] == "python"
    assert (ROOT / root["main"] / "__main__.py").is_file()


def test_quickstart(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/quickstart.db"
    preview = run_example("quickstart", {"database_url": url}, preview=True)
    files = ["20240101000000_create_users.sql", "20240102000000_create_posts.sql"]
    assert preview.outputs["app-schema"]["__pending"] == files  # what diff reads; never shown
    assert sorted(preview.outputs["app-schema"]["migrations"]) == files
    assert not (tmp_path / "quickstart.db").exists(), "preview must not write"

    mocks = run_example("quickstart", {"database_url": url})
    state = mocks.outputs["app-schema"]
    assert state["applied_version"] == _latest("quickstart")
    assert state["applied"] == ["20240101000000_create_users.sql",
                                "20240102000000_create_posts.sql"]
    assert mocks.outputs["migrations"]["latest_version"] == _latest("quickstart")
    assert dbtools.user_tables(url) == ["posts", "users"]

    again = run_example("quickstart", {"database_url": url})  # a second up applies nothing
    assert again.outputs["app-schema"]["applied"] == []


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_tenants(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    tenants = [f"t_{uuid.uuid4().hex[:8]}_{n}" for n in ("acme", "globex", "initech")]
    if backend == "sqlite":
        template = f"sqlite://{tmp_path}/{{tenant}}.db"
    else:
        pg = request.getfixturevalue("pg_server")
        for tenant in tenants:
            pg.create_database(tenant)
        template = pg.app_url("{tenant}")
    mocks = run_example("tenants", {"tenants": json.dumps(tenants), "url_template": template},
                        secret_keys=("url_template",))
    for tenant in tenants:
        state = mocks.outputs[f"tenant-{tenant}"]
        assert state["applied_version"] == _latest("tenants")
        assert rpc.is_rpc_secret(mocks.registered[f"tenant-{tenant}"].inputs["url"])
        assert dbtools.user_tables(template.format(tenant=tenant)) == ["projects", "tasks"]


def _pg_handlers(pg: Any, preview: bool) -> dict[str, Handler]:
    """Play pulumi-postgresql's part: create the role and database on the test server."""
    import psycopg
    from psycopg import sql

    def admin() -> Any:
        return psycopg.connect(host=pg.host, port=pg.port, user=pg.admin_user,
                               password=pg.admin_password, dbname="postgres", autocommit=True)

    def plain(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        return {k: (rpc.unwrap_rpc_secret(v) if rpc.is_rpc_secret(v) else v)
                for k, v in args.inputs.items()}

    def role(args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = plain(args)
        if not preview:
            with admin() as conn:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(inputs["name"]), sql.Literal(inputs["password"])))
        return inputs["name"], dict(args.inputs)

    def database(args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = plain(args)
        if not preview:
            with admin() as conn:
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(inputs["name"]), sql.Identifier(inputs["owner"])))
        return inputs["name"], dict(args.inputs)

    return {"postgresql:index/role:Role": role, "postgresql:index/database:Database": database}


def test_postgres(pg_server: Any) -> None:
    suffix = uuid.uuid4().hex[:8]
    config = {
        "pg_host": pg_server.host, "pg_port": str(pg_server.port),
        "pg_admin_user": pg_server.admin_user, "pg_admin_password": pg_server.admin_password,
        "app_password": SECRET_PASSWORD, "app_role": f"owner_{suffix}",
        "app_database": f"app_{suffix}",
    }
    secrets = ("pg_admin_password", "app_password")

    preview = run_example("postgres", config, secrets, preview=True,
                          handlers=_pg_handlers(pg_server, preview=True))
    # The role does not exist before up: pending is unknown (logged), the files are listed.
    assert "__pending" not in preview.outputs["app-schema"]
    assert len(preview.outputs["app-schema"]["migrations"]) == 2

    mocks = run_example("postgres", config, secrets, handlers=_pg_handlers(pg_server, False))
    state = mocks.outputs["app-schema"]
    assert state["applied_version"] == _latest("postgres")
    assert mocks.outputs["app"]["flavor"] == "postgresql"
    db_url = rpc.unwrap_rpc_secret(state["url"])  # the URL built from the role's outputs
    assert db_url.startswith(f"postgres://owner_{suffix}:")
    assert f"@{pg_server.host}:{pg_server.port}/app_{suffix}?" in db_url
    assert dbtools.user_tables(db_url) == ["accounts", "invoices"]
    for name in ("app", "app-schema"):
        shown = json.dumps({k: v for k, v in mocks.outputs[name].items()
                            if not rpc.is_rpc_secret(v)}, default=str)
        assert SECRET_PASSWORD not in shown
    assert "****" in mocks.outputs["app"]["display_url"]
