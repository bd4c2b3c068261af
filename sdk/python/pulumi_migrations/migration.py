"""``Migration``: apply a migration directory to a database, as a Pulumi resource."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Optional, Union

import pulumi
import pulumi.dynamic

from pulumi_migrations_provider.errors import ConfigError
from pulumi_migrations_provider.providers.migration import MigrationProvider

from ._types import Duration, ExecOrder, LintLevel, TxMode
from ._util import absolute_path, resolve_args, version_text, with_secret_outputs
from .database import Database
from .directory import MigrationDirectory

if TYPE_CHECKING:
    from ._types import MigrationEntry

__all__ = ["Migration", "MigrationArgs"]

#: The provider's outputs beyond the inputs (declared as attributes on ``Migration``).
OUTPUTS = ("target_version", "sum", "migrations", "applied_version", "applied", "pending", "plan",
           "status", "error", "error_statement", "revisions_table")


@dataclass(kw_only=True)
class MigrationArgs:
    """The set of arguments for constructing a Migration resource.

    Give the target as ``database`` or ``url``, and the files as ``directory`` or ``dir``.

    :param database: A ``Database`` resource (its secret URL and revisions schema are used).
    :param url: A database URL instead of ``database``; always stored as a secret.
    :param directory: A ``MigrationDirectory`` resource.
    :param dir: A directory path instead of ``directory`` (relative to the program).
    :param version: Version to migrate to; default: the latest file. A version below what is
        applied is an error (down migrations are not supported yet).
    :param baseline: On a database that already has a schema, the version to record as applied
        without running it (Atlas ``--baseline``).
    :param allow_dirty: Allow the first run on a database that already holds tables.
    :param exec_order: ``linear`` (default), ``linear-skip`` or ``non-linear`` (Atlas ``--exec-order``).
    :param tx_mode: ``file`` (default: one transaction per file), ``all`` or ``none``.
    :param lock_timeout: How long to wait for another run's migration lock: a duration as
        Atlas's ``--lock-timeout`` takes it (``"10s"``, ``"1m30s"``) or seconds (default 10).
    :param revisions_schema: Where the revisions table lives (overrides the Database's).
    :param allow_changed: Proceed although an applied file's content changed since it ran
        (default: such an edit fails the preview, naming the file).
    :param lint: Severity per lint category or code for the pending files' findings:
        ``{"destructive": "warn", "DS103": "off"}`` (``"error"``, ``"warn"`` or ``"off"``; a code
        wins over its category). Default: destructive changes are errors, which fail the
        preview naming the file, line and the ``-- atlas:nolint CODE`` to add.
    :param config: An Atlas project file (``atlas.hcl``, path or ``file://``); with ``env``,
        that env's ``url``, ``migration.dir`` and migration settings fill what is not given
        here (what is given here wins), as ``--config``/``--env`` do on the CLI.
    :param env: The env block of ``config`` to read (one instance: no ``for_each``).
    :param vars: Values of the project file's variables (``--var``), stored as a secret.
    """

    # Each field is sent to the provider under its own name (``database`` and ``directory``
    # become ``url`` and ``dir``); Migration.__init__ repeats these as keyword-only parameters.
    database: Optional[Database] = None
    url: Optional[pulumi.Input[str]] = None
    directory: Optional[MigrationDirectory] = None
    dir: Optional[pulumi.Input[str]] = None
    version: Optional[pulumi.Input[Union[str, int]]] = None
    baseline: Optional[pulumi.Input[str]] = None
    allow_dirty: Optional[pulumi.Input[bool]] = None
    exec_order: Optional[pulumi.Input[ExecOrder]] = None
    tx_mode: Optional[pulumi.Input[TxMode]] = None
    lock_timeout: Optional[pulumi.Input[Duration]] = None
    revisions_schema: Optional[pulumi.Input[str]] = None
    allow_changed: Optional[pulumi.Input[bool]] = None
    lint: Optional[pulumi.Input[Mapping[str, pulumi.Input[LintLevel]]]] = None
    config: Optional[pulumi.Input[str]] = None
    env: Optional[pulumi.Input[str]] = None
    vars: Optional[pulumi.Input[dict[str, Any]]] = None

    def url_input(self) -> pulumi.Output[str]:
        """Return the target URL as a secret Output. Raises ConfigError unless exactly one of
        ``database`` and ``url`` is given (or, with ``env``, at most one)."""
        if self.env is not None and self.database is None and self.url is None:
            return None  # type: ignore[return-value]  # the provider takes the env's url
        if (self.database is None) == (self.url is None):
            raise ConfigError("declaring a Migration: give exactly one of database= and url=")
        if self.database is not None:
            if not isinstance(self.database, Database):
                raise TypeError("Migration(database=...) takes a pulumi_migrations.Database; "
                                "pass a URL as url=")
            return self.database.url
        assert self.url is not None
        return pulumi.Output.secret(self.url)

    def dir_input(self) -> pulumi.Input[str]:
        """Return the directory path. Raises ConfigError unless exactly one of ``directory``
        and ``dir`` is given (or, with ``env``, at most one)."""
        if self.env is not None and self.directory is None and self.dir is None:
            return None  # type: ignore[return-value]  # the provider takes the env's migration.dir
        if (self.directory is None) == (self.dir is None):
            raise ConfigError("declaring a Migration: give exactly one of directory= and dir=")
        if self.directory is not None:
            if not isinstance(self.directory, MigrationDirectory):
                raise TypeError("Migration(directory=...) takes a pulumi_migrations."
                                "MigrationDirectory; pass a path as dir=")
            return self.directory.path
        assert self.dir is not None
        return absolute_path(self.dir)


class Migration(pulumi.dynamic.Resource, module="migrations", name="Migration"):
    """Brings a database to a version of a migration directory, Atlas-compatibly.

    ``pulumi preview --diff`` shows ``migrations``, the declared files with their statement
    counts: each file ``up`` would apply is a ``+`` entry, applied files stay unchanged lines
    (what ``up`` would do is also logged as one line); it never writes to the database. ``up`` applies them; a failing statement fails
    the update with the file, statement and database error, the revisions table keeps the
    progress, and the next ``up`` resumes. ``pulumi refresh`` picks up migrations applied out
    of band. ``pulumi destroy`` leaves the schema in place.

    ## Example Usage

    ```python
    from pulumi_migrations import Migration, MigrationDirectory
    migrations = MigrationDirectory("migrations", path="migrations")
    app = Migration("app", url="sqlite://app.db", directory=migrations)
    pulumi.export("version", app.applied_version)
    ```
    """

    url: pulumi.Output[str]
    """The target URL (secret)."""
    dir: pulumi.Output[str]
    """Absolute path of the migration directory (not part of the diff)."""
    version: pulumi.Output[Optional[str]]
    """The declared version, if any."""
    target_version: pulumi.Output[Optional[str]]
    """The version ``up`` migrates to (declared, or the latest file)."""
    sum: pulumi.Output[str]
    """The directory's ``atlas.sum`` total."""
    # Pulumi decodes outputs by these annotations at run time, a mapping only as a plain dict
    # (see MigrationDirectory.files); type checkers see the entries' keys.
    if TYPE_CHECKING:
        migrations: pulumi.Output[dict[str, MigrationEntry]]
    else:
        migrations: pulumi.Output[dict[str, dict[str, Any]]]
    """Per declared file (up to ``target_version``): ``{"statements": N}``, with ``findings``
    for the files that were pending when the entry was made."""
    applied_version: pulumi.Output[Optional[str]]
    """The last applied version, per the revisions table."""
    applied: pulumi.Output[list[str]]
    """Files applied by the last run."""
    pending: pulumi.Output[list[str]]
    """Files still to apply after the last ``up`` or ``refresh`` (unknown at preview)."""
    plan: pulumi.Output[str]
    """One line saying what the last ``up`` or ``refresh`` found (unknown at preview)."""
    status: pulumi.Output[str]
    """``OK``, ``PENDING`` or ``FAILED``."""
    error: pulumi.Output[Optional[str]]
    """The failed revision's error (after a refresh)."""
    error_statement: pulumi.Output[Optional[str]]
    """The statement that failed (after a refresh)."""
    revisions_table: pulumi.Output[str]
    """Schema-qualified location of the revisions table."""

    def __init__(self, resource_name: str,
                 args: Optional[Union[MigrationArgs, pulumi.ResourceOptions]] = None,
                 opts: Optional[pulumi.ResourceOptions] = None, *,
                 database: Optional[Database] = None,
                 url: Optional[pulumi.Input[str]] = None,
                 directory: Optional[MigrationDirectory] = None,
                 dir: Optional[pulumi.Input[str]] = None,
                 version: Optional[pulumi.Input[Union[str, int]]] = None,
                 baseline: Optional[pulumi.Input[str]] = None,
                 allow_dirty: Optional[pulumi.Input[bool]] = None,
                 exec_order: Optional[pulumi.Input[ExecOrder]] = None,
                 tx_mode: Optional[pulumi.Input[TxMode]] = None,
                 lock_timeout: Optional[pulumi.Input[Duration]] = None,
                 revisions_schema: Optional[pulumi.Input[str]] = None,
                 allow_changed: Optional[pulumi.Input[bool]] = None,
                 lint: Optional[pulumi.Input[Mapping[str, pulumi.Input[LintLevel]]]] = None,
                 config: Optional[pulumi.Input[str]] = None,
                 env: Optional[pulumi.Input[str]] = None,
                 vars: Optional[pulumi.Input[dict[str, Any]]] = None) -> None:
        """Declare a migration.

        :param resource_name: The resource's name in the stack.
        :param args: A ``MigrationArgs`` instead of the keywords (or the ``ResourceOptions``,
            as generated Pulumi SDKs accept them in second place).
        :param opts: Options for the resource.

        The keywords are the fields of ``MigrationArgs``, documented there. Raises
        ConfigError unless exactly one of ``database``/``url`` and of ``directory``/``dir`` is
        given, TypeError for a ``MigrationArgs`` and keywords together.
        """
        inputs, opts = resolve_args("Migration", MigrationArgs, args, opts, locals())
        props: dict[str, Any] = {f.name: getattr(inputs, f.name) for f in fields(inputs)
                                 if f.name not in ("database", "directory")}
        props["url"], props["dir"] = inputs.url_input(), inputs.dir_input()
        props["version"] = version_text(inputs.version)
        props["baseline"] = version_text(inputs.baseline)
        if isinstance(inputs.config, str):
            props["config"] = absolute_path(inputs.config.removeprefix("file://"))
        if inputs.vars is not None:
            props["vars"] = pulumi.Output.secret(inputs.vars)
        if inputs.revisions_schema is None and inputs.database is not None:
            props["revisions_schema"] = inputs.database.revisions_schema
        for output in OUTPUTS:
            props[output] = None
        super().__init__(MigrationProvider(), resource_name, props,
                         with_secret_outputs(opts, ["url", "vars"]))
