"""Helpers shared by the dynamic providers: unknown values, input coercion, logging, directories.

Nothing here holds state: the providers are pickled into Pulumi state by reference and one
instance serves up to four threads of the provider server at once.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import uuid
from typing import Any, Callable, Mapping, TypeVar

from pulumi.output import Unknown

from ..durations import parse_duration
from ..errors import ChecksumError, ConfigError, MigrateError
from ..migdir import MigrationDir
from ..sumfile import HashFile
from ..target import Target

#: Prefix of every line the providers print (the engine shows them under the stack).
LOG_PREFIX = "pulumi-migrations"


#: The remedies of errors.HINTS in the resources' words (inputs), appended to the engine's message.
HINT_WORDS = {
    "baseline_or_allow_dirty": "; set baseline=VERSION to mark existing migrations as applied, "
                               "or allow_dirty=True to apply on top of it",
    "exec_order": ', or set exec_order="non-linear" to run it, or "linear-skip" to skip it',
    "allow_changed": " (set allow_changed=True for one update to accept the edit: its new hash is "
                     "recorded, and the input can be removed again)",
    "lock_timeout": " or raise lock_timeout",
    "tx_mode_file": ' or set tx_mode="file"',
    "revisions_schema": "; remove revisions_schema",
    "resolve_in_doubt": ": answer once with the CLI (pulumi-migrations apply with resolve-in-doubt "
                        "done if it did, redo to run it again), then update the stack",
    "set_allow_partial": " with the CLI (pulumi-migrations set {version} with allow-partial), "
                         "then update the stack",
    "allow_partial": " (the CLI's pulumi-migrations set with allow-partial records it as fully "
                     "applied)",
    "config_scheme": "; set config to file://PATH or a path",
    "config_missing": "; set config to the atlas.hcl's path (file://PATH or a path, relative "
                      "to the Pulumi program's directory)",
    "env_name": "; set env to one of them",
    "var_value": '; set vars={"{name}": VALUE}',
    "var_unknown": " or remove {name} from vars",
}


def resource_message(err: MigrateError) -> str:
    """The error's message with its remedy worded as the resource's inputs."""
    return err.render(HINT_WORDS)


# The provider server turns any exception into ``traceback.format_exc()`` for the engine, which
# shows it whole: the useful message would come last, after the traceback. Python prints a
# chained exception's cause first, and a cause that was never raised has no traceback (hence no
# "Traceback ..." header): so a MigrateError leaves our methods re-raised from a frameless
# exception whose one line is ``pulumi-migrations: <message>`` (in the resource's words) (a class in ``builtins`` prints
# without a module path). The last line still names the error class, with a short traceback.
_Headline = type(LOG_PREFIX, (Exception,), {"__module__": "builtins",
                                            "__doc__": "The one-line error shown first."})
_C = TypeVar("_C", bound=type)
_METHODS = ("check", "diff", "create", "read", "update", "delete")


def _error_first(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except MigrateError as err:
            raise err.with_traceback(None) from _Headline(" ".join(resource_message(err).split()))
    return wrapper


def error_first(cls: _C) -> _C:
    """Class decorator for a provider: a MigrateError raised by ``check``, ``diff``,
    ``create``, ``read``, ``update`` or ``delete`` reaches the user with its one-line message
    as the first line of what the engine shows (see ``_Headline``)."""
    for name in _METHODS:
        if name in vars(cls):
            setattr(cls, name, _error_first(vars(cls)[name]))
    return cls


def is_unknown(value: Any) -> bool:
    """True for a value Pulumi does not know yet (``pulumi.output.Unknown``, preview only)."""
    return isinstance(value, Unknown)


def log(message: str) -> None:
    """Print one line to stderr, flushed (the engine forwards it; there is no per-resource log)."""
    print(f"{LOG_PREFIX}: {message}", file=sys.stderr, flush=True)


def where(url: Any) -> str:
    """The URL for a log line, password masked; never fails (delete must not get stuck)."""
    try:
        return Target.parse(url).redacted()
    except (ConfigError, TypeError):
        return "the database"


def new_id(kind: str) -> str:
    """Return a fresh resource id such as ``migration-3f2a…``."""
    return f"{kind}-{uuid.uuid4().hex[:16]}"


def as_version(value: Any) -> str | None:
    """Return a declared version as text; numbers arrive as floats on the wire (``2.0`` → ``"2"``)."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_bool(value: Any, default: bool = False) -> bool:
    """Return a boolean input, ``default`` when unset."""
    return default if value is None else bool(value)


