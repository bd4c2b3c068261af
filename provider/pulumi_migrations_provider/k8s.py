"""Kubernetes handoff: render a migration directory as manifests for the Atlas operator.

``render_manifests`` turns a directory and a target into plain dicts, in a fixed order:

1. a ``ConfigMap`` whose ``data`` holds one key per migration file plus ``atlas.sum``, each value
   the file's exact text (what ``kubectl create configmap NAME --from-file=DIR`` produces). Its
   name is ``<name>-<10 hex digits>``, a digest of that data, so every change to the directory
   changes the ``AtlasMigration`` spec and the operator reconciles;
2. a ``Secret`` holding the database URL under ``url`` (omitted when ``url_secret`` names an
   existing Secret);
3. a ``Secret`` ``<name>-dev-url`` holding a dev-database URL that has a password (``dev_url``;
   a dev URL without one goes inline into ``spec.devURL``);
4. an ``AtlasMigration`` (``db.atlasgo.io/v1alpha1``) with ``urlFrom.secretKeyRef`` and
   ``dir.configMapRef`` (or the files inlined under ``dir.local`` when ``inline``), plus
   ``devURL`` or ``devURLFrom.secretKeyRef`` when a dev database is given (without one the
   operator starts a dev-database Deployment of its own).

Every object carries the label ``PRUNE_LABEL=<name>``, so the ConfigMap a directory change
supersedes can be pruned: ``kubectl apply --server-side --prune -l PRUNE_LABEL=<name>
--prune-allowlist=core/v1/ConfigMap -f -`` (``prune_selector`` gives the ``-l`` value).

A password only ever appears in a Secret. ``dump_yaml`` prints the objects as multi-document
YAML for ``kubectl apply --server-side -f -`` or a GitOps repository.

Example::

    objs = render_manifests(MigrationDir.load("migrations"), name="app",
                            namespace="prod", url_secret="db-credentials")
    print(dump_yaml(objs))
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from . import errors
from .migdir import MigrationDir
from .reports import EXEC_ORDERS  # the CRD's spec.execOrder accepts exactly Atlas's three
from .sumfile import HASH_FILE_NAME
from .target import Target, as_target

__all__ = [
    "API_VERSION", "KIND", "CONFIGMAP_MAX_BYTES", "ANNOTATIONS_MAX_BYTES", "EXEC_ORDERS",
    "too_large_for_client_side_apply",
    "render_manifests", "render_url_secret", "directory_data", "config_map_name",
    "secret_name", "dev_secret_name", "normalize_url", "dump_yaml", "PRUNE_LABEL", "prune_selector",
]

#: apiVersion and kind of the operator's resource.
API_VERSION = "db.atlasgo.io/v1alpha1"
KIND = "AtlasMigration"
#: The API server refuses a ConfigMap whose values add up to more than this (``MaxSecretSize``).
CONFIGMAP_MAX_BYTES = 1024 * 1024

# Kubernetes validation (k8s.io/apimachinery/pkg/util/validation).
_CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"^{_DNS_LABEL}(\.{_DNS_LABEL})*$")
_DNS_LABEL_RE = re.compile(rf"^{_DNS_LABEL}$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_SUFFIX_LEN = 10
_SECRET_SUFFIX = "-url"
_DEV_SECRET_SUFFIX = "-dev-url"
#: The label on every rendered object whose value is the AtlasMigration's name: a selector for
#: ``kubectl apply --prune`` (ConfigMaps superseded by a directory change).
PRUNE_LABEL = "pulumi-migrations/atlas-migration"
_FLOWS = {"migrateDown": "migrateDown", "migrate_down": "migrateDown"}
_FLOW_FIELDS = {"allow": "allow", "autoApprove": "autoApprove", "auto_approve": "autoApprove"}


# --- names and validation -----------------------------------------------------------------------


def _check_subdomain(what: str, value: Any, *, max_len: int = 253) -> str:
    """Return ``value`` if it is a valid object name (DNS-1123 subdomain); raise ConfigError."""
    if not isinstance(value, str) or not value or len(value) > max_len \
            or not _DNS_SUBDOMAIN.match(value):
        raise errors.ConfigError(
            f"rendering Kubernetes manifests: {what} {value!r} is not a valid object name; use at "
            f"most {max_len} lowercase letters, digits, '-' and '.', starting and ending with a "
            "letter or digit"
        )
    return value


def _check_key(what: str, value: Any) -> str:
    """Return ``value`` if it is a valid ConfigMap/Secret key; raise ConfigError."""
    if not isinstance(value, str) or len(value) > 253 or not _CONFIGMAP_KEY.match(value) \
            or value in (".", "..") or value.startswith(".."):
        raise errors.ConfigError(
            f"rendering Kubernetes manifests: {what} {value!r} is not a valid key; keys consist of "
            "letters, digits, '-', '_' and '.' (regex [-._a-zA-Z0-9]+) and do not start with '..'"
        )
    return value


def _check_labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    """Validate label keys/values as the API server does; return them sorted by key."""
    out: dict[str, str] = {}
    for key in sorted((labels or {}), key=str):
        value = (labels or {})[key]
        prefix, _, lname = str(key).rpartition("/")
        ok_key = isinstance(key, str) and len(lname) <= 63 and bool(_LABEL_NAME.match(lname)) \
            and (not prefix or (len(prefix) <= 253 and bool(_DNS_SUBDOMAIN.match(prefix))))
        if not ok_key:
            raise errors.ConfigError(
                f"rendering Kubernetes manifests: label key {key!r} is invalid; use an optional "
                "DNS prefix and '/', then at most 63 letters, digits, '-', '_' and '.'"
            )
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            raise errors.ConfigError(
                f"rendering Kubernetes manifests: label {key!r} has invalid value {value!r}; use "
                "at most 63 letters, digits, '-', '_' and '.', starting and ending alphanumeric"
            )
        out[key] = value
    return out


def secret_name(name: str) -> str:
    """Return the name of the Secret we emit for ``name``: ``<name>-url``."""
    return f"{name}{_SECRET_SUFFIX}"


def dev_secret_name(name: str) -> str:
    """Return the name of the Secret we emit for a dev URL with a password: ``<name>-dev-url``."""
    return f"{name}{_DEV_SECRET_SUFFIX}"


def prune_label_value(name: str) -> str:
    """``name`` as a label value (at most 63 characters: a longer name is cut and suffixed with
    10 hex digits of its SHA-256, so it stays unique)."""
    if len(name) <= 63:
        return name
    return f"{name[:52].rstrip('-.')}-{hashlib.sha256(name.encode()).hexdigest()[:10]}"


def prune_selector(name: str) -> str:
    """The ``kubectl apply --prune -l`` selector for the objects rendered for ``name``."""
    return f"{PRUNE_LABEL}={prune_label_value(name)}"


def config_map_name(name: str, data: Mapping[str, str]) -> str:
    """Return ``<name>-<digest>``: 10 hex digits of SHA-256 over every key and value of ``data``.

    The digest covers ``atlas.sum`` and every file's bytes (``atlas:sum ignore`` files too), so
    any change to the directory gives a new name.
    """
    h = hashlib.sha256()
    for key in sorted(data, key=lambda k: k.encode("utf-8")):
        for part in (key.encode("utf-8"), data[key].encode("utf-8")):
            h.update(len(part).to_bytes(8, "big"))
            h.update(part)
    return f"{name}-{h.hexdigest()[:_SUFFIX_LEN]}"


def normalize_url(url: str | Target) -> str:
    """Return the Atlas URL the operator should use (password percent-encoded).

    Raises ``errors.ConfigError`` (password-free) for a URL we cannot parse.
    """
    return as_target(url).url()


# --- the directory as ConfigMap data ------------------------------------------------------------


def _as_dir(directory: MigrationDir | str | os.PathLike[str]) -> MigrationDir:
    if isinstance(directory, MigrationDir):
        return directory
    return MigrationDir.load(Path(directory))


def directory_data(directory: MigrationDir | str | os.PathLike[str], *,
                   what: str = "the ConfigMap") -> dict[str, str]:
    """Validate ``directory`` and return its ConfigMap data: ``{file name: text}`` plus ``atlas.sum``.

    Keys are sorted byte-wise; values are the files' exact bytes decoded as UTF-8 (``atlas.sum``
    as stored on disk). ``what`` names the object in messages.
    Raises the ``DirError`` family from ``MigrationDir.validate`` (stale or missing ``atlas.sum``),
    ``errors.DirError`` for an empty directory or one larger than ``CONFIGMAP_MAX_BYTES``,
    ``errors.FileNameError`` for a file name that is not a valid ConfigMap key, and
    ``errors.FileEncodingError`` for a file that is not UTF-8 (the operator reads only ``data``,
    never ``binaryData``).
    """
    d = _as_dir(directory)
    d.validate()
    if not d.files:
        raise errors.DirError(
            f"rendering {what} for {d.where}: the directory has no migration files; add one "
            "with 'pulumi-migrations new' before handing it to the operator"
        )
    data: dict[str, str] = {}
    for f in d.files:
        if not _CONFIGMAP_KEY.match(f.name) or len(f.name) > 253 or f.name.startswith(".."):
            raise errors.FileNameError(
                f"rendering {what} for {d.where}: file name {f.name!r} cannot be a ConfigMap key "
                "(only letters, digits, '-', '_' and '.'); rename the file and re-hash the "
                "directory"
            )
        try:
            data[f.name] = f.text()
        except errors.FileEncodingError as err:
            raise errors.FileEncodingError(
                f"rendering {what} for {d.where}: {f.name} is not valid UTF-8 (byte offset "
                f"{err.offset}, {f.name}:{err.line}:{err.col}); the Atlas operator reads text keys "
                "only, so save the file as UTF-8 and re-hash the directory",
                file=err.file, offset=err.offset, line=err.line, col=err.col) from err
    sum_bytes = d.sum_data or b""  # validate() guarantees it exists when there are files
    data[HASH_FILE_NAME] = sum_bytes.decode("utf-8", "surrogateescape")
    size = sum(len(v.encode("utf-8", "surrogateescape")) for v in data.values())
    if size > CONFIGMAP_MAX_BYTES:
        raise errors.DirError(
            f"rendering {what} for {d.where}: the {len(d.files)} migration files and atlas.sum "
            f"hold {size} bytes ({size / CONFIGMAP_MAX_BYTES:.2f} MiB), more than the "
            f"{CONFIGMAP_MAX_BYTES} bytes (1 MiB) Kubernetes stores in one object; squash the "
            "history into a checkpoint ('atlas migrate checkpoint') and drop older files once "
            "every database has applied them, or serve the directory from Atlas Cloud (dir.remote)"
        )
    return dict(sorted(data.items(), key=lambda kv: kv[0].encode("utf-8")))


# --- objects ------------------------------------------------------------------------------------


def _metadata(name: str, namespace: str | None, labels: dict[str, str],
              annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = {str(k): str(v) for k, v in sorted(annotations.items())}
    return meta


def render_url_secret(*, name: str, url: str | Target, namespace: str | None = None,
                      labels: Mapping[str, str] | None = None, key: str = "url") -> dict:
    """Return an ``Opaque`` Secret named ``name`` holding the normalized URL under ``key``.

    ``data`` is base64, exactly as ``kubectl create secret generic NAME --from-literal=KEY=URL``
    writes it. Raises ``errors.ConfigError`` for a bad name, key or URL.
    """
    _check_subdomain("Secret name", name)
    _check_key("Secret key", key)
    encoded = base64.b64encode(normalize_url(url).encode("utf-8")).decode("ascii")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(name, namespace, _check_labels(labels)),
        "type": "Opaque",
        "data": {key: encoded},
    }


def _protected_flows(value: Mapping[str, Any]) -> dict[str, Any]:
    """Normalize ``protected_flows`` to CRD field names and apply the operator's local-dir rule."""
    if not isinstance(value, Mapping):
        raise errors.ConfigError(
            "rendering the AtlasMigration: protected_flows must be a mapping like "
            "{'migrateDown': {'allow': True, 'autoApprove': True}}"
        )
    out: dict[str, Any] = {}
    for flow, settings in value.items():
        key = _FLOWS.get(flow)
        if key is None or not isinstance(settings, Mapping):
            raise errors.ConfigError(
                f"rendering the AtlasMigration: unknown protected flow {flow!r}; the CRD knows "
                "only 'migrateDown' with the fields 'allow' and 'autoApprove'"
            )
        fields: dict[str, bool] = {}
        for fname, fval in settings.items():
            fkey = _FLOW_FIELDS.get(fname)
            if fkey is None or not isinstance(fval, bool):
                raise errors.ConfigError(
                    f"rendering the AtlasMigration: protected_flows.{key}.{fname} = {fval!r} is "
                    "not allowed; use the booleans 'allow' and 'autoApprove'"
                )
            fields[fkey] = fval
        if fields.get("allow") and not fields.get("autoApprove"):
            raise errors.ConfigError(
                f"rendering the AtlasMigration: protected_flows.{key}.allow needs autoApprove: "
                "true for a ConfigMap or inline directory (the operator refuses it otherwise); "
                "set both"
            )
        out[key] = {k: fields[k] for k in ("allow", "autoApprove") if k in fields}
    return out


