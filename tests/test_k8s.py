"""Tests for the Kubernetes handoff (``pulumi_migrations_provider.k8s``).

Checked against real references: the operator's CRD (schema validation plus a walk that every
emitted field is declared, since the API server silently prunes unknown fields), the operator's
own samples, and ``kubectl`` itself (``create configmap --from-file``, ``create secret``, and
``kustomize`` as a Go YAML reader). Under ``CI=true`` a missing kubectl fails the tests.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pulumi_migrations_provider import errors
from pulumi_migrations_provider.k8s import (
    API_VERSION,
    CONFIGMAP_MAX_BYTES,
    KIND,
    PRUNE_LABEL,
    config_map_name,
    directory_data,
    dump_yaml,
    render_manifests,
)
from pulumi_migrations_provider.migdir import MigrationDir

from tests.dirtools import make_dir
from tests.paths import CRDS, OPERATOR_SAMPLES

CRD_PATH = CRDS / "db.atlasgo.io_atlasmigrations.yaml"
SAMPLES = OPERATOR_SAMPLES
EXAMPLE_DIR = Path(__file__).resolve().parents[1] / "examples" / "kubernetes" / "migrations"

PASSWORD = "s3cr#t/p@ss:wörd"
URL = "mysql://root:s3cr%23t%2Fp%40ss%3Aw%C3%B6rd@mysql.default:3306/app"

# Contents that stress byte exactness; every one must survive ConfigMap and YAML unchanged.
TRICKY: dict[str, bytes] = {
    "1_plain.sql": b"CREATE TABLE t1 (id int);\n",
    "2_crlf.sql": b"CREATE TABLE t2 (\r\n  id int\r\n);\r\n",
    "3_no_final_newline.sql": b"CREATE TABLE t3 (id int);",
    "4_non_ascii.sql": "-- Grüße, 日本語, emoji 🎉\nCREATE TABLE t4 (name text DEFAULT 'é');\n".encode(),
    "5_tabs.sql": b"CREATE TABLE t5 (\n\tid int,\n\tname text\t-- tab before comment\n);\n",
    "6_trailing_ws.sql": b"CREATE TABLE t6 (id int);   \nSELECT 1;\t\n",
    "7_leading_ws.sql": b"\n\n  CREATE TABLE t7 (id int);\n\n\n",
    "8_tab_first.sql": b"\tCREATE TABLE t8 (id int);\n",
    "9_ignored.sql": b"-- atlas:sum ignore\nSELECT 9;\n",
}


# --- helpers --------------------------------------------------------------------------------------


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def kubectl() -> str:
    """Path of kubectl; skipped when missing, except under CI where that is a failure."""
    path = shutil.which("kubectl")
    if path is None:
        msg = "kubectl not found; install Debian's kubernetes-client (make system-deps)"
        if _in_ci():
            pytest.fail(f"CI=true: {msg}", pytrace=False)
        pytest.skip(msg)
    return path


def _run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> str:
    proc = subprocess.run(args, input=stdin, capture_output=True, text=True, cwd=cwd,
                          timeout=60, env={**os.environ, "KUBECONFIG": "/dev/null"})
    assert proc.returncode == 0, f"{args[:3]} failed: {proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="session")
def crd_schema() -> dict:
    crd = yaml.safe_load(CRD_PATH.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    return version["schema"]["openAPIV3Schema"]


_OBJECT_META = {"name", "namespace", "labels", "annotations"}


def undeclared_fields(obj: Any, schema: dict, path: str = "") -> list[str]:
    """Paths in ``obj`` the API server would prune: keys the structural schema does not declare."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    if isinstance(obj, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        out: list[str] = []
        for key, value in obj.items():
            where = f"{path}.{key}"
            if path == ".metadata":
                out += [] if key in _OBJECT_META else [where]
            elif props is not None and key in props:
                out += undeclared_fields(value, props[key], where)
            elif isinstance(extra, dict):
                out += undeclared_fields(value, extra, where)
            else:
                out.append(where)
        return out
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in undeclared_fields(v, schema["items"], f"{path}[{i}]")]
    return []


