"""``MigrationDirectory``: an Atlas-format migration directory as a Pulumi resource."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi.dynamic

from pulumi_migrations_provider.providers.directory import DirectoryProvider

from ._util import absolute_path

__all__ = ["MigrationDirectory", "MigrationDirectoryArgs"]


@dataclass
class MigrationDirectoryArgs:
    """The set of arguments for constructing a MigrationDirectory resource.

    :param path: The directory holding the ``<version>_<name>.sql`` files and ``atlas.sum``
        (relative paths are resolved against the program's directory). Moving the directory
        (another checkout) is not a change.
    """

    path: pulumi.Input[str]
    """The directory holding the migration files and ``atlas.sum``."""


class MigrationDirectory(pulumi.dynamic.Resource, module="migrations", name="MigrationDirectory"):
    """A migration directory, validated against its ``atlas.sum`` at every preview.

    A stale ``atlas.sum`` fails the preview with the file and the ``atlas.sum`` line; run
    ``pulumi-migrations hash`` to re-hash. Pass the resource to ``Migration(directory=...)``.

    ## Example Usage

    ```python
    from pulumi_migrations import MigrationDirectory
    migrations = MigrationDirectory("migrations", path="migrations")
    pulumi.export("latest", migrations.latest_version)
    ```
    """

    path: pulumi.Output[str]
    """Absolute path of the directory (not part of the diff)."""
    files: pulumi.Output[list[dict[str, Any]]]
    """The migration files in order: ``name``, ``version``, ``description``, ``hash``."""
    latest_version: pulumi.Output[Optional[str]]
    """Version of the last file, or None for an empty directory."""
    sum: pulumi.Output[str]
    """The ``atlas.sum`` total (base64, without ``h1:``)."""

    def __init__(self, resource_name: str, args: MigrationDirectoryArgs | None = None,
                 opts: pulumi.ResourceOptions | None = None, *,
                 path: pulumi.Input[str] | None = None) -> None:
        """Declare a migration directory; give ``args`` or ``path=``."""
        if args is None:
            if path is None:
                raise TypeError("MigrationDirectory needs path= (or a MigrationDirectoryArgs)")
            args = MigrationDirectoryArgs(path=path)
        props = {
            "path": absolute_path(args.path),
            "files": None,
            "latest_version": None,
            "sum": None,
        }
        super().__init__(DirectoryProvider(), resource_name, props, opts)
