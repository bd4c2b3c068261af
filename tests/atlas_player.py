"""Atlas's part in the interop suite: ``atlas migrate apply`` / ``status`` as Atlas v1.2.3 does them.

``PlayedAtlas`` re-enacts, with the raw drivers and none of the engine's run code, what ariga/atlas
does (``sql/migrate/migrate.go`` ``Executor.Pending`` / ``ExecuteFile`` / ``writeRevision``;
``cmd/atlas/internal/migrate/ent`` for the revisions table; ``sql/{sqlite,postgres,mysql}/driver.go``
for locks and the clean check; quoted in ``shared reference atlas-formats.md``):

- atlas.sum is recomputed here (one running SHA-256 over name and bytes of every file);
- statements are split by the project's ``lex`` module, the one piece borrowed: it is checked
  against Atlas's own golden files in ``tests/test_lex.py``;
- a row is created once per version with ``type 2``, ``total`` and ``hash`` of that first
  attempt and is never given another total or hash (a resume keeps both); every write is ent's
  upsert, which never touches ``version``, ``description``, ``executed_at``;
- ``executed_at`` as each Go driver stores ``time.Now()`` (SQLite: TEXT
  ``2006-01-02 15:04:05.999999999-07:00``; PostgreSQL timestamptz; MySQL UTC wall time),
  ``partial_hashes`` as ent's JSON bytes (SQLite: a BLOB, ``X'6e756c6c'`` when done),
  ``error`` in the Go driver's words (mattn: SQLite's text; lib/pq: ``pq: <message>``;
  go-sql-driver: ``Error N (SQLSTATE): <message>``), ``operator_version`` ``Atlas CLI v1.2.3``;
- ``--tx-mode file`` runs a file and its revision writes in one transaction: on SQLite and
  PostgreSQL a failure rolls the row back too (on PostgreSQL the final write itself fails,
  ``current transaction is aborted``); on MariaDB each DDL commits what came before it;
- a partially applied last file is resumed from ``applied`` after the history check; with a nil
  ``partial_hashes`` and ``applied > 0`` the Go code indexes past the slice and panics (exit 2);
- locks: SQLite lock file in the temp directory (never waits), PostgreSQL
  ``pg_try_advisory_lock(2686470616)`` polled, MySQL ``GET_LOCK('atlas_migrate_execute', s)``.

``BinaryAtlas`` runs a real ``atlas`` binary (``ATLAS_BIN`` or PATH) with the same interface, so the
interop tests run against both where one is installed. ``atlas_binary()`` finds it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from pulumi_migrations_provider import dialects, lex

from tests.helpers import dbcheck

OPERATOR = "Atlas CLI v1.2.3"
LOCK_NAME = "atlas_migrate_execute"
PG_LOCK_KEY = 2686470616  # 32-bit FNV-1 of LOCK_NAME (sql/postgres/driver.go)
TABLE = "atlas_schema_revisions"
COLUMNS = ("version", "description", "type", "applied", "total", "executed_at", "execution_time",
           "error", "error_stmt", "hash", "partial_hashes", "operator_version")
IMMUTABLE = ("version", "description", "executed_at")  # ent: never in UpdateNewValues

# The revisions table as Atlas's ent migration creates it (reference section 3; MariaDB's
# executed_at as the issue measured it: ``timestamp NULL DEFAULT NULL``).
DDL = {
    "sqlite": [
        "CREATE TABLE `atlas_schema_revisions` (`version` text NOT NULL, `description` text NOT NULL, "
        "`type` integer NOT NULL DEFAULT (2), `applied` integer NOT NULL DEFAULT (0), "
        "`total` integer NOT NULL DEFAULT (0), `executed_at` datetime NOT NULL, "
        "`execution_time` integer NOT NULL, `error` text NULL, `error_stmt` text NULL, "
        "`hash` text NOT NULL, `partial_hashes` json NULL, `operator_version` text NOT NULL, "
        "PRIMARY KEY (`version`))"],
    "postgresql": [
        'CREATE SCHEMA IF NOT EXISTS "atlas_schema_revisions"',
        'CREATE TABLE "atlas_schema_revisions"."atlas_schema_revisions" ("version" character varying '
        'NOT NULL, "description" character varying NOT NULL, "type" bigint NOT NULL DEFAULT 2, '
        '"applied" bigint NOT NULL DEFAULT 0, "total" bigint NOT NULL DEFAULT 0, "executed_at" '
        'timestamptz NOT NULL, "execution_time" bigint NOT NULL, "error" text NULL, "error_stmt" text '
        'NULL, "hash" character varying NOT NULL, "partial_hashes" jsonb NULL, "operator_version" '
        'character varying NOT NULL, PRIMARY KEY ("version"))'],
    "mysql": [
        "CREATE TABLE `atlas_schema_revisions` (`version` varchar(255) NOT NULL, `description` "
        "varchar(255) NOT NULL, `type` bigint unsigned NOT NULL DEFAULT 2, `applied` bigint NOT NULL "
        "DEFAULT 0, `total` bigint NOT NULL DEFAULT 0, `executed_at` timestamp NULL DEFAULT NULL, "
        "`execution_time` bigint NOT NULL, `error` longtext NULL, `error_stmt` longtext NULL, `hash` "
        "varchar(255) NOT NULL, `partial_hashes` json NULL, `operator_version` varchar(255) NOT NULL, "
        "PRIMARY KEY (`version`)) CHARSET utf8mb4 COLLATE utf8mb4_bin"],
}


@dataclass
class Outcome:
    """What a CLI run ended with: Atlas's exit code (0 ok, 1 error, 2 Go panic) and its text."""
    exit_code: int
    output: str = ""


