"""Kubernetes handoff, issue 9: a dev database for the operator (``devURL`` / ``devURLFrom``) and
superseded ConfigMaps made prunable (one label on every object), checked against the CRD and with
kubectl's own YAML reader (``kubectl label --local``, no cluster needed).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi_migrations.manifests import AtlasMigrationManifests
from pulumi_migrations_provider import errors
from pulumi_migrations_provider.k8s import (
    PRUNE_LABEL,
    dump_yaml,
    prune_selector,
    render_manifests,
)

from tests.dirtools import make_dir
from tests.test_cli import run
from tests.test_k8s import _run, check_atlas_migration, check_secret, crd_schema, kubectl  # noqa: F401
from tests.test_k8s_component import AM_TYPE, SECRET_TYPE, RecordingMonitor, monitor  # noqa: F401

DEV_PASSWORD = "d3v#p@ss"
DEV_URL = "mysql://root:d3v%23p%40ss@mysql-dev.default:3306/"
DEV_URL_PLAIN = "postgres://postgres@pg-dev.default:5432/dev?sslmode=disable"


def _dir(tmp_path: Path, extra: str = "") -> Path:
    files = {"1_users.sql": "CREATE TABLE users (id int);\n"}
    if extra:
        files["2_posts.sql"] = extra
    return make_dir(tmp_path, files)


# --- devURL / devURLFrom --------------------------------------------------------------------------


def test_dev_url_without_password_goes_inline(tmp_path: Path, crd_schema: dict) -> None:  # noqa: F811
    objs = render_manifests(_dir(tmp_path), name="app", url_secret="db", dev_url=DEV_URL_PLAIN)
    assert [o["kind"] for o in objs] == ["ConfigMap", "AtlasMigration"]
    am = objs[-1]
    assert am["spec"]["devURL"] == DEV_URL_PLAIN and "devURLFrom" not in am["spec"]
    check_atlas_migration(am, crd_schema)


def test_dev_url_with_password_goes_into_a_secret(tmp_path: Path, crd_schema: dict) -> None:  # noqa: F811
    objs = render_manifests(_dir(tmp_path), name="app", namespace="prod", url=DEV_URL.replace("-dev", ""),
                            dev_url=DEV_URL, dev_url_secret_key="dsn")
    assert [(o["kind"], o["metadata"]["name"]) for o in objs][1:] == [
        ("Secret", "app-url"), ("Secret", "app-dev-url"), ("AtlasMigration", "app")]
    dev_secret, am = objs[2], objs[3]
    check_secret(dev_secret)
    assert base64.b64decode(dev_secret["data"]["dsn"]).decode() == DEV_URL
    assert dev_secret["metadata"]["namespace"] == "prod"
    assert am["spec"]["devURLFrom"] == {"secretKeyRef": {"name": "app-dev-url", "key": "dsn"}}
    assert "devURL" not in am["spec"]
    check_atlas_migration(am, crd_schema)
    # The password is in the Secrets only (base64), never in the AtlasMigration or ConfigMap.
    for obj in (objs[0], am):
        text = dump_yaml([obj])
        assert DEV_PASSWORD not in text and "d3v%23p%40ss" not in text


def test_dev_url_secret_is_referenced(tmp_path: Path, crd_schema: dict) -> None:  # noqa: F811
    (cm, am) = render_manifests(_dir(tmp_path), name="app", url_secret="db",
                                dev_url_secret="dev-db", dev_url_secret_key="url")
    assert am["spec"]["devURLFrom"] == {"secretKeyRef": {"name": "dev-db", "key": "url"}}
    check_atlas_migration(am, crd_schema)


def test_dev_url_and_dev_url_secret_are_exclusive(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigError, match="at most one of dev_url and dev_url_secret"):
        render_manifests(_dir(tmp_path), name="app", url_secret="db", dev_url=DEV_URL,
                         dev_url_secret="dev-db")
    res = run("manifests", "--name", "app", "--dir", _dir(tmp_path), "--url-secret", "db",
              "--dev-url", DEV_URL, "--dev-url-secret", "dev-db")
    assert res.exit_code == 2 and "--dev-url" in res.stderr and DEV_PASSWORD not in res.stderr


def test_cli_dev_url_flags_read_back_by_kubectl(tmp_path: Path, kubectl: str) -> None:  # noqa: F811
    d = _dir(tmp_path)
    res = run("manifests", "--name", "app", "--dir", d, "--url-secret", "db", "--dev-url", DEV_URL)
    assert res.exit_code == 0, res.output
    (tmp_path / "out.yaml").write_text(res.stdout)
    names = _run(kubectl, "label", "--local", "-f", str(tmp_path / "out.yaml"), "x=y", "-o", "name").split()
    assert names[1:] == ["secret/app-dev-url", "atlasmigration.db.atlasgo.io/app"]
    objs = list(yaml.safe_load_all(res.stdout))
    assert objs[-1]["spec"]["devURLFrom"]["secretKeyRef"]["name"] == "app-dev-url"
    res = run("manifests", "--name", "app", "--dir", d, "--url-secret", "db",
              "--dev-url-secret", "dev-db", "--dev-url-secret-key", "dsn")
    assert list(yaml.safe_load_all(res.stdout))[-1]["spec"]["devURLFrom"] == {
        "secretKeyRef": {"name": "dev-db", "key": "dsn"}}


# --- prunable ConfigMaps ---------------------------------------------------------------------------


def test_superseded_configmap_is_selected_for_pruning(tmp_path: Path, kubectl: str) -> None:  # noqa: F811
    """What ``kubectl apply --server-side --prune -l SEL --prune-allowlist=core/v1/ConfigMap``
    deletes: the objects carrying SEL, of an allowed kind, that the applied set lacks. The old
    ConfigMap carries the label and is not in the new set; another app's ConfigMap lacks it."""
    old = render_manifests(_dir(tmp_path / "v1"), name="app", url_secret="db")
    new = render_manifests(_dir(tmp_path / "v2", "CREATE TABLE posts (id int);\n"), name="app",
                           url_secret="db")
    other = render_manifests(_dir(tmp_path / "o"), name="app2", url_secret="db")
    selector = prune_selector("app")
    assert selector == f"{PRUNE_LABEL}=app"
    for obj in old + new:
        assert obj["metadata"]["labels"][PRUNE_LABEL] == "app"
    old_cm, new_cm = old[0]["metadata"]["name"], new[0]["metadata"]["name"]
    assert old_cm != new_cm

    def select(objs: list[dict]) -> set[str]:
        """The objects ``-l selector`` picks, each one's labels read back by kubectl."""
        key, value = selector.split("=")
        picked = set()
        for i, obj in enumerate(objs):
            path = tmp_path / f"obj{i}.yaml"
            path.write_text(dump_yaml([obj]))
            labels = dict(line.split("=", 1) for line in _run(
                kubectl, "label", "--local", "-f", str(path), "--list").split())
            if labels.get(key) == value:
                picked.add(f"{obj['kind']}/{obj['metadata']['name']}")
        return picked

    in_cluster = select(old + other)     # before the second apply
    applied = select(new)                # -l keeps every object of the new set
    assert applied == {f"ConfigMap/{new_cm}", "AtlasMigration/app"}
    pruned = {n for n in in_cluster - applied if n.startswith("ConfigMap/")}  # the allowlist
    assert pruned == {f"ConfigMap/{old_cm}"}


