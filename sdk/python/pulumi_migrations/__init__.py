"""Pulumi resources for Atlas-format versioned SQL migrations.

- ``MigrationDirectory``: the ``*.sql`` files and ``atlas.sum``, validated at preview.
- ``Database``: the target; its URL and password are secrets end to end.
- ``Migration``: applies the directory to the database; preview lists the pending files.
- ``AtlasMigrationManifests``: the same directory handed to the Atlas Kubernetes operator.

Example::

    import pulumi
    from pulumi_migrations import Migration, MigrationDirectory

    migrations = MigrationDirectory("migrations", path="migrations")
    app = Migration("app", url="sqlite://app.db", directory=migrations)
    pulumi.export("version", app.applied_version)

Needs the ``pulumi`` extra (``pip install 'pulumi-migrations[pulumi]'``); importing the package
without it raises MissingDependencyError naming the extra. ``AtlasMigrationManifests`` also
needs the ``kubernetes`` extra, checked when one is created.

Each resource takes ``(resource_name, args=None, opts=None, *, <inputs>)``: the inputs as
typed keywords (documented on its ``XArgs`` class) or one ``XArgs``; the options as ``opts=``
or in second place. To add an input, see ``_util``.
"""

from pulumi_migrations_provider.extras import require

require("pulumi", "importing pulumi_migrations (the Pulumi SDK)")

from ._types import (  # noqa: E402
    Driver,
    Duration,
    ExecOrder,
    LintLevel,
    MigrationEntry,
    MigrationFileInfo,
    TxMode,
)
from .database import Database, DatabaseArgs  # noqa: E402
from .directory import MigrationDirectory, MigrationDirectoryArgs  # noqa: E402
from .manifests import AtlasMigrationManifests, AtlasMigrationManifestsArgs  # noqa: E402
from .migration import Migration, MigrationArgs  # noqa: E402

__all__ = [
    "AtlasMigrationManifests",
    "AtlasMigrationManifestsArgs",
    "Database",
    "DatabaseArgs",
    "Driver",
    "Duration",
    "ExecOrder",
    "LintLevel",
    "Migration",
    "MigrationArgs",
    "MigrationDirectory",
    "MigrationDirectoryArgs",
    "MigrationEntry",
    "MigrationFileInfo",
    "TxMode",
]
