"""``AtlasMigrationManifests`` under Pulumi mocks, and the examples/kubernetes program.

The mock monitor records every RegisterResource request, so the tests see what the engine
would: resource types and names, inputs (secret inputs still wrapped), parents, explicit
dependencies and additional secret outputs. Each test installs fresh mocks and builds its
program inside the test, because a resource registers once per process.
"""

from __future__ import annotations

import asyncio
import base64
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi_migrations.manifests import (
    TIMEOUT_ANNOTATION,
    WAIT_FOR_ANNOTATION,
    AtlasMigrationManifests,
    AtlasMigrationManifestsArgs,
)
from pulumi_migrations_provider import errors
from pulumi_migrations_provider.k8s import directory_data, render_manifests
from pulumi_migrations_provider.migdir import MigrationDir

from tests.dirtools import make_dir
from tests.test_k8s import check_atlas_migration, crd_schema  # noqa: F401  (fixture)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "kubernetes"
URL = "mysql://app:pa%24%24word@mysql.default:3306/app"
CM_TYPE = "kubernetes:core/v1:ConfigMap"
SECRET_TYPE = "kubernetes:core/v1:Secret"
AM_TYPE = "kubernetes:db.atlasgo.io/v1alpha1:AtlasMigration"
COMPONENT_TYPE = "pulumi-migrations:index:AtlasMigrationManifests"


class Registration:
    """What the engine received for one resource."""

    def __init__(self, request: Any, inputs: dict) -> None:
        self.type: str = request.type
        self.name: str = request.name
        self.urn_parent: str = request.parent
        self.custom: bool = request.custom
        self.dependencies: list[str] = list(request.dependencies)
        self.secret_outputs: list[str] = list(request.additionalSecretOutputs)
        self.provider: str = request.provider
        self.retain_on_delete: bool = request.retainOnDelete
        self.delete_before_replace: bool = request.deleteBeforeReplace
        self.inputs = inputs


