"""The optional dependency groups (pip extras) and the one import that checks for them.

``pip install pulumi-migrations`` installs the engine and the CLI (SQLite, PostgreSQL and
MySQL/MariaDB drivers, ``rich`` and ``PyYAML``). The Pulumi SDK (``pulumi_migrations``) and the
providers need the ``pulumi`` extra; ``AtlasMigrationManifests`` needs ``kubernetes``
(pulumi-kubernetes, about 64 MB). ``require`` imports such a module, and when it is missing
raises ``MissingDependencyError`` naming the extra, instead of a bare ``ModuleNotFoundError``.
The engine and the CLI never call it: they need no extra.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

#: Module that an extra provides -> the extra's name in pyproject.toml.
EXTRA_OF = {"pulumi": "pulumi", "pulumi_kubernetes": "kubernetes"}


def require(module: str, needed_for: str) -> ModuleType:
    """Import and return ``module`` (a key of ``EXTRA_OF``). Raises MissingDependencyError
    when it is not installed; an installed module failing to import raises as it would."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name != module:
            raise  # installed, but one of its own dependencies is broken: show that
        raise MissingDependencyError(module=module, extra=EXTRA_OF[module],
                                     needed_for=needed_for) from None