def check_atlas_migration(obj: dict, schema: dict) -> None:
    """Validate an AtlasMigration like the API server: schema, no prunable field, metadata."""
    assert obj["apiVersion"] == API_VERSION and obj["kind"] == KIND
    jsonschema.Draft7Validator(schema).validate(obj)
    assert undeclared_fields(obj, schema) == []
    assert set(obj) == {"apiVersion", "kind", "metadata", "spec"}


def check_config_map(obj: dict) -> None:
    """Shape of a v1 ConfigMap as the API server validates it."""
    assert obj["apiVersion"] == "v1" and obj["kind"] == "ConfigMap"
    assert set(obj) <= {"apiVersion", "kind", "metadata", "data", "binaryData", "immutable"}
    assert set(obj["metadata"]) <= _OBJECT_META
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in obj["data"].items())
    assert sum(len(v.encode()) for v in obj["data"].values()) <= CONFIGMAP_MAX_BYTES


def check_secret(obj: dict) -> None:
    assert obj["apiVersion"] == "v1" and obj["kind"] == "Secret" and obj["type"] == "Opaque"
    assert set(obj) <= {"apiVersion", "kind", "metadata", "data", "stringData", "type", "immutable"}
    assert set(obj["metadata"]) <= _OBJECT_META
    for value in obj["data"].values():
        base64.b64decode(value, validate=True)


def _tricky_dir(tmp_path: Path, files: dict[str, bytes] = TRICKY) -> Path:
    return make_dir(tmp_path, files)


def _sample_data() -> dict[str, str]:
    return yaml.safe_load((SAMPLES / "default-dir.yaml").read_text())["data"]


# --- rendering ------------------------------------------------------------------------------------


def test_three_objects_in_fixed_order_with_names_and_refs(tmp_path: Path, crd_schema: dict) -> None:
    d = MigrationDir.load(_tricky_dir(tmp_path))
    cm, secret, am = render_manifests(d, name="app-db", namespace="prod", url=URL,
                                      labels={"team": "data", "app.kubernetes.io/name": "app"})
    assert [o["kind"] for o in (cm, secret, am)] == ["ConfigMap", "Secret", KIND]
    check_config_map(cm)
    check_secret(secret)
    check_atlas_migration(am, crd_schema)
    assert cm["metadata"]["name"] == config_map_name("app-db", cm["data"])
    assert cm["metadata"]["name"].startswith("app-db-") and len(cm["metadata"]["name"]) == 17
    assert secret["metadata"]["name"] == "app-db-url"
    assert am["metadata"]["name"] == "app-db"
    for obj in (cm, secret, am):
        assert obj["metadata"]["namespace"] == "prod"
        assert obj["metadata"]["labels"] == {"app.kubernetes.io/name": "app", "team": "data",
                                             PRUNE_LABEL: "app-db"}
    assert am["spec"] == {
        "urlFrom": {"secretKeyRef": {"name": "app-db-url", "key": "url"}},
        "dir": {"configMapRef": {"name": cm["metadata"]["name"]}},
    }
    assert cm["immutable"] is True
    assert list(cm["data"]) == sorted(TRICKY) + ["atlas.sum"]
    assert base64.b64decode(secret["data"]["url"]).decode() == URL


def test_configmap_data_is_exact_file_bytes(tmp_path: Path) -> None:
    root = _tricky_dir(tmp_path)
    data = directory_data(MigrationDir.load(root))
    for name, content in TRICKY.items():
        assert data[name].encode("utf-8") == content
    assert data["atlas.sum"].encode() == (root / "atlas.sum").read_bytes()


def test_matches_the_operators_default_sample(tmp_path: Path, crd_schema: dict) -> None:
    sample = _sample_data()
    d = MigrationDir.from_files({k: v.encode() for k, v in sample.items()})
    cm, am = render_manifests(d, name="atlasmigration-sample", url_secret="db-credentials")
    assert cm["data"] == sample
    resource = yaml.safe_load((SAMPLES / "default-resource.yaml").read_text())
    expected = resource["spec"]
    expected["dir"]["configMapRef"]["name"] = cm["metadata"]["name"]
    assert am["spec"] == expected
    check_atlas_migration(am, crd_schema)