def test_long_names_give_a_valid_label_value(tmp_path: Path) -> None:
    name = "a" * 70 + "-db"
    (cm, am) = render_manifests(_dir(tmp_path), name=name, url_secret="db")
    value = am["metadata"]["labels"][PRUNE_LABEL]
    assert len(value) <= 63 and value == cm["metadata"]["labels"][PRUNE_LABEL]
    assert prune_selector(name) == f"{PRUNE_LABEL}={value}"


def test_help_names_the_prune_command() -> None:
    text = "".join(run("manifests", "--help").stdout.split())
    assert "--prune-lpulumi-migrations/atlas-migration=NAME--prune-allowlist=core/v1/ConfigMap" in text


def test_help_recommends_server_side_apply_and_says_why() -> None:
    text = " ".join(run("manifests", "--help").stdout.split())
    assert "kubectl apply --server-side -f -" in text
    assert "last-applied-configuration annotation, which fails above 256 KiB" in text, text


# --- the Pulumi component ---------------------------------------------------------------------------


def test_component_dev_url_secret_and_configmap_replaced(tmp_path: Path,
                                                         monitor: RecordingMonitor) -> None:  # noqa: F811
    """A dev URL with a password: a ``<resource>-dev-url`` Secret (marked secret) and devURLFrom.
    The ConfigMap is one Pulumi resource (``<resource>-dir``) whose Kubernetes name follows the
    content: a change is a replacement (create the new one, repoint, delete the old), and
    nothing asks Pulumi to retain the old one, so none is left to prune."""
    root = _dir(tmp_path)

    @pulumi.runtime.test
    def program() -> Any:
        res = AtlasMigrationManifests("app-db", directory=str(root), url_secret="db",
                                      dev_url=pulumi.Output.secret(DEV_URL))
        return pulumi.Output.all(res.urn, res.migration.urn)

    program()
    dev = monitor.by_name("app-db-dev-url")
    assert dev.type == SECRET_TYPE and set(dev.secret_outputs) >= {"data", "stringData"}
    am = monitor.by_name("app-db-migration")
    assert am.type == AM_TYPE
    assert am.inputs["spec"]["devURLFrom"] == {"secretKeyRef": {"name": "app-db-dev-url", "key": "url"}}
    assert monitor.urns["app-db-dev-url"] in am.dependencies
    for reg in monitor.registered:
        if reg.name != "app-db-dev-url":
            assert DEV_PASSWORD not in repr(reg.inputs) and "d3v%23p%40ss" not in repr(reg.inputs)
    cm = monitor.by_name("app-db-dir")
    assert cm.inputs["metadata"]["labels"] == {PRUNE_LABEL: "app-db"}
    # A replacement creates the new ConfigMap first and deletes the old one: not retained.
    assert (cm.retain_on_delete, cm.delete_before_replace) == (False, False)
    changed = render_manifests(_dir(tmp_path / "v2", "SELECT 1;\n"), name="app-db", url_secret="db")
    assert changed[0]["metadata"]["name"] != cm.inputs["metadata"]["name"]  # same resource, new name


