"""Migration locks that exclude Atlas too: one per dialect, each returning an unlock function.

- PostgreSQL: session advisory lock on Atlas's key, the 32-bit FNV-1 of ``atlas_migrate_execute``.
- MySQL/MariaDB: ``GET_LOCK('atlas_migrate_execute', seconds)`` on the migrating connection.
- SQLite: Atlas's lock file in the temp directory, plus an ``flock`` of our own.
"""

from __future__ import annotations

import os
import time
import zlib
from typing import TYPE_CHECKING, Any

from .errors import LockError
from .target import Target

if TYPE_CHECKING:
    from .connection import Connection

LOCK_NAME = "atlas_migrate_execute"


def _jitter() -> float:
    """A random fraction in [0, 1) for retry back-off (random is imported only when waiting)."""
    import random

    return random.random()


def lock_held(target: Target, waited: float) -> LockError:
    """The error for a migration lock another run holds."""
    return LockError(
        f"acquiring the migration lock on {target.redacted()}: another run holds it "
        f"(waited {waited:g}s); wait for it to finish or raise --lock-timeout")


def fnv1_32(data: bytes) -> int:
    """32-bit FNV-1 (not 1a): Atlas's PostgreSQL advisory-lock key function."""
    h = 0x811C9DC5
    for b in data:
        h = (h * 0x01000193) & 0xFFFFFFFF
        h ^= b
    return h


PG_LOCK_KEY = fnv1_32(LOCK_NAME.encode())  # 2686470616, as Atlas computes it


def postgres_lock(conn: Connection, timeout: float) -> Any:
    """Poll ``pg_try_advisory_lock`` on Atlas's key with Atlas's back-off; session-scoped."""
    deadline = time.monotonic() + timeout
    base = 0.025
    while True:
        if conn.query("SELECT pg_try_advisory_lock(?)", (PG_LOCK_KEY,))[0][0]:
            break
        if time.monotonic() >= deadline:
            raise lock_held(conn.target, timeout)
        time.sleep(min(base + _jitter() * base, max(0.0, deadline - time.monotonic())))
        base = min(base * 2, 1.0)

    def unlock() -> None:
        try:
            conn.query("SELECT pg_advisory_unlock(?)", (PG_LOCK_KEY,))
        except Exception:
            pass  # closing the session releases it anyway
    return unlock


def mysql_lock(conn: Connection, timeout: float) -> Any:
    """``GET_LOCK`` with Atlas's name; MySQL takes whole seconds, as Atlas passes them."""
    got = conn.query("SELECT GET_LOCK(?, ?)", (LOCK_NAME, int(timeout)))[0][0]
    if got != 1:
        raise lock_held(conn.target, int(timeout))

    def unlock() -> None:
        try:
            conn.query("SELECT RELEASE_LOCK(?)", (LOCK_NAME,))
        except Exception:
            pass
    return unlock


def _atlas_file_free(atlas_file: str, owner: int) -> bool:
    """True when Atlas's lock file is absent, expired, or left by a dead run of ours (its value
    is the one recorded in the owner file, whose flock the caller now holds)."""
    try:
        with open(atlas_file, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        return True
    recorded = os.pread(owner, 64, 0)
    if recorded and raw == recorded:
        return True
    try:
        expires = int(raw.strip() or b"0")
    except ValueError:
        expires = 0
    return expires <= time.time_ns()


def sqlite_lock(target: Target, timeout: float) -> Any:
    """Atlas's lock file plus an OS lock of our own.

    Atlas writes ``<tmp>/atlas_migrate_execute[_<adler32>].lock`` holding an expiry in Unix
    nanoseconds and does not wait. Its check-then-create is racy, so between our own processes
    we first take an ``flock`` on a per-database file (released by the OS even on SIGKILL),
    then honour and write Atlas's file so Atlas sees the lock too.
    """
    import fcntl

    import tempfile  # lazy, like random: tempfile pulls in shutil, bz2 and lzma

    tmp = tempfile.gettempdir()
    path = target.sqlite_path()
    ours = os.path.join(tmp, "pulumi_migrations_%08x.lock" % zlib.adler32(path.encode()))
    fd = os.open(ours, os.O_CREAT | os.O_RDWR, 0o600)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise lock_held(target, timeout) from None
            time.sleep(0.02 + _jitter() * 0.03)
    name = LOCK_NAME
    if target.is_memory:  # Atlas's DSN starts with "file:" only in memory mode
        name = f"{name}_{zlib.adler32((target.database or 'file').encode()):x}"
    atlas_file = os.path.join(tmp, name + ".lock")
    # Who of ours wrote Atlas's file: a run holds an flock on this companion for as long as the
    # file is its own, and records the value it wrote. A waiter that gets the flock knows no run
    # of ours is alive behind the file; if the file still holds the recorded value, the run that
    # wrote it was killed, and the file is stale (it is never Atlas's: Atlas writes other values).
    owner = os.open(os.path.join(tmp, name + ".lock.owner"), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        while True:
            try:
                fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if _atlas_file_free(atlas_file, owner):
                    break
                fcntl.flock(owner, fcntl.LOCK_UN)
            except BlockingIOError:
                pass  # a live run of ours owns Atlas's file
            if time.monotonic() >= deadline:
                raise LockError(
                    f"acquiring the migration lock on {target.redacted()}: Atlas's lock file "
                    f"{atlas_file} is held; wait for the other run to finish or raise --lock-timeout")
            time.sleep(0.02 + _jitter() * 0.03)
    except BaseException:
        os.close(owner)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        raise
    ours_value = str(time.time_ns() + int(timeout * 1e9)).encode()
    with open(atlas_file, "wb") as out:
        out.write(ours_value)
    os.ftruncate(owner, 0)
    os.pwrite(owner, ours_value, 0)

    def unlock() -> None:
        try:  # remove Atlas's file only while it is still ours (another run may own it now)
            with open(atlas_file, "rb") as fh:
                if fh.read() == ours_value:
                    os.remove(atlas_file)
        except FileNotFoundError:
            pass
        os.ftruncate(owner, 0)
        fcntl.flock(owner, fcntl.LOCK_UN)
        os.close(owner)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    return unlock
