"""pulumi-migrations engine: Atlas-format migration directories applied to SQLite, PostgreSQL and MySQL/MariaDB.

The table of contents:

- ``engine``: ``status``, ``apply``, ``inspect`` (the entry points the CLI and the providers call)
- ``migdir``: ``MigrationDir`` / ``MigrationFile`` (which files, versions, directives)
- ``sumfile``: ``HashFile`` and ``validate`` (atlas.sum, byte-compatible with Atlas)
- ``lex``: ``split_statements`` (Atlas's statement scanner) and ``statement_hashes``
- ``target``: ``Target`` (URLs and structured connection parts, password never printed)
- ``dialects``: the dialect contract (``dialects.base``) and one module per database: connect, settings, locks, error wording
- ``revisions``: the ``atlas_schema_revisions`` table
- ``plan`` / ``executor``: pending computation and execution
- ``k8s``: ConfigMap + Secret + AtlasMigration manifests
- ``errors``: every error a user can cause (``MigrateError`` and subclasses)
- ``durations``: Go durations (``10s``), parsed and printed
- ``extras``: the pip extras (``pulumi``, ``kubernetes``) and the error naming a missing one

Imports are lazy so that the CLI starts fast; ``MigrationProvider`` and friends load pulumi
only when first touched (it comes with the ``pulumi`` extra).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself is not imported at start-up (~2 ms)
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "MigrationDir": "migdir", "MigrationFile": "migdir", "HashFile": "sumfile",
    "Target": "target", "Options": "reports", "StatusReport": "reports", "ApplyReport": "reports",
    "TargetInfo": "reports", "MigrateError": "errors",
    "MigrationProvider": "providers", "DatabaseProvider": "providers", "DirectoryProvider": "providers",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pulumi_migrations_provider' has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(f".{module}", __name__), name)