def test_inline_matches_the_operators_local_sample(crd_schema: dict) -> None:
    sample = _sample_data()
    d = MigrationDir.from_files({k: v.encode() for k, v in sample.items()})
    (am,) = render_manifests(d, name="atlasmigration-sample", url_secret="db-credentials",
                             inline=True)
    resource = yaml.safe_load((SAMPLES / "local-resource.yaml").read_text())
    assert am["spec"] == resource["spec"]
    check_atlas_migration(am, crd_schema)


def test_url_secret_emits_no_secret(tmp_path: Path, crd_schema: dict) -> None:
    objs = render_manifests(_tricky_dir(tmp_path), name="app", url_secret="mysql-credentials",
                            url_secret_key="dsn")
    assert [o["kind"] for o in objs] == ["ConfigMap", KIND]
    assert objs[1]["spec"]["urlFrom"] == {"secretKeyRef": {"name": "mysql-credentials", "key": "dsn"}}
    assert "namespace" not in objs[1]["metadata"]
    check_atlas_migration(objs[1], crd_schema)


def test_inline_with_url_emits_secret_and_migration(tmp_path: Path, crd_schema: dict) -> None:
    root = _tricky_dir(tmp_path)
    secret, am = render_manifests(root, name="app", url=URL, inline=True)
    assert secret["kind"] == "Secret"
    assert am["spec"]["dir"] == {"local": directory_data(MigrationDir.load(root))}
    check_atlas_migration(am, crd_schema)


OPTION_SETS = {
    "all": dict(baseline="2", exec_order="linear-skip", revisions_schema="atlas",
                backoff_limit=0, protected_flows={"migrateDown": {"allow": True, "autoApprove": True}}),
    "snake-case-flows": dict(protected_flows={"migrate_down": {"allow": False, "auto_approve": True}}),
    "non-linear": dict(exec_order="non-linear", backoff_limit=5),
    "linear": dict(exec_order="linear", baseline="1"),
}


@pytest.mark.parametrize("inline", [False, True], ids=["configmap", "inline"])
@pytest.mark.parametrize("options", list(OPTION_SETS.values()), ids=list(OPTION_SETS))
def test_optional_fields_validate_against_crd(tmp_path: Path, crd_schema: dict,
                                              options: dict, inline: bool) -> None:
    root = make_dir(tmp_path, {"1_a.sql": "SELECT 1;\n", "2_b.sql": "SELECT 2;\n"})
    am = render_manifests(root, name="app", namespace="ns1", url=URL, inline=inline,
                          labels={"a": "b"}, annotations={"pulumi.com/waitFor": "condition=Ready"},
                          **options)[-1]
    check_atlas_migration(am, crd_schema)
    spec = am["spec"]
    if "exec_order" in options:
        assert spec["execOrder"] == options["exec_order"]
    if "backoff_limit" in options:
        assert spec["backoffLimit"] == options["backoff_limit"]
    if "baseline" in options:
        assert spec["baseline"] == options["baseline"]
    if "protected_flows" in options:
        assert set(spec["protectedFlows"]) == {"migrateDown"}
        assert set(spec["protectedFlows"]["migrateDown"]) <= {"allow", "autoApprove"}
    assert am["metadata"]["annotations"] == {"pulumi.com/waitFor": "condition=Ready"}


