"""Tiny test helper: write a migration directory with a correct atlas.sum (no conftest needed)."""

from __future__ import annotations

from pathlib import Path

from pulumi_migrations_provider.migdir import MigrationDir


def make_dir(tmp_path: Path, files: dict[str, bytes | str], *, name: str = "migrations",
             with_sum: bool = True) -> Path:
    """Write ``files`` ({file name: content}) under ``tmp_path/name``; return that directory.

    ``str`` content is written as UTF-8. With ``with_sum`` (default) a correct ``atlas.sum`` is
    written too, computed by the engine (``MigrationDir.write_sum``).
    """
    root = tmp_path / name
    root.mkdir(parents=True, exist_ok=True)
    for fname, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (root / fname).write_bytes(data)
    if with_sum:
        MigrationDir.load(root, unique_versions=False).write_sum()
    return root