def test_component_dev_url_plain_inline_and_dev_secret_output(tmp_path: Path,
                                                               monitor: RecordingMonitor) -> None:  # noqa: F811
    root = _dir(tmp_path)

    @pulumi.runtime.test
    def program() -> Any:
        a = AtlasMigrationManifests("a", directory=str(root), url_secret="db", dev_url=DEV_URL_PLAIN)
        b = AtlasMigrationManifests("b", directory=str(root), url_secret="db",
                                    dev_url_secret=pulumi.Output.from_input("dev-db"),
                                    dev_url_secret_key="dsn")
        assert a.dev_secret is None and b.dev_secret is None
        return pulumi.Output.all(a.migration.urn, b.migration.urn)

    program()
    assert monitor.by_name("a-migration").inputs["spec"]["devURL"] == DEV_URL_PLAIN
    assert monitor.by_name("b-migration").inputs["spec"]["devURLFrom"] == {
        "secretKeyRef": {"name": "dev-db", "key": "dsn"}}
    assert not [r for r in monitor.registered if r.name.endswith("-dev-url")]
    with pytest.raises(errors.ConfigError, match="at most one of dev_url"):
        AtlasMigrationManifests("c", directory=str(root), url_secret="db", dev_url=DEV_URL,
                                dev_url_secret="x")