def test_prune_check_catches_a_misspelt_field(crd_schema: dict) -> None:
    """Plain schema validation accepts a misspelt field; the walk must not."""
    bad = {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "x"},
           "spec": {"dir": {"configMapRef": {"name": "d"}}, "execorder": "linear",
                    "protectedFlows": {"migrateDown": {"autoapprove": True}}}}
    jsonschema.Draft7Validator(crd_schema).validate(bad)  # passes: unknown fields are allowed
    assert undeclared_fields(bad, crd_schema) == [
        ".spec.execorder", ".spec.protectedFlows.migrateDown.autoapprove"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(crd_schema).validate(
            {**bad, "spec": {"dir": {}, "execOrder": "sideways"}})


# --- content addressing -----------------------------------------------------------------------------


def test_configmap_name_follows_content(tmp_path: Path) -> None:
    files = {"1_a.sql": b"SELECT 1;\n", "2_b.sql": b"SELECT 2;\n", "3_c.sql": b"-- atlas:sum ignore\nSELECT 3;\n"}
    first = render_manifests(make_dir(tmp_path / "a", files), name="app", url_secret="s")
    again = render_manifests(make_dir(tmp_path / "b", files), name="app", url_secret="s")
    assert first == again  # deterministic
    names = {first[0]["metadata"]["name"]}
    specs = [first[1]["spec"]]
    for i, change in enumerate([{"2_b.sql": b"SELECT 22;\n"}, {"4_d.sql": b"SELECT 4;\n"},
                                {"3_c.sql": b"-- atlas:sum ignore\nSELECT 33;\n"}]):
        objs = render_manifests(make_dir(tmp_path / f"c{i}", {**files, **change}), name="app",
                                url_secret="s")
        names.add(objs[0]["metadata"]["name"])
        specs.append(objs[1]["spec"])
        assert objs[1]["spec"]["dir"]["configMapRef"]["name"] == objs[0]["metadata"]["name"]
    assert len(names) == 4  # every change, even to a sum-ignored file, renames the ConfigMap
    assert all(a != b for i, a in enumerate(specs) for b in specs[i + 1:])


# --- kubectl ------------------------------------------------------------------------------------


def _kubectl_configmap(kubectl: str, root: Path) -> dict:
    out = _run(kubectl, "create", "configmap", "migrations", f"--from-file={root}",
               "--dry-run=client", "-o", "yaml")
    return yaml.safe_load(out)


@pytest.mark.parametrize("files", [
    pytest.param(TRICKY, id="tricky"),
    pytest.param({"20230316085611.sql": _sample_data()["20230316085611.sql"].encode(),
                  "20230316090502.sql": _sample_data()["20230316090502.sql"].encode()}, id="sample"),
    pytest.param({".hidden_1.sql": b"SELECT 1;", "2_x.sql": b"\n"}, id="hidden-file"),
])
def test_configmap_data_equals_kubectl_from_file(tmp_path: Path, kubectl: str,
                                                 files: dict[str, bytes]) -> None:
    root = make_dir(tmp_path, files)
    theirs = _kubectl_configmap(kubectl, root)
    ours = render_manifests(root, name="app", url=URL)[0]
    assert "binaryData" not in theirs
    assert theirs["data"] == ours["data"]
    for key, value in theirs["data"].items():
        assert value.encode() == (root / key).read_bytes()


def test_non_utf8_file_is_refused_where_kubectl_would_use_binary_data(tmp_path: Path,
                                                                      kubectl: str) -> None:
    root = make_dir(tmp_path, {"1_a.sql": b"SELECT 1;\n", "2_latin1.sql": b"-- caf\xe9\nSELECT 2;\n"})
    theirs = _kubectl_configmap(kubectl, root)
    assert "2_latin1.sql" in theirs["binaryData"]  # invisible to the operator, which reads data
    with pytest.raises(errors.FileEncodingError) as exc:
        render_manifests(root, name="app", url=URL)
    assert "2_latin1.sql:1:7" in str(exc.value) and "UTF-8" in str(exc.value)


def test_secret_equals_kubectl_create_secret(kubectl: str, tmp_path: Path) -> None:
    secret = render_manifests(_tricky_dir(tmp_path), name="app", url=URL)[1]
    theirs = yaml.safe_load(_run(kubectl, "create", "secret", "generic", "app-url",
                                 f"--from-literal=url={URL}", "--dry-run=client", "-o", "yaml"))
    assert theirs["data"] == secret["data"]
    assert theirs.get("type", "Opaque") == secret["type"]  # the API server defaults to Opaque


def test_yaml_reads_back_identically_in_go(kubectl: str, tmp_path: Path) -> None:
    """kubectl kustomize parses our YAML with Go's YAML library; it must see the same objects."""
    objs = render_manifests(_tricky_dir(tmp_path), name="app", namespace="ns", url=URL)
    kdir = tmp_path / "kustomize"
    kdir.mkdir()
    (kdir / "all.yaml").write_text(dump_yaml(objs), encoding="utf-8")
    (kdir / "kustomization.yaml").write_text("resources:\n- all.yaml\n")
    theirs = {(o["kind"], o["metadata"]["name"]): o
              for o in yaml.safe_load_all(_run(kubectl, "kustomize", str(kdir)))}
    assert theirs == {(o["kind"], o["metadata"]["name"]): o for o in objs}


# --- YAML ---------------------------------------------------------------------------------------------


def test_round_trip_rebuilds_a_directory_with_the_same_sum(tmp_path: Path) -> None:
    src = _tricky_dir(tmp_path)
    objs = render_manifests(src, name="app", url=URL)
    loaded = list(yaml.safe_load_all(dump_yaml(objs)))
    assert loaded == objs
    data = loaded[0]["data"]
    rebuilt = tmp_path / "rebuilt"
    rebuilt.mkdir()
    for key, value in data.items():
        (rebuilt / key).write_bytes(value.encode("utf-8"))
    d = MigrationDir.load(rebuilt)
    hf = d.validate()  # the atlas.sum shipped in the ConfigMap validates the rebuilt files
    assert hf.to_bytes() == data["atlas.sum"].encode()
    assert hf.to_bytes() == MigrationDir.load(src).hash_file().to_bytes()
    for name, content in TRICKY.items():
        assert (rebuilt / name).read_bytes() == content


def test_yaml_uses_literal_blocks_where_exact_and_quotes_otherwise(tmp_path: Path) -> None:
    text = dump_yaml(render_manifests(_tricky_dir(tmp_path), name="app", url=URL))
    assert text.startswith("---\napiVersion: v1\nkind: ConfigMap\n")
    assert text.count("\n---\n") == 2
    assert "  1_plain.sql: |\n    CREATE TABLE t1 (id int);\n" in text
    assert '  2_crlf.sql: "CREATE TABLE t2 (\\r\\n' in text
    assert "  3_no_final_newline.sql: CREATE TABLE t3 (id int);\n" in text
    assert "  4_non_ascii.sql: |\n    -- Grüße, 日本語, emoji 🎉\n" in text
    assert "  5_tabs.sql: |\n    CREATE TABLE t5 (\n    \tid int,\n" in text
    assert '  6_trailing_ws.sql: "' in text
    assert "  7_leading_ws.sql: |2+\n" in text
    assert '  8_tab_first.sql: "\\tCREATE' in text
    assert "&id" not in text and "*id" not in text  # shared label dicts are not aliased


@pytest.mark.parametrize("value", [
    "a\nb", "a\nb\n", "a\nb\n\n\n", "\n", "\n\nx", "  x\n y", "x \ny", "x\r\ny", "x\ry",
    "é\n日本\n", "x\t\ny", "\tx\ny", "x\n\ty\n", "\ufeffx\n", "a\u2028b\n", "a\x85b\n", "",
    "true", "0755", "- x\n", "# c\n", "key: v\n", "|\n", "'\"\n", "...\n---\n",
])
def test_dump_yaml_round_trips_exact_strings(value: str) -> None:
    objs = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
             "data": {"f.sql": value}}]
    assert list(yaml.safe_load_all(dump_yaml(objs))) == objs