def _spec_options(directory: MigrationDir, *, baseline: str | None, exec_order: str | None,
                  revisions_schema: str | None, backoff_limit: int | None,
                  protected_flows: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate the optional spec fields; return them with CRD names in a fixed order."""
    spec: dict[str, Any] = {}
    if baseline is not None:
        if directory.file(str(baseline)) is None:
            raise errors.ConfigError(
                f"rendering the AtlasMigration: baseline version {baseline!r} is not a file in "
                f"{directory.where}; use the version of an existing migration file"
            )
        spec["baseline"] = str(baseline)
    if exec_order is not None:
        if exec_order not in EXEC_ORDERS:
            raise errors.ConfigError(
                f"rendering the AtlasMigration: exec_order {exec_order!r} is not one of "
                f"{', '.join(EXEC_ORDERS)}"
            )
        spec["execOrder"] = exec_order
    if revisions_schema is not None:
        if not isinstance(revisions_schema, str) or not revisions_schema:
            raise errors.ConfigError(
                "rendering the AtlasMigration: revisions_schema must be a non-empty schema name"
            )
        spec["revisionsSchema"] = revisions_schema
    if backoff_limit is not None:
        if isinstance(backoff_limit, bool) or not isinstance(backoff_limit, int) \
                or backoff_limit < 0:
            raise errors.ConfigError(
                f"rendering the AtlasMigration: backoff_limit {backoff_limit!r} must be an "
                "integer >= 0 (0 retries forever)"
            )
        spec["backoffLimit"] = backoff_limit
    if protected_flows is not None:
        spec["protectedFlows"] = _protected_flows(protected_flows)
    return spec


def render_manifests(directory: MigrationDir | str | os.PathLike[str], *, name: str,
                     namespace: str | None = None, url: str | Target | None = None,
                     url_secret: str | None = None, url_secret_key: str = "url",
                     inline: bool = False, labels: Mapping[str, str] | None = None,
                     baseline: str | None = None, exec_order: str | None = None,
                     revisions_schema: str | None = None, backoff_limit: int | None = None,
                     protected_flows: Mapping[str, Any] | None = None,
                     annotations: Mapping[str, str] | None = None,
                     dev_url: str | Target | None = None, dev_url_secret: str | None = None,
                     dev_url_secret_key: str = "url") -> list[dict]:
    """Render ConfigMap, Secrets and AtlasMigration for ``directory``, in that order.

    Exactly one of ``url`` (we emit Secret ``<name>-url``) and ``url_secret`` (an existing
    Secret in the same namespace; no Secret is emitted) must be given; ``url_secret_key`` is the
    key inside it. With ``inline`` the files go under ``spec.dir.local`` and no ConfigMap is
    emitted. ``labels`` go on every object, ``annotations`` on the AtlasMigration only.
    ``baseline``, ``exec_order``, ``revisions_schema``, ``backoff_limit`` and
    ``protected_flows`` ({'migrateDown': {'allow', 'autoApprove'}}) map to the CRD fields of
    the same meaning. At most one of ``dev_url`` (``spec.devURL``; with a password it goes into
    a Secret ``<name>-dev-url`` under ``dev_url_secret_key`` and ``spec.devURLFrom`` points at
    it) and ``dev_url_secret`` (an existing Secret: ``spec.devURLFrom.secretKeyRef``) may be
    given. Every object gets the label ``PRUNE_LABEL``. Nothing is returned unless everything
    is valid.

    Raises ``errors.ConfigError`` (bad name/namespace/labels/options, url and url_secret both
    or neither given, bad URL) and the ``errors.DirError`` family (see ``directory_data``).
    """
    if (url is None) == (url_secret is None):
        raise errors.ConfigError(
            "rendering Kubernetes manifests: give exactly one of url (we create a Secret for it) "
            "or url_secret (the name of an existing Secret holding the URL)"
        )
    _check_subdomain("name", name, max_len=253 - _SUFFIX_LEN - 1)
    if namespace is not None and (not isinstance(namespace, str) or len(namespace) > 63
                                  or not _DNS_LABEL_RE.match(namespace)):
        raise errors.ConfigError(
            f"rendering Kubernetes manifests: namespace {namespace!r} is invalid; use at most 63 "
            "lowercase letters, digits and '-'"
        )
    _check_key("url_secret_key", url_secret_key)
    if url_secret is not None:
        _check_subdomain("url_secret", url_secret)
    if dev_url is not None and dev_url_secret is not None:
        raise errors.ConfigError(
            "rendering Kubernetes manifests: give at most one of dev_url and dev_url_secret "
            "(the name of an existing Secret holding the dev-database URL)")
    _check_key("dev_url_secret_key", dev_url_secret_key)
    if dev_url_secret is not None:
        _check_subdomain("dev_url_secret", dev_url_secret)
    dev = as_target(dev_url) if dev_url is not None else None
    lbls = {**_check_labels(labels), PRUNE_LABEL: prune_label_value(name)}
    d = _as_dir(directory)
    data = directory_data(d, what="the AtlasMigration's dir.local" if inline else "the ConfigMap")
    options = _spec_options(d, baseline=baseline, exec_order=exec_order,
                            revisions_schema=revisions_schema, backoff_limit=backoff_limit,
                            protected_flows=protected_flows)
    objects: list[dict] = []
    if inline:
        dir_spec: dict[str, Any] = {"local": data}
    else:
        cm_name = config_map_name(name, data)
        objects.append({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _metadata(cm_name, namespace, lbls),
            "immutable": True,
            "data": data,
        })
        dir_spec = {"configMapRef": {"name": cm_name}}
    if url is not None:
        secret = render_url_secret(name=secret_name(name), url=url, namespace=namespace,
                                   labels=lbls, key=url_secret_key)
        objects.append(secret)
        url_secret = secret["metadata"]["name"]
    dev_spec: dict[str, Any] = {}
    if dev is not None and not dev.secrets:
        dev_spec["devURL"] = normalize_url(dev)
    elif dev is not None:  # a password never goes inline
        dev_secret = render_url_secret(name=dev_secret_name(name), url=dev, namespace=namespace,
                                       labels=lbls, key=dev_url_secret_key)
        objects.append(dev_secret)
        dev_url_secret = dev_secret["metadata"]["name"]
    if dev_url_secret is not None:
        dev_spec["devURLFrom"] = {"secretKeyRef": {"name": dev_url_secret, "key": dev_url_secret_key}}
    spec: dict[str, Any] = {
        "urlFrom": {"secretKeyRef": {"name": url_secret, "key": url_secret_key}},
        **dev_spec,
        "dir": dir_spec,
        **options,
    }
    objects.append({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": _metadata(name, namespace, lbls, annotations),
        "spec": spec,
    })
    return objects


# --- YAML ---------------------------------------------------------------------------------------

# Characters a YAML parser folds or normalizes inside a block scalar.
_NOT_IN_BLOCK = ("\r", "\x85", "\u2028", "\u2029", "\ufeff")


class _Dumper(yaml.SafeDumper):
    """SafeDumper that never emits anchors and lets literal blocks carry tabs."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def analyze_scalar(self, scalar: str) -> Any:
        if "\t" not in scalar or scalar.lstrip("\n").startswith("\t"):
            # Go's YAML reader rejects a tab right after the indentation it is still detecting
            # (the first content line of a block), so such strings stay double-quoted.
            return super().analyze_scalar(scalar)
        # PyYAML treats a tab as "special" and forces double quotes. Inside a literal block a
        # tab is plain content, so analyse with spaces (trailing tabs still disqualify the
        # block, like trailing spaces) and keep only the block and double-quoted styles.
        analysis = super().analyze_scalar(scalar.replace("\t", " "))
        analysis.scalar = scalar
        analysis.allow_flow_plain = analysis.allow_block_plain = False
        analysis.allow_single_quoted = False
        return analysis


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = None
    if any(ch in value for ch in _NOT_IN_BLOCK):
        style = '"'  # escaped (\r, \N, \L, \P, \ufeff): no parser can fold them
    elif "\n" in value:
        style = "|"  # PyYAML falls back to double quotes when the block cannot be exact
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


ANNOTATIONS_MAX_BYTES = 256 * 1024  # all annotations of one object (apimachinery TotalAnnotationSizeLimitB)


def too_large_for_client_side_apply(objects: list[dict]) -> list[tuple[str, str, int]]:
    """(kind, name, bytes) of each object that client-side ``kubectl apply`` cannot take.

    Client-side apply stores the object, as compact JSON, in the
    ``kubectl.kubernetes.io/last-applied-configuration`` annotation, and an object's annotations
    may hold at most 256 KiB; server-side apply has no such copy and takes objects up to 1 MiB.
    """
    import json

    out = []
    for obj in objects:
        size = len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        if size >= ANNOTATIONS_MAX_BYTES:
            out.append((obj.get("kind", "object"), obj.get("metadata", {}).get("name", "?"), size))
    return out


def dump_yaml(objects: list[dict]) -> str:
    """Return ``objects`` as multi-document YAML (each starting with ``---``), keys in dict order.

    Multi-line strings use literal block style (``|``, ``|-``, ``|+``) when that reproduces
    them exactly and double quotes otherwise (CR, trailing whitespace on a line, ...). The text
    is parsed back and compared with ``objects``; on any difference everything is re-emitted
    double-quoted, so the exact bytes always survive.
    """
    kwargs: dict[str, Any] = dict(Dumper=_Dumper, explicit_start=True, sort_keys=False,
                                  allow_unicode=True, default_flow_style=False, width=120)
    text = yaml.dump_all(objects, **kwargs)
    if list(yaml.safe_load_all(text)) != list(objects):
        text = yaml.dump_all(objects, default_style='"', **kwargs)
    return text
