"""``atlas.sum``: compute, parse and write it exactly as Atlas does, and validate a directory.

The per-file hashes are chained through ONE running SHA-256 over ``name1 content1 name2
content2 ...`` (a file whose first line says ``atlas:sum ignore`` feeds only its name and gets
no line); the total on line 1 is a fresh SHA-256 over each entry's name and base64 hash text.
See ``sql/migrate/dir.go`` (``NewHashFile``, ``HashFile.Sum``, ``MarshalText``,
``UnmarshalText``, ``Validate``) and atlas-formats §2.

Example::

    hf = HashFile.compute(directory.files)
    assert hf.to_bytes() == directory.sum_data
"""

from __future__ import annotations

import hashlib
from base64 import b64encode
from collections.abc import Iterable

from . import errors
from ._record import FrozenRecord

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from .migdir import MigrationDir, MigrationFile

__all__ = ["HASH_FILE_NAME", "HashFile", "validate"]

#: Name of the integrity file in a migration directory.
HASH_FILE_NAME = "atlas.sum"

_HINT = "run 'pulumi-migrations hash' to re-hash the directory if the change is intended"


def _enc(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def _b64(digest: bytes) -> str:
    return b64encode(digest).decode("ascii")


# No __slots__: ``hash_of`` caches its index in the instance __dict__.
class HashFile(FrozenRecord):
    """The content of an ``atlas.sum``.

    ``total`` is the base64 total (44 chars, no ``h1:``); ``entries`` are ``(file name, base64
    hash without h1:)`` in directory order. Files opted out with ``atlas:sum ignore`` have no
    entry. Frozen and hashable.
    """

    _fields = ("total", "entries")
    total: str
    entries: tuple[tuple[str, str], ...]

    def __init__(self, total: str, entries: tuple[tuple[str, str], ...]) -> None:
        self._assign(total, entries)

    @staticmethod
    def sum_of(entries: Iterable[tuple[str, str]]) -> str:
        """Return the total of these entries: SHA-256 over each name then hash text, base64."""
        h = hashlib.sha256()
        for name, digest in entries:
            h.update(_enc(name))
            h.update(digest.encode("utf-8", "surrogateescape"))
        return _b64(h.digest())

    @classmethod
    def compute(cls, files: Iterable[MigrationFile]) -> HashFile:
        """Hash migration files (already in directory order) with Atlas's chained SHA-256."""
        h = hashlib.sha256()
        entries = []
        for f in files:
            h.update(_enc(f.name))
            if f.sum_ignored:
                continue
            h.update(f.data)
            entries.append((f.name, _b64(h.digest())))
        return cls(cls.sum_of(entries), tuple(entries))

    @classmethod
    def parse(cls, data: bytes, *, source: str = HASH_FILE_NAME) -> HashFile:
        """Parse ``atlas.sum`` bytes with Atlas's rules; return the HashFile.

        Lines split on LF with one trailing CR dropped; line 1 is the total (``h1:`` prefix
        optional); every other line is split at its first ``h1:`` (name trimmed, hash kept
        verbatim). ``source`` names the file in messages.
        Raises ``errors.ChecksumFormatError`` (``line`` set) for a line without ``h1:`` (any
        blank line too) and ``errors.ChecksumError(reason="mismatch", line=1)`` when the total
        does not match the listed entries.
        """
        total, entries = _read(data, source)
        hf = cls(total, entries)
        if hf.sum_of(hf.entries) != total:
            raise errors.ChecksumError(
                f"reading {source}: L1: the total does not match the entries listed below it "
                "(checksum mismatch); run 'pulumi-migrations hash' to re-hash the directory",
                line=1, reason="mismatch",
            )
        return hf

    def to_bytes(self) -> bytes:
        """Render as Atlas writes it: ``h1:<total>\\n`` then ``<name> h1:<hash>\\n`` per entry."""
        out = [f"h1:{self.total}\n"]
        out.extend(f"{name} h1:{digest}\n" for name, digest in self.entries)
        return "".join(out).encode("utf-8", "surrogateescape")

    def hash_of(self, name: str) -> str | None:
        """Return the hash (no ``h1:``) recorded for a file name, or None if it has no entry."""
        index = self.__dict__.get("_index")
        if index is None:  # built once; the class is frozen, so bypass __setattr__
            index = dict(self.entries)
            object.__setattr__(self, "_index", index)
        return index.get(name)


def _read(data: bytes, source: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``atlas.sum``'s stored total and entries, by Atlas's rules (``HashFile.parse``), without
    checking the total; ``errors.ChecksumFormatError`` for a line without ``h1:``."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the final newline ends the last line; it is not an empty line
    lines = [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]
    first = lines[0].decode("utf-8", "surrogateescape") if lines else ""
    total = first[3:] if first.startswith("h1:") else first
    entries = []
    for no, raw in enumerate(lines[1:], start=2):
        text = raw.decode("utf-8", "surrogateescape")
        name, sep, digest = text.partition("h1:")
        if not sep:
            what = "is blank" if not text.strip() else "has no 'h1:' hash"
            raise errors.ChecksumFormatError(
                f"reading {source}: line {no} {what} (checksum file format invalid); "
                "run 'pulumi-migrations hash' to re-create it", line=no)
        entries.append((name.strip(), digest))
    return total, tuple(entries)


def validate(directory: MigrationDir) -> HashFile:
    """Check a directory against its ``atlas.sum`` (Atlas ``Validate``); return the computed sum.

    No ``atlas.sum`` is fine only for a directory without files. Otherwise the stored file is
    parsed (its own consistency first) and only the totals are compared; on a difference the
    first differing line is located with Atlas's walk.
    Raises ``errors.ChecksumMissingError``, ``errors.ChecksumFormatError``, and
    ``errors.ChecksumError`` with ``file``, ``line`` (1-based in atlas.sum) and ``reason``
    (``added``/``edited``/``removed``, or ``mismatch`` for a self-inconsistent file).
    """
    computed = directory.hash_file()
    where = directory.where
    if directory.sum_data is None:
        if directory.files:
            raise errors.ChecksumMissingError(
                f"validating {where}: {HASH_FILE_NAME} not found; "
                "run 'pulumi-migrations hash' to create it"
            )
        return computed
    total, entries = _read(directory.sum_data, f"{HASH_FILE_NAME} in {where}")
    if HashFile.sum_of(entries) != total:
        raise _inconsistent(total, entries, computed, where)
    if total == computed.total:
        return computed
    stored = HashFile(total, entries)
    line, file, reason = _locate(stored.entries, computed.entries)
    where_line = f"L{line}: {file} was {reason}" if file is not None else f"L{line}: {reason}"
    raise errors.ChecksumError(
        f"validating {HASH_FILE_NAME} in {where}: {where_line}; {_HINT}",
        file=file, line=line, reason=reason,
    )


def _inconsistent(total: str, entries: tuple[tuple[str, str], ...], computed: HashFile,
                  where: str) -> errors.ChecksumError:
    """The error for an ``atlas.sum`` whose total does not match its own lines, naming the line
    at fault: when the total is the directory's, the lines were edited by hand (one deleted in a
    merge, say); otherwise the first line that differs from the directory too."""
    line, file, reason = _locate(entries, computed.entries)
    if total == computed.total and file is not None:
        problem = {
            "added": f"L{line}: the line of {file} is missing (the total on L1 counts it; "
                     "checksum mismatch)",
            "removed": f"L{line}: {file} is listed, but the total on L1 does not count it "
                       "(checksum mismatch)",
            "edited": f"L{line}: the hash of {file} was changed (the total on L1 counts "
                      "another; checksum mismatch)",
        }[reason]
    else:
        problem = "L1: the total does not match the entries listed below it (checksum mismatch)"
        if file is not None:
            problem += f", and L{line} ({file}) does not match the directory either"
        else:
            line = 1
    return errors.ChecksumError(
        f"validating {HASH_FILE_NAME} in {where}: {problem}; run 'pulumi-migrations hash' to "
        "re-hash the directory", file=file, line=line, reason="mismatch")


def _locate(stored: tuple[tuple[str, str], ...],
            computed: tuple[tuple[str, str], ...]) -> tuple[int, str | None, str]:
    """Atlas's ChecksumError walk: (line, file, reason) of the first differing entry."""
    names = [n for n, _ in computed]
    for i, entry in enumerate(stored):
        if i < len(computed) and entry == computed[i]:
            continue
        name = entry[0]
        if name not in names:
            return i + 2, name, "removed"
        j = names.index(name)
        if j == i:
            return i + 2, name, "edited"
        if i < len(computed):
            return i + 2, computed[i][0], "added"
        return i + 2, name, "removed"  # listed twice in the sum; the dir has fewer files
    if len(stored) < len(computed):
        return len(stored) + 2, computed[len(stored)][0], "added"
    return 1, None, "mismatch"