@dataclass
class Status:
    """``atlas migrate status``: Status OK|PENDING, Current, Next, executed rows, pending names."""
    status: str
    current: str
    next: str
    executed: int
    pending: list[str] = field(default_factory=list)
    error: str = ""


class AtlasError(Exception):
    """An error Atlas reports (exit 1)."""


class GoPanic(Exception):
    """Where Atlas's Go code panics (exit 2)."""


# --- directory ---------------------------------------------------------------------------------


def migration_files(directory: Path) -> list[Path]:
    """``LocalDir.Files``: top-level ``*.sql``, sorted byte-wise by name."""
    return sorted((p for p in directory.iterdir() if p.name.endswith(".sql") and p.is_file()),
                  key=lambda p: p.name.encode())


def version_of(name: str) -> str:
    return name[:-4].split("_", 1)[0]


def desc_of(name: str) -> str:
    base = name[:-4]
    return base.split("_", 1)[1] if "_" in base else ""


def sum_hashes(directory: Path) -> dict[str, str]:
    """``NewHashFile``: {file name: base64 chained hash}, ``atlas:sum ignore`` files left out."""
    h = hashlib.sha256()
    out = {}
    for p in migration_files(directory):
        data = p.read_bytes()
        h.update(p.name.encode())
        first = data.split(b"\n", 1)[0]
        if b"atlas:sum ignore" in first:
            continue
        h.update(data)
        out[p.name] = base64.b64encode(h.digest()).decode()
    return out


def sum_file(directory: Path) -> str:
    """The text of ``atlas.sum`` as ``atlas migrate hash`` writes it."""
    hashes = sum_hashes(directory)
    lines = [f"{name} h1:{value}" for name, value in hashes.items()]
    total = hashlib.sha256()
    for name, value in hashes.items():
        total.update(name.encode())
        total.update(value.encode())
    return "\n".join([f"h1:{base64.b64encode(total.digest()).decode()}"] + lines) + "\n"


def _validate(directory: Path) -> None:
    """``migrate.Validate``: atlas.sum must match the files (compared here as text)."""
    path = directory / "atlas.sum"
    if not path.exists() or path.read_text() != sum_file(directory):
        raise AtlasError("checksum mismatch: You have a checksum error in your migration directory. "
                         "Please run 'atlas migrate hash' to re-hash the contents and resolve the error")


def statement_hashes(statements: list[str]) -> list[str]:
    h = hashlib.sha256()
    out = []
    for s in statements:
        h.update(s.encode())
        out.append(base64.b64encode(h.digest()).decode())
    return out


# --- the played CLI -----------------------------------------------------------------------------


