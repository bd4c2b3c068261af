"""Pulumi dynamic providers behind the SDK's resources (the only engine code importing pulumi).

Each provider lives in its own module of this installed package, so dill pickles it by
reference and the provider server always runs the current code. Never move or rename these
classes: existing stacks name them in their state.
"""

from .database import DatabaseProvider
from .directory import DirectoryProvider
from .migration import MigrationProvider

__all__ = ["DatabaseProvider", "DirectoryProvider", "MigrationProvider"]