def test_sample_config_map_yaml_is_what_the_operator_sample_shows() -> None:
    sample = _sample_data()
    d = MigrationDir.from_files({k: v.encode() for k, v in sample.items()})
    text = dump_yaml(render_manifests(d, name="migration-dir", url_secret="db-credentials"))
    original = (SAMPLES / "default-dir.yaml").read_text()
    data_block = original[original.index("\ndata:\n") + 1:]
    assert data_block.rstrip() in text  # byte-identical literal blocks


# --- errors -----------------------------------------------------------------------------------------


def test_too_large_directory_is_a_clear_error(tmp_path: Path) -> None:
    chunk = ("INSERT INTO t VALUES ('" + "x" * 1000 + "');\n") * 300  # ~300 kB per file
    files = {f"{i}_fill.sql": chunk for i in range(1, 5)}
    root = make_dir(tmp_path, files)
    for inline in (False, True):
        with pytest.raises(errors.DirError) as exc:
            render_manifests(root, name="app", url=URL, inline=inline)
        msg = str(exc.value)
        size = sum(len(c) for c in files.values()) + len((root / "atlas.sum").read_bytes())
        assert f"hold {size} bytes" in msg and "1 MiB" in msg and "checkpoint" in msg
        assert "\n" not in msg and PASSWORD not in msg


