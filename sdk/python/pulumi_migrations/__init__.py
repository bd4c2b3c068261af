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
"""

from .database import Database, DatabaseArgs
from .directory import MigrationDirectory, MigrationDirectoryArgs
from .manifests import AtlasMigrationManifests, AtlasMigrationManifestsArgs
from .migration import Migration, MigrationArgs

__all__ = [
    "AtlasMigrationManifests",
    "AtlasMigrationManifestsArgs",
    "Database",
    "DatabaseArgs",
    "Migration",
    "MigrationArgs",
    "MigrationDirectory",
    "MigrationDirectoryArgs",
]
