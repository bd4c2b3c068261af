"""Pulumi dynamic providers behind the SDK's resources (the only engine code importing pulumi).

Each provider lives in its own module of this installed package, so dill pickles it by
reference and the provider server always runs the current code. Never move or rename these
classes: existing stacks name them in their state. Needs the ``pulumi`` extra.
"""

from ..extras import require

require("pulumi", "loading the pulumi-migrations providers")

from .database import DatabaseProvider  # noqa: E402
from .directory import DirectoryProvider  # noqa: E402
from .migration import MigrationProvider  # noqa: E402

__all__ = ["DatabaseProvider", "DirectoryProvider", "MigrationProvider"]