def test_directory_just_under_the_limit_renders(tmp_path: Path) -> None:
    root = make_dir(tmp_path, {"1_a.sql": "SELECT 1;\n"})
    sum_len = len((root / "atlas.sum").read_bytes())
    filler = "x" * (CONFIGMAP_MAX_BYTES - sum_len - 1) + "\n"
    (root / "1_a.sql").write_text(filler)
    MigrationDir.load(root).write_sum()
    assert len((root / "atlas.sum").read_bytes()) == sum_len
    cm = render_manifests(root, name="app", url=URL)[0]
    assert sum(len(v.encode()) for v in cm["data"].values()) == CONFIGMAP_MAX_BYTES
    (root / "1_a.sql").write_text(filler + "y")
    MigrationDir.load(root).write_sum()
    with pytest.raises(errors.DirError, match=f"hold {CONFIGMAP_MAX_BYTES + 1} bytes"):
        render_manifests(root, name="app", url=URL)


def test_stale_or_missing_sum_is_refused(tmp_path: Path) -> None:
    root = make_dir(tmp_path, {"1_a.sql": "SELECT 1;\n"})
    (root / "1_a.sql").write_text("SELECT 2;\n")
    with pytest.raises(errors.ChecksumError):
        render_manifests(root, name="app", url=URL)
    (root / "atlas.sum").unlink()
    with pytest.raises(errors.ChecksumMissingError):
        render_manifests(root, name="app", url=URL)


def test_empty_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(errors.DirError, match="no migration files"):
        render_manifests(tmp_path / "empty", name="app", url=URL)


@pytest.mark.parametrize("fname", ["1_with space.sql", "2_ünïcode.sql"])
def test_file_name_that_is_not_a_configmap_key(tmp_path: Path, fname: str, kubectl: str) -> None:
    root = make_dir(tmp_path, {fname: "SELECT 1;\n"})
    proc = subprocess.run([kubectl, "create", "configmap", "x", f"--from-file={root}",
                           "--dry-run=client", "-o", "yaml"], capture_output=True, text=True)
    assert proc.returncode != 0 and "not a valid key name" in proc.stderr  # kubectl agrees
    with pytest.raises(errors.FileNameError, match="cannot be a ConfigMap key"):
        render_manifests(root, name="app", url=URL)


BAD_CALLS = {
    "url-and-secret": (dict(url=URL, url_secret="s"), "exactly one of url"),
    "neither": (dict(), "exactly one of url"),
    "bad-name": (dict(url=URL, name="App_DB"), "not a valid object name"),
    "long-name": (dict(url=URL, name="a" * 243), "not a valid object name"),
    "bad-namespace": (dict(url=URL, namespace="a.b"), "namespace"),
    "bad-secret-name": (dict(url_secret="Bad Name"), "not a valid object name"),
    "bad-secret-key": (dict(url=URL, url_secret_key="a/b"), "not a valid key"),
    "bad-label-key": (dict(url=URL, labels={"-x": "y"}), "label key"),
    "bad-label-value": (dict(url=URL, labels={"x": "a b"}), "invalid value"),
    "exec-order": (dict(url=URL, exec_order="random"), "exec_order"),
    "backoff-negative": (dict(url=URL, backoff_limit=-1), "backoff_limit"),
    "backoff-bool": (dict(url=URL, backoff_limit=True), "backoff_limit"),
    "baseline-unknown": (dict(url=URL, baseline="99"), "baseline version '99'"),
    "flow-unknown": (dict(url=URL, protected_flows={"migrateUp": {}}), "unknown protected flow"),
    "flow-field": (dict(url=URL, protected_flows={"migrateDown": {"allowed": True}}), "allowed"),
    "flow-not-bool": (dict(url=URL, protected_flows={"migrateDown": {"allow": "yes"}}), "allow"),
    "allow-without-approve": (dict(url=URL, protected_flows={"migrateDown": {"allow": True}}),
                              "autoApprove"),
    "bad-url-scheme": (dict(url=f"oracle://u:{PASSWORD}@h/db"), "unsupported scheme"),
    "bad-url-port": (dict(url="mysql://root:s3cr%23t@h:99999/db"), "database URL"),
}


