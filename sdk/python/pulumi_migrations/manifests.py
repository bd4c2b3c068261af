"""``AtlasMigrationManifests``: hand a migration directory to the Atlas Kubernetes operator.

The component renders the directory with the engine (``pulumi_migrations_provider.k8s``) and
creates, with pulumi-kubernetes, a ``ConfigMap`` (the files plus ``atlas.sum``, content-addressed
name), a ``Secret`` holding the database URL (marked secret), optionally a ``Secret`` holding a
dev-database URL, and an ``AtlasMigration`` custom resource pointing at them. The directory is
read and validated while the program runs, so a
stale ``atlas.sum`` or an oversized directory fails ``pulumi preview``; the URL may be an
unknown ``Output`` and is only rendered inside ``Output.apply``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, Union, cast

import pulumi

from pulumi_migrations_provider import errors
from pulumi_migrations_provider import k8s as engine
from pulumi_migrations_provider.extras import require
from pulumi_migrations_provider.migdir import MigrationDir
from pulumi_migrations_provider.target import Target

from ._types import ExecOrder
from ._util import resolve_args

__all__ = ["AtlasMigrationManifests", "AtlasMigrationManifestsArgs"]

#: Type token of the component.
TYPE_TOKEN = "pulumi-migrations:index:AtlasMigrationManifests"
#: pulumi-kubernetes annotations controlling the await logic (pulumi-kubernetes >= 4.18).
WAIT_FOR_ANNOTATION = "pulumi.com/waitFor"
TIMEOUT_ANNOTATION = "pulumi.com/timeoutSeconds"
_DEV_PLACEHOLDER = "dev-url-secret-placeholder"
_PLACEHOLDER = "url-secret-placeholder"


@dataclass(kw_only=True)
class AtlasMigrationManifestsArgs:
    """The set of arguments for constructing an AtlasMigrationManifests resource.

    :param directory: The migration directory: a path (or ``file://`` URL) or a ``MigrationDir``.
           It must hold a valid ``atlas.sum``; it is read when the program runs.
    :param url: The database URL (Atlas form, e.g. ``mysql://user:pass@host:3306/db``); stored
           only in the emitted Secret, which is marked secret. Give this or ``url_secret``.
    :param url_secret: Name of an existing Secret in the same namespace that holds the URL; no
           Secret is created then.
    :param url_secret_key: Key of the URL inside the Secret. Defaults to ``url``.
    :param dev_url: URL of a dev database the operator uses instead of starting its own
           (``spec.devURL``). A plain URL without a password goes inline; one with a password,
           or an ``Output``, goes into a Secret ``<name>-dev-url`` (marked secret) that
           ``spec.devURLFrom`` names. Give at most one of this and ``dev_url_secret``.
    :param dev_url_secret: Name of an existing Secret holding the dev-database URL
           (``spec.devURLFrom.secretKeyRef``).
    :param dev_url_secret_key: Key of the dev URL inside its Secret. Defaults to ``url``.
    :param name: Base name of the Kubernetes objects (the AtlasMigration's name; the ConfigMap is
           ``<name>-<digest>``, the Secret ``<name>-url``). Defaults to the resource name.
    :param namespace: Namespace of all three objects (the operator requires one namespace).
    :param labels: Labels put on every object.
    :param inline: Put the files under ``spec.dir.local`` instead of a ConfigMap.
    :param baseline: Version recorded as already applied on a database that has objects.
    :param exec_order: ``linear`` (default), ``linear-skip`` or ``non-linear``.
    :param revisions_schema: Schema holding the ``atlas_schema_revisions`` table.
    :param backoff_limit: Retries on error before the operator gives up (0 = forever).
    :param protected_flows: ``{"migrateDown": {"allow": bool, "autoApprove": bool}}``.
    :param wait_for_ready: Make ``pulumi up`` wait until the operator reports ``Ready=True``
           (the ``pulumi.com/waitFor: condition=Ready`` annotation).
    :param ready_timeout_seconds: How long pulumi-kubernetes waits before failing the update
           (the ``pulumi.com/timeoutSeconds`` annotation); its default applies when unset.
    """

    # AtlasMigrationManifests.__init__ repeats these as keyword-only parameters.
    directory: Union[MigrationDir, str, os.PathLike[str]]
    url: Optional[pulumi.Input[str]] = None
    url_secret: Optional[pulumi.Input[str]] = None
    url_secret_key: str = "url"
    dev_url: Optional[pulumi.Input[str]] = None
    dev_url_secret: Optional[pulumi.Input[str]] = None
    dev_url_secret_key: str = "url"
    name: Optional[str] = None
    namespace: Optional[pulumi.Input[str]] = None
    labels: Optional[Mapping[str, str]] = None
    inline: bool = False
    baseline: Optional[str] = None
    exec_order: Optional[ExecOrder] = None
    revisions_schema: Optional[str] = None
    backoff_limit: Optional[int] = None
    protected_flows: Optional[Mapping[str, Any]] = None
    wait_for_ready: bool = False
    ready_timeout_seconds: Optional[int] = None

    def __post_init__(self) -> None:
        self.labels = dict(self.labels) if self.labels else None


class AtlasMigrationManifests(pulumi.ComponentResource):
    """ConfigMap + Secret + AtlasMigration for the Atlas operator, from one migration directory.

    ## Example Usage

    ```python
    import pulumi
    from pulumi_migrations import AtlasMigrationManifests

    db_url = pulumi.Config().require_secret("dbUrl")
    handoff = AtlasMigrationManifests("app-db", directory="migrations", url=db_url,
                                      namespace="prod", wait_for_ready=True)
    pulumi.export("configMap", handoff.config_map_name)
    ```

    Children: ``<resource>-dir`` (``kubernetes:core/v1:ConfigMap``, absent with ``inline``),
    ``<resource>-url`` (``kubernetes:core/v1:Secret``, absent with ``url_secret``),
    ``<resource>-dev-url`` (``kubernetes:core/v1:Secret``, only for a ``dev_url`` that needs
    one) and ``<resource>-migration`` (``kubernetes:db.atlasgo.io/v1alpha1:AtlasMigration``),
    which depends on the others. A changed directory gives the ConfigMap a new name, which
    Pulumi treats as a replacement of the one ``<resource>-dir`` resource: it creates the new
    ConfigMap, updates the AtlasMigration, then deletes the old ConfigMap, so none is left
    behind (nothing to prune).

    Raises (while the program runs) ``ConfigError``/``DirError`` from the engine for a bad
    directory or option; a bad URL fails when its value becomes known.
    """

    config_map_name: pulumi.Output[str | None]
    """Name of the ConfigMap holding the directory (None with ``inline``)."""
    secret_name: pulumi.Output[str]
    """Name of the Secret holding the URL (ours, or ``url_secret``)."""
    migration_name: pulumi.Output[str]
    """Name of the AtlasMigration object."""

    # The children, typed as plain CustomResources: naming pulumi_kubernetes's classes would
    # make every type check of a program importing this SDK load pulumi-kubernetes (~9 s).
    config_map: Optional[pulumi.CustomResource]
    """The ``ConfigMap`` holding the directory (None with ``inline``)."""
    secret: Optional[pulumi.CustomResource]
    """The ``Secret`` holding the URL (None with ``url_secret``)."""
    dev_secret: Optional[pulumi.CustomResource]
    """The ``Secret`` holding the dev-database URL (only for a ``dev_url`` that needs one)."""
    migration: pulumi.CustomResource
    """The ``AtlasMigration`` custom resource."""

    def __init__(self, resource_name: str,
                 args: Optional[Union[AtlasMigrationManifestsArgs, pulumi.ResourceOptions]] = None,
                 opts: Optional[pulumi.ResourceOptions] = None, *,
                 provider: Optional[pulumi.ProviderResource] = None,
                 directory: Union[MigrationDir, str, os.PathLike[str], None] = None,
                 url: Optional[pulumi.Input[str]] = None,
                 url_secret: Optional[pulumi.Input[str]] = None,
                 url_secret_key: str = "url",
                 dev_url: Optional[pulumi.Input[str]] = None,
                 dev_url_secret: Optional[pulumi.Input[str]] = None,
                 dev_url_secret_key: str = "url",
                 name: Optional[str] = None,
                 namespace: Optional[pulumi.Input[str]] = None,
                 labels: Optional[Mapping[str, str]] = None,
                 inline: bool = False,
                 baseline: Optional[str] = None,
                 exec_order: Optional[ExecOrder] = None,
                 revisions_schema: Optional[str] = None,
                 backoff_limit: Optional[int] = None,
                 protected_flows: Optional[Mapping[str, Any]] = None,
                 wait_for_ready: bool = False,
                 ready_timeout_seconds: Optional[int] = None) -> None:
        """Declare the handoff to the Atlas operator.

        :param resource_name: The component's name in the stack.
        :param args: An ``AtlasMigrationManifestsArgs`` instead of the keywords (or the
            ``ResourceOptions``, as generated Pulumi SDKs accept them in second place).
        :param opts: Options for the component.
        :param provider: The pulumi-kubernetes provider for the children (default: the
            ambient one, i.e. the current kubeconfig context).

        The other keywords are the fields of ``AtlasMigrationManifestsArgs``, documented
        there; ``directory`` is required unless ``args`` is given. Needs the ``kubernetes``
        extra (pulumi-kubernetes): MissingDependencyError names it when it is not installed.
        """
        inputs, opts = resolve_args("AtlasMigrationManifests", AtlasMigrationManifestsArgs, args,
                                  opts, locals())
        k8s: Any = require("pulumi_kubernetes", "creating AtlasMigrationManifests")
        super().__init__(TYPE_TOKEN, resource_name, None, opts)

        name = inputs.name or resource_name
        own_secret = inputs.url is not None
        named_secret = inputs.url_secret if isinstance(inputs.url_secret, str) else None
        if inputs.url_secret is not None and named_secret is None:
            named_secret = _PLACEHOLDER  # an Output: rendered with a stand-in, set below
        annotations: dict[str, str] = {}
        if inputs.wait_for_ready:
            annotations[WAIT_FOR_ANNOTATION] = "condition=Ready"
        if inputs.ready_timeout_seconds is not None:
            annotations[TIMEOUT_ANNOTATION] = str(int(inputs.ready_timeout_seconds))

        if own_secret == (inputs.url_secret is not None):
            raise errors.ConfigError(
                f"creating AtlasMigrationManifests {resource_name!r}: give exactly one of url "
                "(a Secret is created for it) or url_secret (an existing Secret's name)"
            )
        if isinstance(inputs.url, str):
            engine.normalize_url(inputs.url)  # a plain URL fails now, not in the middle of `up`
        if inputs.dev_url is not None and inputs.dev_url_secret is not None:
            raise errors.ConfigError(
                f"creating AtlasMigrationManifests {resource_name!r}: give at most one of dev_url "
                "and dev_url_secret (an existing Secret's name)")
        dev_inline: Optional[str] = None
        own_dev_secret = inputs.dev_url is not None
        if isinstance(inputs.dev_url, str) and not Target.parse(inputs.dev_url).secrets:
            dev_inline, own_dev_secret = inputs.dev_url, False  # no password: inline, like the CLI
        named_dev_secret = inputs.dev_url_secret if isinstance(inputs.dev_url_secret, str) else None
        if inputs.dev_url_secret is not None and named_dev_secret is None:
            named_dev_secret = _DEV_PLACEHOLDER  # an Output: rendered with a stand-in, set below
        if own_dev_secret:
            named_dev_secret = engine.dev_secret_name(name)
        objects = engine.render_manifests(
            inputs.directory, name=name, namespace=None,
            url_secret=engine.secret_name(name) if own_secret else named_secret,
            url_secret_key=inputs.url_secret_key, inline=inputs.inline, labels=inputs.labels,
            baseline=inputs.baseline, exec_order=inputs.exec_order,
            revisions_schema=inputs.revisions_schema, backoff_limit=inputs.backoff_limit,
            protected_flows=inputs.protected_flows, annotations=annotations,
            dev_url=dev_inline, dev_url_secret=named_dev_secret,
            dev_url_secret_key=inputs.dev_url_secret_key,
        )
        by_kind = {o["kind"]: o for o in objects}
        child = pulumi.ResourceOptions(parent=self, provider=provider)

        def meta(obj: dict[str, Any]) -> Any:  # a pulumi_kubernetes ObjectMetaArgs
            m = obj["metadata"]
            return k8s.meta.v1.ObjectMetaArgs(
                name=m["name"], namespace=inputs.namespace, labels=m.get("labels"),
                annotations=m.get("annotations"))

        self.config_map = None
        self.secret = None
        deps: list[pulumi.Resource] = []
        cm = by_kind.get("ConfigMap")
        if cm is not None:
            self.config_map = k8s.core.v1.ConfigMap(
                f"{resource_name}-dir", metadata=meta(cm), immutable=True, data=cm["data"],
                opts=child)
            deps.append(self.config_map)
        labels = by_kind[engine.KIND]["metadata"].get("labels")

        def secret_for(child_name: str, sname: str, key: str, url: Any) -> Any:
            """A Secret holding ``url`` (an Input), rendered by the engine, marked secret."""
            data = pulumi.Output.secret(cast("pulumi.Input[str]", url)).apply(
                lambda u: engine.render_url_secret(name=sname, url=u, labels=labels,
                                                   key=key)["data"])
            return k8s.core.v1.Secret(
                child_name,
                metadata=k8s.meta.v1.ObjectMetaArgs(name=sname, namespace=inputs.namespace,
                                                    labels=labels),
                type="Opaque", data=data,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                    additional_secret_outputs=["data", "stringData"])))

        if own_secret:
            self.secret = secret_for(f"{resource_name}-url", engine.secret_name(name),
                                     inputs.url_secret_key, inputs.url)
            deps.append(self.secret)
        self.dev_secret = None
        if own_dev_secret:
            self.dev_secret = secret_for(f"{resource_name}-dev-url", engine.dev_secret_name(name),
                                         inputs.dev_url_secret_key, inputs.dev_url)
            deps.append(self.dev_secret)
        am = by_kind[engine.KIND]
        spec: dict[str, Any] = dict(am["spec"])
        if named_secret == _PLACEHOLDER:
            spec["urlFrom"] = {"secretKeyRef": {"name": inputs.url_secret,
                                                "key": inputs.url_secret_key}}
        if named_dev_secret == _DEV_PLACEHOLDER:
            spec["devURLFrom"] = {"secretKeyRef": {"name": inputs.dev_url_secret,
                                                   "key": inputs.dev_url_secret_key}}
        self.migration = k8s.apiextensions.CustomResource(
            f"{resource_name}-migration", api_version=engine.API_VERSION, kind=engine.KIND,
            metadata=meta(am), spec=spec,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=deps)))

        self.config_map_name = cast("pulumi.Output[str | None]", pulumi.Output.from_input(
            cm["metadata"]["name"] if cm else None))
        self.secret_name = pulumi.Output.from_input(cast(
            "pulumi.Input[str]", engine.secret_name(name) if own_secret else inputs.url_secret))
        self.migration_name = pulumi.Output.from_input(name)
        self.register_outputs({
            "config_map_name": self.config_map_name,
            "secret_name": self.secret_name,
            "migration_name": self.migration_name,
        })