class PlayedAtlas:
    """Atlas v1.2.3's ``migrate apply`` / ``migrate status`` in Python (see the module docstring)."""

    kind = "played"

    def apply(self, url: str, directory: Path, amount: int | None = None, *,
              baseline: str | None = None, tx_mode: str = "file",
              lock_timeout: float = 10.0) -> Outcome:
        try:
            applied = self._apply(url, directory, amount, baseline, tx_mode, lock_timeout)
        except AtlasError as err:
            return Outcome(1, f"Error: {err}")
        except GoPanic as err:
            return Outcome(2, f"panic: {err}")
        return Outcome(0, "No migration files to execute" if not applied
                       else f"{len(applied)} migrations")

    def status(self, url: str, directory: Path) -> Status:
        """``migrate status`` (no lock, nothing written). ``current`` is the last row's version
        ("" when none), ``next`` the first pending file's ("" when none)."""
        _validate(directory)
        d = dbcheck.dialect_of(url)
        files = migration_files(directory)
        if d == "sqlite" and not os.path.exists(dbcheck.sqlite_path(url)):
            revs: list[dict] = []
        else:
            conn = dbcheck.connect(url)
            try:
                revs = _read_all(conn, d) if _table_exists(conn, d) else []
                pending = _pending(conn, d, url, files, revs, None, write=False) if revs else files
            finally:
                conn.close()
        if not revs:
            pending = files
        last = revs[-1] if revs else None
        error = last["error"] if last and last["applied"] != last["total"] else ""
        return Status("PENDING" if pending else "OK", last["version"] if last else "",
                      version_of(pending[0].name) if pending else "", len(revs),
                      [f.name for f in pending], error or "")

    @contextlib.contextmanager
    def hold_lock(self, url: str) -> Iterator[None]:
        """Hold Atlas's migration lock, as a running ``atlas migrate apply`` does."""
        conn = dbcheck.connect(url)
        unlock = _lock(conn, dbcheck.dialect_of(url), 10.0)
        try:
            yield
        finally:
            unlock()
            conn.close()

    def _apply(self, url: str, directory: Path, amount: int | None, baseline: str | None,
               tx_mode: str, lock_timeout: float) -> list[str]:
        d = dbcheck.dialect_of(url)
        _validate(directory)
        sums = sum_hashes(directory)
        conn = dbcheck.connect(url)
        try:
            unlock = _lock(conn, d, lock_timeout)
            try:
                if not _table_exists(conn, d):
                    for ddl in DDL[d]:
                        _exec(conn, d, ddl)
                files = migration_files(directory)
                pending = _pending(conn, d, url, files, _read_all(conn, d), baseline, write=True)
                if amount:
                    pending = pending[:amount]
                for f in pending:
                    _execute_file(conn, d, f, sums, tx_mode)
                return [f.name for f in pending]
            finally:
                unlock()
        finally:
            conn.close()


def _execute_file(conn: Any, d: str, f: Path, sums: dict[str, str], tx_mode: str) -> None:
    """``Executor.ExecuteFile`` inside the tx-mode's transaction, with ``writeRevision``'s upsert."""
    if f.name not in sums:
        raise AtlasError(f'sql/migrate: scanning checksum from "{f.name}": checksum not found')
    text = f.read_bytes().decode()
    stmts = [s.text for s in lex.split_statements(text, dialects.named(d).scan_options, file=f.name)]
    hashes = statement_hashes(stmts)
    txmode = tx_mode
    for line in text.split("\n\n", 1)[0].splitlines() if text.startswith(("--", "#")) else []:
        if "atlas:txmode" in line:
            txmode = line.split("atlas:txmode", 1)[1].strip()
    in_tx = txmode != "none"
    if in_tx:
        _exec(conn, d, "BEGIN")
    failure: Exception | None = None
    try:
        r = _read_one(conn, d, version_of(f.name))
        if r is None:  # first attempt: total and hash are fixed here, for good
            r = {"version": version_of(f.name), "description": desc_of(f.name), "type": 2,
                 "applied": 0, "total": len(stmts), "executed_at": None, "execution_time": 0,
                 "error": "", "error_stmt": "", "hash": sums[f.name], "partial_hashes": None}
        last_write = _write(conn, d, r)  # "started"
        if r["applied"] > 0:
            for i in range(r["applied"]):
                if i > len(hashes) or r["partial_hashes"] is None or i >= len(r["partial_hashes"]):
                    raise GoPanic(f"runtime error: index out of range [{i}]")
                if hashes[i] != r["partial_hashes"][i].removeprefix("h1:"):
                    failure = AtlasError(f'sql/migrate: statement {i + 1} in file "{f.name}" has changed')
                    break
        if failure is None:
            for stmt in stmts[r["applied"]:]:
                try:
                    _exec(conn, d, stmt)
                except Exception as err:  # the driver's error, in the Go driver's words
                    r["error_stmt"], r["error"] = stmt, _go_error(d, err)
                    r["execution_time"] = time.monotonic_ns() - last_write
                    failure = AtlasError(f'sql/migrate: executing statement "{stmt}" from version '
                                         f'"{r["version"]}": {r["error"]}')
                    break
                r["partial_hashes"] = (r["partial_hashes"] or []) + ["h1:" + hashes[r["applied"]]]
                r["applied"] += 1
                r["error"] = r["error_stmt"] = ""
                last_write = _write(conn, d, r)
            else:
                r["partial_hashes"] = None
                r["execution_time"] = time.monotonic_ns() - last_write
        try:  # the deferred final write
            _write(conn, d, r)
        except Exception as err:
            failure = AtlasError(f"{failure}\nsql/migrate: write revision: {_go_error(d, err)}")
    except BaseException:
        if in_tx:
            _exec(conn, d, "ROLLBACK")
        raise
    if in_tx:
        _exec(conn, d, "ROLLBACK" if failure is not None else "COMMIT")
    if failure is not None:
        raise failure