@pytest.mark.parametrize("kwargs,expected", list(BAD_CALLS.values()), ids=list(BAD_CALLS))
def test_bad_options_raise_config_error(tmp_path: Path, kwargs: dict, expected: str) -> None:
    root = make_dir(tmp_path, {"1_a.sql": "SELECT 1;\n"})
    kwargs = {"name": "app", **kwargs}
    with pytest.raises(errors.ConfigError) as exc:
        render_manifests(root, **kwargs)
    msg = str(exc.value)
    assert expected in msg
    assert "\n" not in msg
    assert PASSWORD not in msg and "s3cr%23t" not in msg and "s3cr#t" not in msg


# --- secrets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("inline", [False, True], ids=["configmap", "inline"])
def test_password_appears_only_in_the_secret(tmp_path: Path, inline: bool) -> None:
    objs = render_manifests(_tricky_dir(tmp_path), name="app", url=URL, inline=inline,
                            labels={"a": "b"})
    docs = dump_yaml(objs).split("\n---\n")
    forms = [PASSWORD, "s3cr%23t%2Fp%40ss", "s3cr#t"]
    for obj, doc in zip(objs, docs, strict=True):
        if obj["kind"] == "Secret":
            url = base64.b64decode(obj["data"]["url"]).decode()
            assert url == URL and "s3cr%23t%2Fp%40ss%3Aw%C3%B6rd" in url
        else:
            assert not any(f in doc for f in forms), obj["kind"]
            assert not any(f in repr(obj) for f in forms)
            assert base64.b64encode(URL.encode()).decode() not in doc


def test_url_is_normalized_from_sqlalchemy_form(tmp_path: Path) -> None:
    secret = render_manifests(_tricky_dir(tmp_path), name="app",
                              url="postgresql+psycopg://u:p%40w@db:5432/app?sslmode=disable")[1]
    assert base64.b64decode(secret["data"]["url"]).decode() == \
        "postgres://u:p%40w@db:5432/app?sslmode=disable"


def test_example_directory_renders(crd_schema: dict) -> None:
    objs = render_manifests(MigrationDir.load(EXAMPLE_DIR), name="example-db", namespace="default",
                            url="mysql://root:pass@mysql.default:3306/example")
    check_config_map(objs[0])
    check_atlas_migration(objs[2], crd_schema)
    assert set(objs[0]["data"]) == {p.name for p in EXAMPLE_DIR.iterdir()}


@pytest.mark.parametrize("file_kib, warned", [(20, False), (300, True)], ids=["small", "300KiB"])
def test_manifests_warns_when_client_side_apply_cannot_take_it(tmp_path: Path, file_kib: int,
                                                                warned: bool) -> None:
    """Client-side ``kubectl apply`` copies the object into an annotation (at most 256 KiB in
    all); the real operator run saw ``metadata.annotations: Too long`` at about 256 KiB."""
    import sys
    body = "".join(f"INSERT INTO t VALUES ({i}, '{'x' * 90}');\n" for i in range(file_kib * 10))
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE t (id INT, v TEXT);\n" + body})
    proc = subprocess.run(
        [sys.executable, "-m", "pulumi_migrations_provider", "manifests", "--dir", str(d),
         "--name", "app", "--url-secret", "app-db"],
        capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load_all(proc.stdout)
    if warned:
        line, = proc.stderr.splitlines()
        assert line.startswith("warning: the ConfigMap app-") and "--server-side" in line, line
    else:
        assert proc.stderr == ""
