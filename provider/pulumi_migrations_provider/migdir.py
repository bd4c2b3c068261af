"""The migration directory: Atlas-format ``*.sql`` files plus ``atlas.sum``.

``MigrationDir`` lists the top-level ``*.sql`` files of a directory exactly as Atlas's
``LocalDir.Files`` does (case-sensitive glob, hidden files included, no recursion, sorted
byte-wise by name) and keeps each file's raw bytes. ``MigrationFile`` derives the version and
description from the name and reads the header directives (``atlas:txmode``,
``atlas:checkpoint``, ``atlas:sum ignore``) with Atlas's rules.

Example::

    d = MigrationDir.load("file://migrations")
    d.validate()                       # raises ChecksumError & co. when atlas.sum is stale
    for f in d.files:
        print(f.version, f.description, f.txmode)
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import errors
from ._record import FrozenRecord
from .sumfile import HASH_FILE_NAME, HashFile
from .sumfile import validate as _validate

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Any

__all__ = ["MigrationFile", "MigrationDir", "VERSION_FORMAT", "dir_path", "encode_name"]

#: ``strftime`` layout of generated versions (Go layout ``20060102150405``, UTC).
VERSION_FORMAT = "%Y%m%d%H%M%S"

# Atlas's reDirective (sql/migrate/dir.go): a printable-ASCII prefix, ``atlas:<name>`` and the
# optional space-separated arguments. Bytes pattern, so ``\w`` is ASCII-only as in Go.
_RE_DIRECTIVE = re.compile(rb"^([ -~]*)atlas:(\w+)(?: +([ -~]*))*")
_TXMODES = ("none", "file")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def encode_name(name: str) -> bytes:
    """Return the bytes of a file name as the OS stores them (UTF-8, undecodable bytes kept)."""
    return name.encode("utf-8", "surrogateescape")


def _directive(line: bytes) -> tuple[str, str] | None:
    """Match one line against Atlas's directive regex; return (name, args) or None."""
    if b"atlas:" not in line:
        return None
    m = _RE_DIRECTIVE.match(line)
    if m is None:
        return None
    return m.group(2).decode("ascii"), (m.group(3) or b"").decode("ascii")


