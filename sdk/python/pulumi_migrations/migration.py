"""``Migration``: apply a migration directory to a database, as a Pulumi resource."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Union

import pulumi
import pulumi.dynamic

from pulumi_migrations_provider.errors import ConfigError
from pulumi_migrations_provider.providers.migration import MigrationProvider

from ._util import absolute_path, version_text, with_secret_outputs
from .database import Database
from .directory import MigrationDirectory

__all__ = ["Migration", "MigrationArgs"]


@dataclass
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
    :param lock_timeout: Seconds to wait for another run's migration lock (default 10).
    :param revisions_schema: Where the revisions table lives (overrides the Database's).
    :param allow_changed: Proceed although an applied file's content changed since it ran
        (default: such an edit fails the preview, naming the file).
    :param config: An Atlas project file (``atlas.hcl``, path or ``file://``); with ``env``,
        that env's ``url``, ``migration.dir`` and migration settings fill what is not given
        here (what is given here wins), as ``--config``/``--env`` do on the CLI.
    :param env: The env block of ``config`` to read (one instance: no ``for_each``).
    :param vars: Values of the project file's variables (``--var``), stored as a secret.
    """

    database: Optional[Database] = None
    """The target database resource."""
    url: Optional[pulumi.Input[str]] = None
    """The target database URL (secret)."""
    directory: Optional[MigrationDirectory] = None
    """The migration directory resource."""
    dir: Optional[pulumi.Input[str]] = None
    """The migration directory path."""
    version: Optional[pulumi.Input[Union[str, int]]] = None
    """Version to migrate to (default: the latest file)."""
    baseline: Optional[pulumi.Input[str]] = None
    """Baseline version for a database that already has a schema."""
    allow_dirty: Optional[pulumi.Input[bool]] = None
    """Allow starting on a non-empty database."""
    exec_order: Optional[pulumi.Input[str]] = None
    """``linear``, ``linear-skip`` or ``non-linear``."""
    tx_mode: Optional[pulumi.Input[str]] = None
    """``file``, ``all`` or ``none``."""
    lock_timeout: Optional[pulumi.Input[float]] = None
    """Seconds to wait for the migration lock."""
    revisions_schema: Optional[pulumi.Input[str]] = None
    """Where the revisions table lives."""
    allow_changed: Optional[pulumi.Input[bool]] = None
    """Accept applied files whose content changed since they ran."""
    config: Optional[pulumi.Input[str]] = None
    """Atlas project file (atlas.hcl) read with ``env``."""
    env: Optional[pulumi.Input[str]] = None
    """The env block of ``config``."""
    vars: Optional[pulumi.Input[dict[str, Any]]] = None
    """The project file's variables."""

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

    ``pulumi preview --diff`` shows the files ``up`` would apply (``pending``) and a one-line
    ``plan``; it never writes to the database. ``up`` applies them; a failing statement fails
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
    applied_version: pulumi.Output[Optional[str]]
    """The last applied version, per the revisions table."""
    applied: pulumi.Output[list[str]]
    """Files applied by the last run."""
    pending: pulumi.Output[list[str]]
    """Files still to apply (at preview: what ``up`` would apply)."""
    plan: pulumi.Output[str]
    """One line saying what ``up`` does (or did), or why pending is unknown."""
    status: pulumi.Output[str]
    """``OK``, ``PENDING`` or ``FAILED``."""
    error: pulumi.Output[Optional[str]]
    """The failed revision's error (after a refresh)."""
    error_statement: pulumi.Output[Optional[str]]
    """The statement that failed (after a refresh)."""
    revisions_table: pulumi.Output[str]
    """Schema-qualified location of the revisions table."""

    def __init__(self, resource_name: str, args: MigrationArgs | None = None,
                 opts: pulumi.ResourceOptions | None = None, **kwargs: Any) -> None:
        """Declare a migration; give ``args`` or the ``MigrationArgs`` fields as keywords."""
        if args is None:
            args = MigrationArgs(**kwargs)
        elif kwargs:
            raise TypeError("Migration takes either args or keyword arguments, not both")
        url, path = args.url_input(), args.dir_input()
        revisions_schema: Any = args.revisions_schema
        if revisions_schema is None and args.database is not None:
            revisions_schema = args.database.revisions_schema
        props: dict[str, Any] = {
            "url": url,
            "dir": path,
            "version": version_text(args.version),
            "baseline": version_text(args.baseline),
            "allow_dirty": args.allow_dirty,
            "exec_order": args.exec_order,
            "tx_mode": args.tx_mode,
            "lock_timeout": args.lock_timeout,
            "revisions_schema": revisions_schema,
            "allow_changed": args.allow_changed,
            "config": absolute_path(args.config.removeprefix("file://"))
            if isinstance(args.config, str) else args.config,
            "env": args.env,
            "vars": pulumi.Output.secret(args.vars) if args.vars is not None else None,
        }
        for output in ("target_version", "sum", "applied_version", "applied", "pending", "plan",
                       "status", "error", "error_statement", "revisions_table"):
            props[output] = None
        super().__init__(MigrationProvider(), resource_name, props,
                         with_secret_outputs(opts, ["url", "vars"]))
