"""Tiny test helpers: a migration directory with a correct atlas.sum; CLI processes at once."""

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


_STARTER = """
import sys
from pulumi_migrations_provider.cli import main
sys.stdin.read(1)  # every process imported: go at once
main(sys.argv[1:])
"""


def cli_at_once(*argvs: list[str]) -> list[tuple[int, str, str]]:
    """Run one CLI process per ``argv``, all imported first and then released together (for
    races); return each one's (exit code, stdout, stderr), in order."""
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", _STARTER, *argv], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for argv in argvs]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("g")
        p.stdin.flush()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        results.append((p.returncode, out, err))
    return results
