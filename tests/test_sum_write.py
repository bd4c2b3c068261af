"""``hash`` rewrites atlas.sum under the directory lock ``new`` takes, and atomically.

Audit: ``hash`` listed the directory without the lock, so a ``new`` finishing in between lost
its atlas.sum entry to ``hash``'s stale rewrite; and atlas.sum was written in place, so a full
disk or a crash mid-write left it truncated (every later command then refuses the directory).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pulumi_migrations_provider import migdir
from pulumi_migrations_provider.migdir import MigrationDir
from pulumi_migrations_provider.sumfile import HashFile
from tests.dirtools import cli_at_once, make_dir
from tests.test_cli import one_error_line, run


def test_new_finishing_while_hash_computes_keeps_its_entry(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The interleaving made deterministic: while ``hash`` computes the sum, a ``new`` runs (in a
    thread: flock excludes another open of the directory in the same process too). Unlocked,
    ``new`` finished first and ``hash`` then wrote the sum without the new file."""
    root = make_dir(tmp_path, {"20200101000000_init.sql": "CREATE TABLE a (id int);\n"})
    compute = HashFile.compute
    created: list[str] = []
    waited: list[bool] = []

    def new() -> None:
        created.append(MigrationDir.load(root).new_file("x", "CREATE TABLE x (id int);\n").name)

    def compute_while_new_runs(files: Any) -> HashFile:
        if threading.current_thread() is threading.main_thread() and not waited:
            other = threading.Thread(target=new)
            other.start()
            other.join(timeout=1.0)  # unlocked: done in milliseconds; locked: it waits for us
            waited.append(other.is_alive())
            threads.append(other)
        return compute(files)

    threads: list[threading.Thread] = []
    monkeypatch.setattr(HashFile, "compute", staticmethod(compute_while_new_runs))
    result = run("hash", "--dir", root)
    assert result.exit_code == 0, result.output
    for t in threads:
        t.join(timeout=30)
    assert len(created) == 1
    d = MigrationDir.load(root)
    d.validate()  # atlas.sum names every file present, with its hash (unlocked: not the new one)
    assert d.hash_file().hash_of(created[0]) is not None
    assert waited == [True], "new did not wait for hash's directory lock"


def test_concurrent_hash_and_new_never_lose_an_entry(tmp_path: Path) -> None:
    """Three ``hash`` and three ``new`` processes released together, in rounds: every run
    succeeds and atlas.sum always names every file."""
    root = make_dir(tmp_path, {"20200101000000_init.sql": "A;"})
    created: list[str] = []
    for _ in range(3):
        for code, out, err in cli_at_once(*[[*args, "--dir", str(root)]
                                            for args in (["new", "x"], ["hash"]) * 3]):
            assert code == 0, err
            if not out.startswith("atlas.sum updated"):
                created.append(Path(out.strip()).name)
        d = MigrationDir.load(root)
        d.validate()
        assert sorted(created) == [f.name for f in d.files[1:]]
    assert len(set(created)) == 9


def _stale_dir(tmp_path: Path) -> tuple[Path, bytes]:
    """A directory whose atlas.sum misses its second file: ``hash`` would rewrite it."""
    root = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (id int);\n"})
    (root / "2_b.sql").write_text("CREATE TABLE b (id int);\n")
    return root, (root / "atlas.sum").read_bytes()


def test_a_failed_write_leaves_the_old_sum_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills half way through the write: one line, the old atlas.sum byte for byte, no
    temporary file left; once there is room, ``hash`` succeeds."""
    root, old = _stale_dir(tmp_path)

    def half_then_full(fd: int, data: Any) -> int:
        os.write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(migdir, "os", SimpleNamespace(**{**vars(os), "write": half_then_full}))
    result = run("hash", "--dir", root)
    assert result.exit_code == 1, result.output
    line = one_error_line(result.stderr)
    assert "writing atlas.sum" in line and "No space left on device" in line, line
    assert (root / "atlas.sum").read_bytes() == old
    assert sorted(p.name for p in root.iterdir()) == ["1_a.sql", "2_b.sql", "atlas.sum"]
    monkeypatch.undo()
    assert run("hash", "--dir", root).exit_code == 0
    MigrationDir.load(root).validate()


_KILLED_AT_FSYNC = """
import os, signal, sys
from pulumi_migrations_provider import migdir
from pulumi_migrations_provider.cli import main
def die(fd):
    os.kill(os.getpid(), signal.SIGKILL)  # a crash once the new bytes are written, not yet renamed
migdir.os = type(os)("os_killed_at_fsync")
migdir.os.__dict__.update({**vars(os), "fsync": die})
main(sys.argv[1:])
"""


def test_a_crash_mid_write_leaves_the_old_sum_whole(tmp_path: Path) -> None:
    """SIGKILL while writing: the old atlas.sum is untouched (written in place it was truncated
    and half rewritten); at most a ``.atlas.sum.<hex>.tmp`` that nothing reads is left."""
    root, old = _stale_dir(tmp_path)
    p = subprocess.run([sys.executable, "-c", _KILLED_AT_FSYNC, "hash", "--dir", str(root)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == -9, (p.returncode, p.stderr)
    assert (root / "atlas.sum").read_bytes() == old
    left = [p.name for p in root.iterdir() if p.name not in ("1_a.sql", "2_b.sql", "atlas.sum")]
    assert all(n.startswith(".atlas.sum.") and n.endswith(".tmp") for n in left), left
    assert [f.name for f in MigrationDir.load(root).files] == ["1_a.sql", "2_b.sql"]
    assert run("hash", "--dir", root).exit_code == 0
    MigrationDir.load(root).validate()


def test_hash_keeps_the_sum_files_mode(tmp_path: Path) -> None:
    root, _ = _stale_dir(tmp_path)
    (root / "atlas.sum").chmod(0o640)
    assert run("hash", "--dir", root).exit_code == 0
    assert (root / "atlas.sum").stat().st_mode & 0o7777 == 0o640
    MigrationDir.load(root).validate()


def test_a_new_sum_file_gets_the_umask_mode(tmp_path: Path) -> None:
    root, _ = _stale_dir(tmp_path)
    (root / "atlas.sum").unlink()
    old = os.umask(0o027)
    try:
        assert run("hash", "--dir", root).exit_code == 0
    finally:
        os.umask(old)
    assert (root / "atlas.sum").stat().st_mode & 0o7777 == 0o640


def test_a_symlinked_sum_is_replaced_through_the_link(tmp_path: Path) -> None:
    root, _ = _stale_dir(tmp_path)
    real = tmp_path / "kept" / "atlas.sum"
    real.parent.mkdir()
    (root / "atlas.sum").rename(real)
    (root / "atlas.sum").symlink_to(real)
    assert run("hash", "--dir", root).exit_code == 0
    assert (root / "atlas.sum").is_symlink()
    MigrationDir.load(root).validate()