def _go_quote(s: str) -> str:
    """Render a printable-ASCII string the way Go's %q does."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# No __slots__: the cached properties below live in the instance __dict__.
class MigrationFile(FrozenRecord):
    """One migration file: its base name and raw bytes.

    ``version`` is the name without one trailing ``.sql``, up to the first ``_``;
    ``description`` is what follows the first ``_`` (one trailing ``.sql`` stripped), or ``""``
    when the name has no ``_``. Both are computed from ``name`` (Atlas ``LocalFile``).
    Frozen and hashable; ``==`` compares all four fields, ``repr`` leaves ``data`` out.
    """

    _fields = ("name", "data", "version", "description")
    _hidden = ("data",)
    name: str
    data: bytes
    version: str
    description: str

    def __init__(self, name: str, data: bytes) -> None:
        stem = name[:-4] if name.endswith(".sql") else name
        _, sep, rest = name.partition("_")
        desc = rest[:-4] if rest.endswith(".sql") else rest
        # Straight into __dict__ (frozen: __setattr__ refuses); a no-op run builds 2,000 of these.
        self.__dict__.update(name=name, data=data, version=stem.split("_", 1)[0],
                             description=desc if sep else "")

    def replace(self, **changes: Any) -> MigrationFile:
        """A new file with ``changes`` (``name``, ``data``) applied; ``version`` and
        ``description`` are recomputed from the name. Passing either of them raises TypeError,
        as ``dataclasses.replace`` does for an ``init=False`` field."""
        for derived in ("version", "description"):
            if derived in changes:
                raise TypeError(f"field {derived} is derived from the name; it cannot be "
                                "specified with replace()")
        return type(self)(**{"name": self.name, "data": self.data, **changes})

    def text(self) -> str:
        """Return the content decoded as UTF-8.

        Raises ``errors.FileEncodingError`` (with ``file``, ``offset``, ``line``, ``col``) when
        the bytes are not valid UTF-8, start with a UTF-8 byte order mark, or hold a NUL byte.
        Atlas sends both of the latter to the database as they are: a BOM becomes part of the
        first statement (a syntax error on PostgreSQL and MySQL, silently accepted by SQLite), a
        NUL fails only when its statement is reached, after earlier files were applied. We
        refuse the file before anything runs.
        """
        data = self.data
        if data.startswith(b"\xef\xbb\xbf"):
            raise self._encoding_error(0, "starts with a UTF-8 byte order mark; save the file as "
                                          "UTF-8 without BOM")
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # its NULs would be blamed otherwise
            raise self._encoding_error(0, "is UTF-16 (it starts with a UTF-16 byte order mark); "
                                          "save the file as UTF-8 without BOM")
        nul = data.find(b"\0")
        if nul >= 0:
            raise self._encoding_error(nul, "holds a NUL byte, which no database accepts in a "
                                            "statement; remove it (write it as an escape, e.g. "
                                            "char(0), if the data needs one)")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise self._encoding_error(err.start, "has an invalid UTF-8 byte; save the file as "
                                                  "UTF-8") from err

    def _encoding_error(self, offset: int, what: str) -> errors.FileEncodingError:
        data = self.data
        line = data.count(b"\n", 0, offset) + 1
        col = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
        return errors.FileEncodingError(
            f"reading {self.name}: {self.name}:{line}:{col} (offset {offset}) {what}",
            file=self.name, offset=offset, line=line, col=col)

    @cached_property
    def _header(self) -> tuple[tuple[str, str], ...]:
        """The (name, args) directives of the file header; empty when there is no header.

        Atlas ``LocalFile.comments``: the file must start with lines beginning with ``--`` or
        ``#``; the header must be followed by a line holding only spaces/tabs, or by nothing.
        A header-only file without a final newline does not count.
        """
        content = self.data
        if not content.startswith((b"#", b"--")):
            return ()  # most files: no header, and no copy of the content to find that out
        lines: list[bytes] = []
        at = 0  # offsets, not slices: a 10 MB seed file was copied once per header line
        while content.startswith((b"#", b"--"), at):
            idx = content.find(b"\n", at)
            if idx == -1:
                return ()  # comments-only file without final newline: not a header
            lines.append(content[at:idx].strip())
            at = idx + 1
        if at < len(content):
            after = content[at:at + 4096].lstrip(b" \t")
            if not after:  # 4 KiB of blanks: look further (never in a real file)
                after = content[at:].lstrip(b" \t")
            if not after.startswith(b"\n"):
                return ()
        found = (_directive(line) for line in lines)
        return tuple(d for d in found if d is not None)

    def directives(self, name: str) -> list[str]:
        """Return the arguments of every header directive ``atlas:<name>``, in file order.

        A directive without arguments yields ``""``. Returns ``[]`` when the file has no
        header (Atlas requires a blank line after it; CRLF headers are not honoured).
        """
        return [args for d, args in self._header if d == name]

    @property
    def txmode(self) -> str | None:
        """Return the file's ``atlas:txmode`` (``"none"`` or ``"file"``), or None if unset.

        Raises ``errors.DirectiveError`` for ``all``, an unknown value, or two txmode lines.
        """
        ds = self.directives("txmode")
        if not ds:
            return None
        if len(ds) > 1:
            values = "[" + " ".join(_go_quote(d) for d in ds) + "]"
            problem = f"multiple txmode values found in file {_go_quote(self.name)}: {values}"
        elif ds[0] == "all":
            problem = (f'txmode "all" is not allowed in file directive {_go_quote(self.name)}. '
                       'Use "file" instead')
        elif ds[0] in _TXMODES:
            return ds[0]
        else:
            problem = f"unknown txmode {_go_quote(ds[0])} found in file directive {_go_quote(self.name)}"
        line = self._directive_line("txmode", len(ds) if len(ds) > 1 else 1)
        raise errors.DirectiveError(
            f"reading directives of {self.name}:{line}:1: {problem}; keep one "
            "'-- atlas:txmode none|file' line", file=self.name)

    def _directive_line(self, name: str, nth: int) -> int:
        """The 1-based line of the ``nth`` header directive ``atlas:<name>`` (1 if not found)."""
        seen = 0
        for number, line in enumerate(self.data.split(b"\n"), 1):
            if not line.startswith((b"#", b"--")):
                break
            d = _directive(line.strip())
            if d is not None and d[0] == name:
                seen += 1
                if seen == nth:
                    return number
        return 1

    @property
    def is_checkpoint(self) -> bool:
        """True when the header carries ``atlas:checkpoint`` (with or without a tag)."""
        return bool(self.directives("checkpoint"))

    @cached_property
    def sum_ignored(self) -> bool:
        """True when the FIRST line contains ``atlas:sum ignore`` (any printable prefix).

        Such a file is still a migration, but its content is left out of ``atlas.sum``.
        """
        end = self.data.find(b"\n")
        first = self.data if end == -1 else self.data[:end]
        return _directive(first) == ("sum", "ignore")


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _read_bytes(path: str) -> bytes:
    """The file's bytes through raw ``os.read``: half the cost of ``open().read()`` (no
    buffered file object), which matters when a no-op run reads 2,000 files."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        parts = [os.read(fd, 65536)]
        if len(parts[0]) == 65536:  # a large file: read it whole, not in pieces joined
            size = os.fstat(fd).st_size
            os.lseek(fd, 0, os.SEEK_SET)
            parts = []
            while chunk := os.read(fd, max(size + 1, 65536)):
                parts.append(chunk)
    finally:
        os.close(fd)
    return parts[0] if len(parts) == 1 else b"".join(parts)