def as_float(value: Any, default: float, option: str | None = None) -> float:
    """Return a number of seconds: ``default`` when unset, a number as is, a string as a Go
    duration (``"10s"``, ``"1m30s"``) or seconds (``"2.5"``), as Atlas's flags take it.
    Raises ConfigError (about ``option``) otherwise."""
    if value is None:
        return default
    try:
        return parse_duration(value) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"reading inputs: {value!r} is not a duration such as '10s' or a "
                          "number of seconds").about(option) from None


def load_directory(path: Any) -> tuple[MigrationDir, HashFile]:
    """Load and validate the migration directory at ``path``; return it with its computed sum.

    Many resources share one directory: a directory whose entries (names, sizes, mtimes,
    inodes of the ``.sql`` files and ``atlas.sum``) are unchanged since the last call is not
    read and hashed again (one ``scandir`` and a ``stat`` per file instead). A directory with
    a file modified in the last two seconds is never cached (Git's "racy" rule: a rewrite
    within the file system's timestamp granularity could keep size and mtime).

    Raises ConfigError when ``path`` is not a string or missing, and the directory's
    DirError subclasses (ChecksumError with ``file`` and ``line``) when ``atlas.sum`` is stale.
    """
    if not isinstance(path, str) or not path:
        raise ConfigError("reading inputs: the migration directory path must be a non-empty string")
    key = path
    signature = _signature(path)
    if signature is not None:
        with _DIR_LOCK:
            hit = _DIR_CACHE.get(key)
        if hit is not None and hit[0] == signature:
            return hit[1], hit[2]
    directory = MigrationDir.load(path)
    sums = directory.validate()
    if signature is not None and signature == _signature(path) and not _racy(signature):
        with _DIR_LOCK:
            _DIR_CACHE[key] = (signature, directory, sums)
            while len(_DIR_CACHE) > _DIR_CACHE_SIZE:
                _DIR_CACHE.pop(next(iter(_DIR_CACHE)))
    return directory, sums


_DIR_CACHE: dict[str, tuple[tuple[Any, ...], MigrationDir, HashFile]] = {}
_DIR_CACHE_SIZE = 16
_DIR_LOCK = threading.Lock()


def _racy(signature: tuple[Any, ...]) -> bool:
    import time

    newest = max((mtime for _, _, mtime, _ in signature[1]), default=0)
    return newest > time.time_ns() - 2_000_000_000


def _signature(path: str) -> tuple[Any, ...] | None:
    """What identifies the directory's content cheaply; None when it cannot be listed (the
    load then raises the proper error)."""
    from ..migdir import dir_path

    try:
        root = dir_path(path)
        entries = sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns, e.inode())
                         for e in os.scandir(root)
                         if e.name.endswith(".sql") or e.name == "atlas.sum")
    except (OSError, ConfigError):
        return None
    return (str(root.absolute()), tuple(entries))


def dir_failure_reason(err: MigrateError) -> str:
    """Turn a directory error into a check failure reason naming file and atlas.sum line."""
    reason = resource_message(err)
    if isinstance(err, ChecksumError):
        located = []
        if err.file and err.file not in reason:
            located.append(f"file {err.file}")
        if err.line and f"L{err.line}" not in reason and f"line {err.line}" not in reason:
            located.append(f"atlas.sum line {err.line}")
        if located:
            reason += f" ({', '.join(located)})"
    if "pulumi-migrations hash" not in reason and isinstance(err, ChecksumError):
        reason += "; run 'pulumi-migrations hash' to re-hash the directory"
    return reason


def describe_directory(directory: MigrationDir, sums: HashFile) -> dict[str, Any]:
    """Return the outputs describing a directory: files, latest version and the atlas.sum total."""
    files = [
        {"name": f.name, "version": f.version, "description": f.description,
         "hash": sums.hash_of(f.name) or ""}
        for f in directory.files
    ]
    return {"files": files, "latest_version": directory.latest_version, "sum": sums.total}


def pick(props: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Copy the keys of ``props`` that are present and not None."""
    return {k: props[k] for k in keys if props.get(k) is not None}


def changed_keys(olds: Mapping[str, Any], news: Mapping[str, Any], keys: tuple[str, ...]) -> list[str]:
    """Return the keys whose values differ; an unknown new value always counts as a change."""
    return [k for k in keys if is_unknown(news.get(k)) or olds.get(k) != news.get(k)]