class RecordingMonitor(MockMonitor):
    """MockMonitor that keeps each RegisterResource request, in registration order."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[Registration] = []
        self.urns: dict[str, str] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registered.append(Registration(request, rpc.deserialize_properties(request.object)))
            self.urns[request.name] = response.urn
        return response

    def by_name(self, name: str) -> Registration:
        (found,) = [r for r in self.registered if r.name == name]
        return found


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, None]:
        return {}, None


@pytest.fixture
def monitor() -> RecordingMonitor:
    mon = RecordingMonitor(Mocks())
    pulumi.runtime.set_mocks(Mocks(), project="handoff", stack="test", preview=False, monitor=mon)
    return mon


def _unwrap(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else value


def _migrations(tmp_path: Path) -> Path:
    return make_dir(tmp_path, {"1_users.sql": "CREATE TABLE users (id int);\n",
                               "2_posts.sql": "CREATE TABLE posts (id int);\r\n"})


def _settle(*outputs: Any) -> Any:
    return pulumi.Output.all(*outputs)


# --- component ------------------------------------------------------------------------------------


def test_component_creates_three_resources_in_dependency_order(
        tmp_path: Path, monitor: RecordingMonitor, crd_schema: dict) -> None:  # noqa: F811
    root = _migrations(tmp_path)

    @pulumi.runtime.test
    def program() -> Any:
        res = AtlasMigrationManifests("app-db", directory=str(root),
                                      url=pulumi.Output.secret(URL), namespace="prod",
                                      labels={"team": "data"}, baseline="1",
                                      exec_order="linear-skip", backoff_limit=3)
        return _settle(res.urn, res.config_map_name, res.secret_name, res.migration_name,
                       res.migration.urn)

    program()
    expected = render_manifests(root, name="app-db", namespace="prod", url=URL,
                                labels={"team": "data"}, baseline="1",
                                exec_order="linear-skip", backoff_limit=3)
    cm_obj, secret_obj, am_obj = expected

    types = {r.name: r.type for r in monitor.registered}
    assert types == {"app-db": COMPONENT_TYPE, "app-db-dir": CM_TYPE, "app-db-url": SECRET_TYPE,
                     "app-db-migration": AM_TYPE}
    component = monitor.by_name("app-db")
    assert component.custom is False
    cm, secret, am = (monitor.by_name(n) for n in ("app-db-dir", "app-db-url", "app-db-migration"))
    for child in (cm, secret, am):
        assert child.urn_parent == monitor.urns["app-db"]
        assert child.custom is True

    # ConfigMap: the engine's data, name and labels; immutable.
    assert cm.inputs["apiVersion"] == "v1" and cm.inputs["kind"] == "ConfigMap"
    assert cm.inputs["data"] == cm_obj["data"]
    assert cm.inputs["immutable"] is True
    assert cm.inputs["metadata"] == cm_obj["metadata"]

    # Secret: the URL only here, as a wrapped secret input, and declared secret in outputs.
    assert rpc.is_rpc_secret(secret.inputs["data"]), secret.inputs["data"]
    assert base64.b64decode(_unwrap(secret.inputs["data"])["url"]).decode() == URL
    assert set(secret.secret_outputs) >= {"data", "stringData"}
    assert secret.inputs["type"] == "Opaque"
    assert secret.inputs["metadata"] == secret_obj["metadata"]

    # AtlasMigration: after (and depending on) both, spec as the engine renders it.
    assert am.inputs["apiVersion"] == "db.atlasgo.io/v1alpha1"
    assert am.inputs["kind"] == "AtlasMigration"
    assert am.inputs["spec"] == am_obj["spec"]
    assert am.inputs["metadata"] == am_obj["metadata"]
    assert set(am.dependencies) >= {monitor.urns["app-db-dir"], monitor.urns["app-db-url"]}
    order = [r.name for r in monitor.registered]
    assert order.index("app-db-migration") > max(order.index("app-db-dir"), order.index("app-db-url"))
    check_atlas_migration({k: am.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")},
                          crd_schema)

    # the password is nowhere but in the Secret
    for reg in monitor.registered:
        if reg.name != "app-db-url":
            assert "pa%24%24word" not in repr(reg.inputs) and "pa$$word" not in repr(reg.inputs)


def test_component_outputs(tmp_path: Path, monitor: RecordingMonitor) -> None:
    root = _migrations(tmp_path)
    expected_cm = render_manifests(root, name="app-db", url=URL)[0]["metadata"]["name"]

    @pulumi.runtime.test
    def program() -> Any:
        res = AtlasMigrationManifests("app-db", AtlasMigrationManifestsArgs(directory=root, url=URL))

        def check(values: list) -> None:
            assert values == [expected_cm, "app-db-url", "app-db"]
        return _settle(res.config_map_name, res.secret_name, res.migration_name).apply(check)

    program()


def test_wait_for_ready_and_named_secret_and_inline(tmp_path: Path, monitor: RecordingMonitor) -> None:
    root = _migrations(tmp_path)

    @pulumi.runtime.test
    def program() -> Any:
        res = AtlasMigrationManifests("app", directory=MigrationDir.load(root),
                                      url_secret="mysql-credentials", url_secret_key="dsn",
                                      name="orders-db", inline=True, wait_for_ready=True,
                                      ready_timeout_seconds=900)
        assert res.config_map is None and res.secret is None

        def check(values: list) -> None:
            assert values == [None, "mysql-credentials", "orders-db"]
        return _settle(res.config_map_name, res.secret_name, res.migration_name).apply(check)

    program()
    assert [r.type for r in monitor.registered] == [COMPONENT_TYPE, AM_TYPE]
    am = monitor.by_name("app-migration")
    assert am.inputs["metadata"]["name"] == "orders-db"
    assert am.inputs["metadata"]["annotations"] == {WAIT_FOR_ANNOTATION: "condition=Ready",
                                                    TIMEOUT_ANNOTATION: "900"}
    assert am.inputs["spec"]["urlFrom"] == {"secretKeyRef": {"name": "mysql-credentials", "key": "dsn"}}
    assert am.inputs["spec"]["dir"] == {"local": directory_data(root)}
    assert am.dependencies == []


def test_url_secret_and_namespace_may_be_outputs(tmp_path: Path, monitor: RecordingMonitor) -> None:
    root = _migrations(tmp_path)

    @pulumi.runtime.test
    def program() -> Any:
        res = AtlasMigrationManifests("app", directory=root,
                                      url_secret=pulumi.Output.from_input("creds"),
                                      namespace=pulumi.Output.from_input("team-a"))
        return _settle(res.migration.urn, res.secret_name)

    program()
    am = monitor.by_name("app-migration")
    assert am.inputs["spec"]["urlFrom"]["secretKeyRef"] == {"name": "creds", "key": "url"}
    assert am.inputs["metadata"]["namespace"] == "team-a"
    assert monitor.by_name("app-dir").inputs["metadata"]["namespace"] == "team-a"


def test_unknown_url_in_preview_keeps_the_rest_known(tmp_path: Path) -> None:
    mon = RecordingMonitor(Mocks())
    pulumi.runtime.set_mocks(Mocks(), project="handoff", stack="test", preview=True, monitor=mon)
    root = _migrations(tmp_path)

    @pulumi.runtime.test
    def program() -> Any:
        # like a URL built from a database resource that does not exist yet
        unknown: pulumi.Output[str] = pulumi.Output(
            resources=set(), future=_done(None), is_known=_done(False), is_secret=_done(True))
        res = AtlasMigrationManifests("app", directory=root, url=unknown)
        return res.urn

    program()
    data = mon.by_name("app-url").inputs["data"]
    assert rpc.is_rpc_secret(data) and isinstance(_unwrap(data), pulumi.output.Unknown)
    am_spec = mon.by_name("app-migration").inputs["spec"]
    assert am_spec["dir"]["configMapRef"]["name"] == mon.by_name("app-dir").inputs["metadata"]["name"]
    assert mon.by_name("app-dir").inputs["data"] == directory_data(root)


def _done(value: Any) -> Any:
    fut: asyncio.Future = asyncio.get_running_loop().create_future()
    fut.set_result(value)
    return fut


@pytest.mark.parametrize("kwargs,error", [
    (dict(url=URL, url_secret="s"), errors.ConfigError),
    (dict(), errors.ConfigError),
    (dict(url="oracle://u:p@h/db"), errors.ConfigError),
    (dict(url=URL, exec_order="whatever"), errors.ConfigError),
])
def test_component_errors_surface_while_the_program_runs(
        tmp_path: Path, monitor: RecordingMonitor, kwargs: dict, error: type) -> None:
    root = _migrations(tmp_path)
    with pytest.raises(error):
        AtlasMigrationManifests("bad", directory=root, **kwargs)


def test_component_refuses_a_stale_directory(tmp_path: Path, monitor: RecordingMonitor) -> None:
    root = _migrations(tmp_path)
    (root / "2_posts.sql").write_text("CREATE TABLE posts (id bigint);\n")
    with pytest.raises(errors.ChecksumError):
        AtlasMigrationManifests("bad", directory=root, url=URL)
    assert not any(r.type in (CM_TYPE, SECRET_TYPE, AM_TYPE) for r in monitor.registered)


# --- the example program ------------------------------------------------------------------------


def test_example_program_under_mocks(crd_schema: dict) -> None:  # noqa: F811
    project = yaml.safe_load((EXAMPLE / "Pulumi.yaml").read_text())
    assert project["name"] == "atlas-operator-handoff" and project["runtime"]["name"] == "python"
    monitor = RecordingMonitor(Mocks())
    pulumi.runtime.set_mocks(Mocks(), project=project["name"], stack="dev", preview=False,
                             monitor=monitor)
    db_url = "mysql://root:ex%40mple@mysql.default:3306/example"
    pulumi.runtime.set_all_config({"atlas-operator-handoff:dbUrl": db_url,
                                   "atlas-operator-handoff:namespace": "apps"},
                                  secret_keys=["atlas-operator-handoff:dbUrl"])

    @pulumi.runtime.test
    def program() -> Any:
        runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__")
        return _settle(*[pulumi.Output.from_input(1)])

    try:
        program()
    finally:
        pulumi.runtime.set_all_config({})
    types = sorted(r.type for r in monitor.registered)
    assert types == sorted([COMPONENT_TYPE, CM_TYPE, SECRET_TYPE, AM_TYPE])
    cm = monitor.by_name("example-db-dir")
    assert cm.inputs["data"] == directory_data(EXAMPLE / "migrations")
    assert cm.inputs["metadata"]["namespace"] == "apps"
    secret = monitor.by_name("example-db-url")
    assert rpc.is_rpc_secret(secret.inputs["data"])
    assert base64.b64decode(_unwrap(secret.inputs["data"])["url"]).decode() == db_url
    am = monitor.by_name("example-db-migration")
    check_atlas_migration({k: am.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")},
                          crd_schema)
    assert am.inputs["spec"]["dir"]["configMapRef"]["name"] == cm.inputs["metadata"]["name"]