class MigrationDir:
    """A migration directory: its ``*.sql`` files (sorted byte-wise by name) and ``atlas.sum``.

    ``path`` is None for an in-memory directory (``from_files``). ``files`` must not be
    mutated by callers; use ``new_file``. Every version is unique (we are stricter than Atlas:
    two files with one version would share one revision row); ``unique_versions=False`` lifts
    that check for read-only work such as hashing an Atlas directory like ``testdata/migrate``.
    """

    def __init__(self, path: Path | None, files: Iterable[MigrationFile], sum_data: bytes | None,
                 *, unique_versions: bool = True):
        self.path = path
        self.files: list[MigrationFile] = sorted(files, key=lambda f: encode_name(f.name))
        self.sum_data = sum_data
        self._hash: tuple[tuple[MigrationFile, ...], HashFile] | None = None
        if unique_versions:
            _check_versions(self.files)

    def __repr__(self) -> str:
        return f"MigrationDir(path={self.path!r}, files={len(self.files)})"

    @property
    def where(self) -> str:
        """Human-readable location for messages: the path, or ``<in-memory directory>``."""
        return str(self.path) if self.path is not None else "<in-memory directory>"

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path, *, unique_versions: bool = True) -> MigrationDir:
        """Read a directory from disk (a plain path, ``file://rel/path`` or ``file:///abs``).

        Raises ``errors.ConfigError`` (bad URL, missing directory, not a directory),
        ``errors.FileNameError`` (a ``*.sql`` entry that is a directory or unreadable),
        ``errors.DuplicateVersionError`` (unless ``unique_versions=False``).
        """
        root = dir_path(path)
        try:
            entries = [e for e in os.scandir(root) if e.name.endswith(".sql")]
        except FileNotFoundError as err:
            raise errors.ConfigError(
                f"opening migration directory {root}: it does not exist; create it or fix the path"
            ) from err
        except NotADirectoryError as err:
            raise errors.ConfigError(
                f"opening migration directory {root}: it is not a directory; pass the directory "
                "that holds the .sql files"
            ) from err
        except OSError as err:
            raise errors.ConfigError(f"opening migration directory {root}: {err.strerror}") from err
        files = []
        for entry in entries:
            try:
                data = _read_bytes(entry.path)
            except IsADirectoryError as err:
                raise errors.FileNameError(
                    f"reading migration directory {root}: {entry.name!r} is a directory, not a "
                    "migration file; rename it so it does not end in .sql"
                ) from err
            except OSError as err:
                raise errors.FileNameError(
                    f"reading migration directory {root}: cannot read {entry.name!r}: "
                    f"{err.strerror}; fix its permissions or remove it"
                ) from err
            files.append(MigrationFile(entry.name, data))
        try:
            sum_data: bytes | None = (root / HASH_FILE_NAME).read_bytes()
        except FileNotFoundError:
            sum_data = None
        except OSError as err:
            raise errors.FileNameError(
                f"reading migration directory {root}: cannot read {HASH_FILE_NAME}: "
                f"{err.strerror}; remove it and run 'pulumi-migrations hash'"
            ) from err
        return cls(root, files, sum_data, unique_versions=unique_versions)

    @classmethod
    def from_files(cls, files: Mapping[str, bytes], sum_data: bytes | None = None,
                   path: Path | None = None, *, unique_versions: bool = True) -> MigrationDir:
        """Build a directory in memory from ``{name: bytes}`` (non-``.sql`` names are ignored).

        ``atlas.sum`` may be passed either as ``sum_data`` or as a ``files`` entry. Same rules
        as ``load``: names with ``/`` are refused (``errors.FileNameError``), duplicate versions
        raise ``errors.DuplicateVersionError``.
        """
        if sum_data is None and HASH_FILE_NAME in files:
            sum_data = bytes(files[HASH_FILE_NAME])
        out = []
        for name, data in files.items():
            if not name.endswith(".sql"):
                continue
            if "/" in name or "\\" in name or name in (".", ".."):
                raise errors.FileNameError(
                    f"reading migration files: {name!r} is not a plain file name; "
                    "migration directories have no subdirectories"
                )
            out.append(MigrationFile(name, bytes(data)))
        return cls(Path(path) if path is not None else None, out, sum_data,
                   unique_versions=unique_versions)

    # --- queries --------------------------------------------------------------------------

    def file(self, version: str) -> MigrationFile | None:
        """Return the file with this version, or None."""
        for f in self.files:
            if f.version == version:
                return f
        return None

    @property
    def latest_version(self) -> str | None:
        """Version of the last file in directory order, or None for an empty directory."""
        return self.files[-1].version if self.files else None

    def hash_file(self) -> HashFile:
        """Return the computed sum of the current files (cached until the files change)."""
        key = tuple(self.files)
        if self._hash is not None and len(self._hash[0]) == len(key) and all(
                a is b for a, b in zip(self._hash[0], key)):
            return self._hash[1]
        hf = HashFile.compute(self.files)
        self._hash = (key, hf)
        return hf

    def validate(self) -> HashFile:
        """Check ``atlas.sum`` against the files (``sumfile.validate``); return the computed sum."""
        return _validate(self)

    # --- writes ---------------------------------------------------------------------------

    def write_sum(self) -> bytes:
        """Rewrite ``atlas.sum`` from scratch from ``files``; return its bytes.

        On disk the file is replaced atomically (``_write``); for an in-memory directory only
        ``sum_data`` is updated. No lock: ``rehash`` is ``hash`` (``atlas migrate hash``).
        """
        data = self.hash_file().to_bytes()
        if self.path is not None:
            _write(self.path / HASH_FILE_NAME, data, "writing atlas.sum")
        self.sum_data = data
        return data

    @classmethod
    def rehash(cls, path: str | Path, *, unique_versions: bool = True) -> MigrationDir:
        """``hash``: rewrite ``atlas.sum`` from every ``*.sql`` file present; return the directory.

        Under the directory ``flock`` that ``new_file`` takes, the directory is read only once
        the lock is held, so a concurrent ``new`` of ours cannot have its entry dropped by a
        ``hash`` that listed the directory before the new file existed (and vice versa).
        """
        root = dir_path(path)
        lock = _lock_dir(root, "rewriting atlas.sum")
        try:
            d = cls.load(root, unique_versions=unique_versions)
            d.write_sum()
        finally:
            if lock is not None:
                os.close(lock)  # releases the flock
        return d

    def new_file(self, name: str, content: bytes | str = b"", *,
                 now: datetime | None = None) -> MigrationFile:
        """Create ``<version>_<name>.sql`` (or ``<version>.sql``) and re-hash (``migrate new``).

        The version is ``now`` (default: the current time) in UTC as ``%Y%m%d%H%M%S``; a naive
        ``now`` is taken as UTC. The directory is validated first, as Atlas does, so a stale
        ``atlas.sum`` is not silently blessed. Returns the new file.
        ``errors.FileNameError`` for a name with a path separator, and validation errors. When the
        version is taken (``new`` twice in one second), the next free second is used: Atlas would
        write a second file of the same version, which every later command then refuses.

        On disk, concurrent ``new`` (and ``hash``: ``rehash``) runs of ours take turns: each
        holds an ``flock`` on the directory while it re-reads it, validates, creates its file
        exclusively (``O_EXCL``: an existing name, written by Atlas say, moves it to the next
        second) and rewrites ``atlas.sum`` with every file present. Atlas takes no lock: a
        concurrent ``atlas migrate new`` can still drop our entry from the sum, as it can its own.
        """
        if "/" in name or "\\" in name or "\n" in name:
            raise errors.FileNameError(
                f"creating a migration file: {name!r} cannot be part of a file name; "
                "use letters, digits and underscores"
            )
        from datetime import datetime, timedelta, timezone

        moment = now or datetime.now(timezone.utc)
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc)
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        lock = None if self.path is None else _lock_dir(self.path, "creating a migration file")
        try:
            if self.path is not None:  # what the directory holds now, not when it was loaded
                fresh = MigrationDir.load(self.path)
                self.files, self.sum_data, self._hash = fresh.files, fresh.sum_data, None
            self.validate()
            taken = {f.version for f in self.files}
            while True:
                version = moment.strftime(VERSION_FORMAT)
                moment += timedelta(seconds=1)
                if version in taken:  # `new` twice in one second: the next free second
                    continue
                fname = f"{version}_{name}.sql" if name else f"{version}.sql"
                if self.path is None or _create(self.path / fname, data):
                    break
            new = MigrationFile(fname, data)
            self.files = sorted([*self.files, new], key=lambda f: encode_name(f.name))
            self.write_sum()
        finally:
            if lock is not None:
                os.close(lock)  # releases the flock
        return new