def _pending(conn: Any, d: str, url: str, files: list[Path], revs: list[dict],
             baseline: str | None, *, write: bool) -> list[Path]:
    """``Executor.Pending`` (no checkpoints, linear order)."""
    if not revs:
        reason = _dirty(conn, d)
        if reason and not baseline:
            raise AtlasError(f"sql/migrate: connected database is not clean: {reason}. baseline "
                             "version or allow-dirty is required")
        if baseline:
            idx = max((i for i, f in enumerate(files) if version_of(f.name) == baseline), default=-1)
            if idx == -1:
                raise AtlasError(f"baseline version {baseline!r} not found")
            if write:
                _write(conn, d, {"version": baseline, "description": desc_of(files[idx].name),
                                 "type": 1, "applied": 0, "total": 0, "executed_at": None,
                                 "execution_time": 0, "error": "", "error_stmt": "", "hash": "",
                                 "partial_hashes": None})
            return files[idx + 1:]
        return files
    last = revs[-1]
    partially = last["applied"] != last["total"]
    if partially:
        idx = max((i for i, f in enumerate(files) if version_of(f.name) == last["version"]), default=-1)
        if idx == -1:
            raise AtlasError(f'sql/migrate: missing migration: revision "{last["version"]}_'
                             f'{last["description"]}.sql" is partially applied but migration file was not found')
    else:
        idx = max((i for i, f in enumerate(files) if version_of(f.name) <= last["version"]), default=-1)
        if idx == -1:
            return files
        idx += 1
    known = {r["version"] for r in revs}
    skipped = [f.name for f in files[:idx]
               if version_of(f.name) >= revs[0]["version"] and version_of(f.name) not in known]
    if skipped:
        what = f"file {skipped[0]} was" if len(skipped) == 1 else f"files {', '.join(skipped)} were"
        raise AtlasError(f"migration {what} added out of order. See: "
                         "https://atlasgo.io/versioned/apply#non-linear-error")
    return files[idx:]


# --- SQL, per driver ----------------------------------------------------------------------------


def _qualified(d: str) -> str:
    return {"sqlite": "`atlas_schema_revisions`",
            "postgresql": '"atlas_schema_revisions"."atlas_schema_revisions"',
            "mysql": "`atlas_schema_revisions`"}[d]


def _exec(conn: Any, d: str, sql: str, params: tuple = ()) -> list[tuple]:
    cur = conn.cursor()
    cur.execute(sql, params) if params else cur.execute(sql)
    rows = list(cur.fetchall()) if cur.description else []
    cur.close()
    return rows


def _mark(d: str) -> str:
    return "?" if d == "sqlite" else "%s"


def _table_exists(conn: Any, d: str) -> bool:
    if d == "sqlite":
        return bool(_exec(conn, d, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (TABLE,)))
    schema = TABLE if d == "postgresql" else None
    sql = ("SELECT 1 FROM information_schema.tables WHERE table_name = %s AND table_schema = "
           + ("%s" if schema else "DATABASE()"))
    return bool(_exec(conn, d, sql, (TABLE, schema) if schema else (TABLE,)))


