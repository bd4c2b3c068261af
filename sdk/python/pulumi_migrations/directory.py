"""``MigrationDirectory``: an Atlas-format migration directory as a Pulumi resource."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Union

import pulumi
import pulumi.dynamic

from pulumi_migrations_provider.providers.directory import DirectoryProvider

if TYPE_CHECKING:
    from ._types import MigrationFileInfo
from ._util import absolute_path, resolve_args

__all__ = ["MigrationDirectory", "MigrationDirectoryArgs"]

#: The provider's outputs beyond the inputs (declared as attributes on ``MigrationDirectory``).
OUTPUTS = ("files", "latest_version", "sum")


@dataclass(kw_only=True)
class MigrationDirectoryArgs:
    """The set of arguments for constructing a MigrationDirectory resource.

    :param path: The directory holding the ``<version>_<name>.sql`` files and ``atlas.sum``
        (relative paths are resolved against the program's directory). Moving the directory
        (another checkout) is not a change.
    """

    # MigrationDirectory.__init__ repeats this as a keyword-only parameter.
    path: pulumi.Input[str]


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
    # Pulumi reads these annotations at run time to decode outputs, and it decodes a mapping
    # only as a plain dict; type checkers see the keys (the values are exactly such dicts).
    if TYPE_CHECKING:
        files: pulumi.Output[list[MigrationFileInfo]]
    else:
        files: pulumi.Output[list[dict[str, Any]]]
    """The migration files in order: ``name``, ``version``, ``description``, ``hash``."""
    latest_version: pulumi.Output[Optional[str]]
    """Version of the last file, or None for an empty directory."""
    sum: pulumi.Output[str]
    """The ``atlas.sum`` total (base64, without ``h1:``)."""

    def __init__(self, resource_name: str,
                 args: Optional[Union[MigrationDirectoryArgs, pulumi.ResourceOptions]] = None,
                 opts: Optional[pulumi.ResourceOptions] = None, *,
                 path: Optional[pulumi.Input[str]] = None) -> None:
        """Declare a migration directory.

        :param resource_name: The resource's name in the stack.
        :param args: A ``MigrationDirectoryArgs`` instead of ``path=`` (or the
            ``ResourceOptions``, as generated Pulumi SDKs accept them in second place).
        :param opts: Options for the resource.
        :param path: See ``MigrationDirectoryArgs``. Required unless ``args`` is given.
        """
        inputs, opts = resolve_args("MigrationDirectory", MigrationDirectoryArgs, args, opts,
                                  locals())
        props: dict[str, Any] = {"path": absolute_path(inputs.path)}
        for output in OUTPUTS:
            props[output] = None
        super().__init__(DirectoryProvider(), resource_name, props, opts)