#: How long ``new`` and ``hash`` wait for another ``new`` or ``hash`` of ours in the directory.
NEW_LOCK_TIMEOUT = 10.0


def _lock_dir(path: Path, doing: str) -> int | None:
    """An ``flock`` on the directory ``path`` (its descriptor: close it to release), or None
    where the file system cannot lock (``O_EXCL`` still keeps the files apart). ``doing`` starts
    the message when another run of ours holds it too long."""
    import fcntl
    import time

    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None  # missing or unreadable: load() says so in its own words
    deadline = time.monotonic() + NEW_LOCK_TIMEOUT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise errors.FileNameError(
                    f"{doing} in {path}: another 'new' or 'hash' there has held the directory "
                    f"lock for {NEW_LOCK_TIMEOUT:g}s; retry when it has finished") from None
            time.sleep(0.005)
        except OSError:
            os.close(fd)
            return None


def _create(path: Path, data: bytes) -> bool:
    """Create ``path`` holding ``data`` if no file has that name; False if one has."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return False
    except OSError as err:
        raise errors.FileNameError(f"creating a migration file: cannot write {path}: "
                                   f"{err.strerror}; check the directory's permissions") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    except OSError as err:
        path.unlink(missing_ok=True)
        raise errors.FileNameError(f"creating a migration file: cannot write {path}: "
                                   f"{err.strerror}; check the directory's permissions") from None
    return True


def _write(path: Path, data: bytes, doing: str) -> None:
    """Replace the file ``path`` by ``data`` atomically: a temporary file in the same directory,
    written, fsynced, given the old file's mode (a new one gets 0666 less the umask, as any new
    file), then ``os.replace``d over it and the directory fsynced. A failure at any point (a
    full disk, a crash) leaves the old file whole; an error also removes the temporary file (a
    killed process may leave its ``.atlas.sum.<hex>.tmp``, which nothing reads). A symbolic
    link is followed: its target is replaced. An OS error becomes a one-line FileNameError."""
    target = Path(os.path.realpath(path))
    tmp: Path | None = None
    try:
        try:
            mode: int | None = os.stat(target).st_mode & 0o7777
        except FileNotFoundError:
            mode = None
        while True:
            name = target.with_name(f".{target.name}.{os.urandom(4).hex()}.tmp")
            try:
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                break
            except FileExistsError:
                continue
        tmp = name
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        tmp = None
        _fsync_dir(target.parent)
    except OSError as err:
        raise errors.FileNameError(
            f"{doing}: cannot write {path}: {err.strerror or err}; {path.name} is unchanged; "
            "check the directory's permissions and free space"
        ) from None
    finally:
        if tmp is not None:
            try:
                tmp.unlink()
            except OSError:
                pass


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (best effort: not every file system can)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _check_versions(files: list[MigrationFile]) -> None:
    """Raise DuplicateVersionError for the first version shared by two files."""
    seen: dict[str, list[str]] = {}
    for f in files:
        seen.setdefault(f.version, []).append(f.name)
    for version, names in seen.items():
        if len(names) > 1:
            raise errors.DuplicateVersionError(version, names)


def dir_path(path: str | Path) -> Path:
    """Turn a plain path or Atlas ``file://`` URL into a Path (``file://a/b`` is relative).

    Raises ``errors.ConfigError`` for another scheme, a ``format`` other than ``atlas``, or a
    URL that names no directory. Nothing is read: the path may not exist yet.
    """
    if isinstance(path, Path):
        return path
    if not _URL_SCHEME.match(path):
        return Path(path)
    parts = urlsplit(path)
    if parts.scheme.lower() != "file":
        raise errors.ConfigError(
            f"opening migration directory {path!r}: unsupported scheme {parts.scheme!r}; "
            "use a path or a file:// URL"
        )
    fmt = [v for k, v in _query(parts.query) if k == "format"]
    if fmt and fmt[-1] not in ("", "atlas"):
        raise errors.ConfigError(
            f"opening migration directory {path!r}: format {fmt[-1]!r} is not supported; "
            "only Atlas-format directories (format=atlas) are"
        )
    raw = unquote(parts.netloc + parts.path)
    if not raw:
        raise errors.ConfigError(
            f"opening migration directory {path!r}: the URL names no directory; "
            "use file://relative/path or file:///absolute/path"
        )
    return Path(raw)


def _query(q: str) -> list[tuple[str, str]]:
    """Split a URL query into (key, value) pairs (percent-decoded)."""
    out = []
    for part in q.split("&"):
        if part:
            k, _, v = part.partition("=")
            out.append((unquote(k), unquote(v)))
    return out