def _dirty(conn: Any, d: str) -> str | None:
    """``CheckClean``: only tables count; the revisions table does not."""
    if d == "sqlite":
        rows = _exec(conn, d, "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
    elif d == "postgresql":
        rows = _exec(conn, d, "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                              "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND "
                              "table_schema <> %s", (TABLE,))
    else:
        rows = _exec(conn, d, "SELECT table_name FROM information_schema.tables WHERE "
                              "table_schema = DATABASE() AND table_name <> %s", (TABLE,))
    names = [r[0] for r in rows if r[0] != TABLE]
    return f"found table {names[0]!r}" if names else None


def _row(values: tuple) -> dict:
    r = dict(zip(COLUMNS, values))
    ph = r["partial_hashes"]
    if isinstance(ph, (bytes, memoryview)):
        ph = bytes(ph).decode()
    r["partial_hashes"] = json.loads(ph) if isinstance(ph, str) else ph
    r["applied"], r["total"] = int(r["applied"]), int(r["total"])
    return r


def _select(d: str) -> str:
    ph = {"sqlite": "partial_hashes", "postgresql": "partial_hashes::text",
          "mysql": "CAST(partial_hashes AS CHAR)"}[d]
    cols = ", ".join(ph if c == "partial_hashes" else c for c in COLUMNS)
    return f"SELECT {cols} FROM {_qualified(d)}"


def _read_all(conn: Any, d: str) -> list[dict]:
    rows = _exec(conn, d, _select(d) + " WHERE version <> " + _mark(d) + " ORDER BY version",
                 (".atlas_cloud_identifier",))
    return [_row(r) for r in rows]


def _read_one(conn: Any, d: str, version: str) -> dict | None:
    rows = _exec(conn, d, _select(d) + " WHERE version = " + _mark(d), (version,))
    return _row(rows[0]) if rows else None


def _now(d: str) -> Any:
    """``time.Now()`` as the Go driver binds it."""
    if d == "sqlite":  # mattn/go-sqlite3: time.Time → TEXT in its first timestamp format
        ns = time.time_ns()
        lt = time.localtime(ns // 10**9)
        off = lt.tm_gmtoff or 0
        frac = f"{ns % 10**9:09d}".rstrip("0")
        zone = f"{'+' if off >= 0 else '-'}{abs(off) // 3600:02d}:{abs(off) % 3600 // 60:02d}"
        return time.strftime("%Y-%m-%d %H:%M:%S", lt) + (f".{frac}" if frac else "") + zone
    if d == "postgresql":
        return datetime.now(timezone.utc)
    return datetime.now(timezone.utc).replace(tzinfo=None)  # go-sql-driver: loc=UTC


def _write(conn: Any, d: str, r: dict) -> int:
    """ent's ``CreateRevision().OnConflict(version).UpdateNewValues()``; returns the time of the
    write (``writeRevision`` resets the in-memory start time, so execution_time measures the tail)."""
    values = dict(r, operator_version=OPERATOR)
    if values["executed_at"] is None:
        values["executed_at"] = _now(d)
    ph = json.dumps(values["partial_hashes"], separators=(",", ":"))  # nil slice → "null"
    values["partial_hashes"] = ph.encode() if d == "sqlite" else ph  # ent: []byte
    mark = _mark(d)
    cols = ", ".join(COLUMNS)
    marks = ", ".join(mark for _ in COLUMNS)
    updated = [c for c in COLUMNS if c not in IMMUTABLE]
    if d == "mysql":
        tail = "ON DUPLICATE KEY UPDATE " + ", ".join(f"{c} = VALUES({c})" for c in updated)
    else:
        tail = "ON CONFLICT (version) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updated)
    _exec(conn, d, f"INSERT INTO {_qualified(d)} ({cols}) VALUES ({marks}) {tail}",
          tuple(values[c] for c in COLUMNS))
    return time.monotonic_ns()


def _go_error(d: str, err: BaseException) -> str:
    """The driver error as Atlas's Go driver renders it."""
    if d == "mysql":
        args = getattr(err, "args", ())
        state = getattr(err, "sqlstate", None)
        if len(args) >= 2 and isinstance(args[0], int):
            return f"Error {args[0]} ({state}): {args[1]}" if state else f"Error {args[0]}: {args[1]}"
    if d == "postgresql":
        diag = getattr(err, "diag", None)
        if diag is not None and diag.message_primary:
            return f"pq: {diag.message_primary}"  # lib/pq's Error.Error()
    return str(err).splitlines()[0]


def lock_file() -> Path:
    """Atlas's SQLite lock file for an on-disk database (``<TMPDIR>/atlas_migrate_execute.lock``)."""
    return Path(tempfile.gettempdir()) / f"{LOCK_NAME}.lock"


def _lock(conn: Any, d: str, timeout: float) -> Any:
    """Atlas's ``Lock(ctx, "atlas_migrate_execute", timeout)``; returns the unlock function."""
    if d == "sqlite":
        path = lock_file()
        if path.exists():
            expires = int(path.read_text() or "0")
            if expires > time.time_ns():
                raise AtlasError(f'acquiring database lock: sql/sqlite: lock on "{LOCK_NAME}" already taken')
        path.write_text(str(time.time_ns() + int(timeout * 1e9)))
        return lambda: path.unlink(missing_ok=True)
    if d == "mysql":
        if _exec(conn, d, "SELECT GET_LOCK(%s, %s)", (LOCK_NAME, int(timeout)))[0][0] != 1:
            raise AtlasError("acquiring database lock: sql/schema: lock is held by other session")
        return lambda: _exec(conn, d, "SELECT RELEASE_LOCK(%s)", (LOCK_NAME,))
    deadline = time.monotonic() + timeout
    base = 0.025
    while not _exec(conn, d, "SELECT pg_try_advisory_lock(%s)", (PG_LOCK_KEY,))[0][0]:
        if time.monotonic() >= deadline:
            raise AtlasError("acquiring database lock: sql/schema: lock is held by other session")
        time.sleep(min(base + random.random() * base, max(0.0, deadline - time.monotonic())))
        base = min(base * 2, 1.0)
    return lambda: _exec(conn, d, "SELECT pg_advisory_unlock(%s)", (PG_LOCK_KEY,))


# --- a real binary ------------------------------------------------------------------------------


def atlas_binary() -> str | None:
    """``ATLAS_BIN`` when set (it must exist), else ``atlas`` on PATH, else None."""
    explicit = os.environ.get("ATLAS_BIN", "").strip()
    if explicit:
        return explicit if os.path.exists(explicit) else None
    return shutil.which("atlas")


class BinaryAtlas:
    """The same interface, driving a real ``atlas`` binary."""

    kind = "binary"

    def __init__(self, binary: str):
        self.binary = binary

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, ATLAS_NO_UPDATE_NOTIFIER="1", ATLAS_NO_ANON_TELEMETRY="true")
        return subprocess.run([self.binary, *args], capture_output=True, text=True, env=env, timeout=120)

    def apply(self, url: str, directory: Path, amount: int | None = None, *,
              baseline: str | None = None, tx_mode: str = "file",
              lock_timeout: float = 10.0) -> Outcome:
        args = ["migrate", "apply", "--url", url, "--dir", f"file://{directory}", "--tx-mode", tx_mode,
                "--lock-timeout", f"{lock_timeout:g}s"]
        if baseline:
            args += ["--baseline", baseline]
        if amount:
            args.append(str(amount))
        done = self._run(*args)
        return Outcome(done.returncode, done.stdout + done.stderr)

    def status(self, url: str, directory: Path) -> Status:
        done = self._run("migrate", "status", "--url", url, "--dir", f"file://{directory}",
                         "--format", "{{ json . }}")
        data = json.loads(done.stdout)
        applied = data.get("Applied") or []
        words = {"No migration applied yet", "Already at latest version", "UNKNOWN"}  # StatusReporter
        current, next_ = (data.get(k, "") or "" for k in ("Current", "Next"))
        return Status(data.get("Status", ""), "" if current in words else current,
                      "" if next_ in words else next_,
                      len(applied), [p["Name"] for p in data.get("Pending") or []],
                      data.get("Error", "") or "")

    @contextlib.contextmanager
    def hold_lock(self, url: str) -> Iterator[None]:
        # The binary holds its lock only while it runs; the played lock is Atlas's own protocol.
        with PlayedAtlas().hold_lock(url):
            yield
