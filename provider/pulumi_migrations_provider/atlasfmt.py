"""Atlas's ``--format '{{ json . }}'`` documents for ``status``, ``apply`` and ``set``.

Contract: each builder returns a dict whose ``json.dumps(..., separators=(",", ":"))`` has the
keys, nesting, key order and value types Go's ``encoding/json`` gives Atlas's ``cmdlog``
structs: ``MigrateStatus`` (``Env`` nested), ``MigrateApply`` (``Env`` embedded, then
``Message``), ``MigrateSet``; ``omitempty`` fields are left out when empty; times are
RFC 3339 with nanoseconds (Go's ``time.Time`` JSON, trailing zeros trimmed, in UTC);
durations are integer nanoseconds; revision types are Atlas's names (``applied``, ...).
The ``URL`` object is Go's ``url.URL`` plus ``Schema``: ``User`` is ``{}`` when the URL has a
user (Go's ``Userinfo`` has no exported fields) and ``null`` otherwise, so no password is
ever part of it; a ``password`` query parameter is masked too.

``parse_template`` accepts the one template this module renders, ``{{ json . }}`` (any
spacing), also with Atlas's ``json`` arguments ``{{ json . "  " }}`` (indent) and
``{{ json . "" "  " }}`` (prefix, indent) as Go's ``json.MarshalIndent`` takes them, and raises
``ConfigError`` naming any other Go template.

Imports only the standard library, our records and the dialects' facts (``url_schema``); no
engine, no database.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from . import dialects
from .errors import ConfigError
from .revisions import Revision, executed_rows, type_name

if TYPE_CHECKING:
    from .events import Event
    from .migdir import MigrationDir, MigrationFile
    from .reports import StatusReport
    from .setrev import SetReport

_GO_STRING = r'("(?:[^"\\]|\\.)*"|`[^`]*`)'
_JSON_TEMPLATE = re.compile(r"\{\{-?\s*json\s+\.(?:\s+" + _GO_STRING + r")?(?:\s+" + _GO_STRING
                            + r")?\s*-?\}\}")
_SECRET_PARAMS = ("password", "passwd", "pass", "sslpassword")


class AtlasJSON(str):
    """The ``--format`` value for Atlas's JSON: equal to ``"atlas"``, with the ``prefix`` and
    ``indent`` of ``{{ json . PREFIX INDENT }}`` (both empty: compact, as ``json.Marshal``)."""

    prefix: str
    indent: str

    def __new__(cls, prefix: str = "", indent: str = "") -> "AtlasJSON":
        obj = super().__new__(cls, "atlas")
        obj.prefix, obj.indent = prefix, indent
        return obj


def _go_string(literal: str) -> str:
    """A Go string literal's value: `raw` as is, "quoted" with its escapes."""
    if literal.startswith("`"):
        return literal[1:-1]
    import json

    try:
        return str(json.loads(literal))
    except ValueError:
        return literal[1:-1]


def parse_template(fmt: str) -> AtlasJSON:
    """The format of ``{{ json . }}`` (or ``{{ json . INDENT }}``, ``{{ json . PREFIX INDENT }}``);
    ConfigError for any other Go template."""
    m = _JSON_TEMPLATE.fullmatch(fmt.strip())
    if m is not None:
        args = [_go_string(a) for a in m.groups() if a is not None]
        if len(args) == 1:
            return AtlasJSON("", args[0])
        return AtlasJSON(*args) if args else AtlasJSON()
    shown = " ".join(fmt.split())
    raise ConfigError(f"reading --format: the Go template {shown!r} is not supported; pass "
                      "'{{ json . }}' for Atlas's JSON, or --format json or text")


def dumps(doc: dict[str, Any], fmt: AtlasJSON | None = None) -> str:
    """JSON as Go's ``json.Marshal`` writes it (no spaces, non-ASCII kept; Go escapes ``<``,
    ``>`` and ``&`` as ``\\u003c`` etc.), or ``json.MarshalIndent`` with ``fmt``'s prefix and
    indent (``"key": value``, each line after the first starting with the prefix)."""
    import json

    if fmt is None or not (fmt.prefix or fmt.indent):
        return _escape_html(json.dumps(doc, separators=(",", ":"), ensure_ascii=False))
    text = json.dumps(doc, indent=fmt.indent, separators=(",", ": "), ensure_ascii=False)
    return _escape_html(text).replace("\n", "\n" + fmt.prefix)


def _escape_html(text: str) -> str:
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


# --- values ---------------------------------------------------------------------------------


def go_time_ns(ns: int) -> str:
    """Epoch nanoseconds as Go's ``time.Time`` JSON in UTC: ``2026-12-02T05:59:25.087667521Z``."""
    seconds, frac = divmod(ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    digits = f"{frac:09d}".rstrip("0")
    return f"{stamp}.{digits}Z" if digits else f"{stamp}Z"


_STORED_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?"
                          r"\s*(Z|[+-]\d\d:?\d\d)?$")


def go_time(value: Any) -> str:
    """A stored ``executed_at`` (datetime, or SQLite's text) as Go's ``time.Time`` JSON in UTC.
    A value without a zone is taken as UTC (what Atlas's MySQL driver does)."""
    import calendar
    from datetime import datetime, timezone

    if value is None:
        return "0001-01-01T00:00:00Z"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        whole = calendar.timegm(value.timetuple())
        return go_time_ns(whole * 1_000_000_000 + value.microsecond * 1000)
    text = value.decode() if isinstance(value, (bytes, bytearray)) else str(value)
    m = _STORED_TIME.match(text.strip())
    if m is None:
        return text
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    frac = int((m.group(7) or "0").ljust(9, "0"))
    zone = m.group(8) or "Z"
    offset = 0
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    whole = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) - offset
    return go_time_ns(whole * 1_000_000_000 + frac)


def url_json(url: str, dialect: str) -> dict[str, Any]:
    """Go's ``url.Parse(url)`` as Atlas's ``sqlclient.URL`` marshals it (never a password)."""
    from urllib.parse import quote, unquote

    scheme, _, rest = url.partition("://")
    authority, path, query, fragment = rest, "", "", ""
    if "#" in authority:
        authority, fragment = authority.split("#", 1)
    if "?" in authority:
        authority, query = authority.split("?", 1)
    if "/" in authority:
        authority, path = authority.split("/", 1)
        path = "/" + path
    user, at, host = authority.rpartition("@")
    decoded = unquote(path)
    raw_path = path if quote(decoded, safe="/:@!$&'()*+,;=-._~") != path else ""
    params = [p.partition("=") for p in query.split("&")] if query else []
    masked = "&".join(k + (s + ("xxxxx" if k.lower() in _SECRET_PARAMS else v))
                      for k, s, v in params)
    schema = dialects.named(dialect).url_schema(decoded, [(k, v) for k, _, v in params])
    return {"Scheme": scheme.lower(), "Opaque": "", "User": {} if at else None, "Host": host,
            "Path": decoded, "RawPath": raw_path, "OmitHost": False, "ForceQuery": False,
            "RawQuery": masked, "Fragment": unquote(fragment), "RawFragment": "",
            "Schema": schema}


def dir_url(directory: str) -> str:
    """The ``--dir`` as a ``file://`` URL (a plain path gets the scheme)."""
    return directory if "://" in directory else f"file://{directory}"


def file_json(f: MigrationFile) -> dict[str, Any]:
    """``cmdlog.File``: Name, Version, Description (each omitted when empty)."""
    return _omit({"Name": f.name, "Version": f.version, "Description": f.description})


def revision_json(r: Revision) -> dict[str, Any]:
    """``migrate.Revision``'s JSON (Hash and PartialHashes are ``json:"-"``)."""
    doc: dict[str, Any] = {
        "Version": r.version, "Description": r.description, "Type": type_name(r.type),
        "Applied": r.applied, "Total": r.total, "ExecutedAt": go_time(r.executed_at),
        "ExecutionTime": int(r.execution_time)}
    if r.error:
        doc["Error"] = r.error
    if r.error_stmt:
        doc["ErrorStmt"] = r.error_stmt
    doc["OperatorVersion"] = r.operator_version
    return doc


def _omit(doc: dict[str, Any]) -> dict[str, Any]:
    """Go's ``omitempty``: drop "", 0, False, None, [] and {} values."""
    return {k: v for k, v in doc.items() if v not in ("", 0, None, [], {})}


def _env(url: str, dialect: str, directory: str) -> dict[str, Any]:
    return {"Driver": url.partition("://")[0].lower(), "URL": url_json(url, dialect),
            "Dir": dir_url(directory)}


# --- status ---------------------------------------------------------------------------------


def status_json(report: StatusReport, d: MigrationDir, *, url: str, dialect: str,
                directory: str) -> dict[str, Any]:
    """``cmdlog.MigrateStatus`` for ``report`` (see StatusReport.revisions)."""
    by_name = {f.name: f for f in d.files}
    ran = executed_rows(report.revisions)
    if ran:
        available = list(d.files)
    else:
        last_ck = max((i for i, f in enumerate(d.files) if f.is_checkpoint), default=0)
        available = list(d.files[last_ck:])
    pending = [by_name[n] for n in report.pending if n in by_name]
    ooo = [by_name[n] for n in report.out_of_order if n in by_name]
    base = dir_url(directory)
    env = _env(url, dialect, directory)
    env["Dir"] = base if "format=" in base else base + ("&" if "?" in base else "?") + "format=atlas"
    doc: dict[str, Any] = {"Env": env}
    # Atlas's StatusReporter returns as soon as it meets out-of-order files (HistoryNonLinearError),
    # before it lists the available files or counts a partial file's statements.
    doc["Available"] = [] if ooo else [file_json(f) for f in available]
    doc["OutOfOrder"] = [file_json(f) for f in ooo]
    doc["Pending"] = [file_json(f) for f in pending]
    doc["Applied"] = [revision_json(r) for r in ran]
    doc["Current"] = report.current_version or "No migration applied yet"
    if ooo:
        doc["Next"] = ""
    else:
        doc["Next"] = pending[0].version if pending else "Already at latest version"
    partial = bool(report.partial) and not ooo
    doc["Count"] = report.applied_statements if partial else 0
    doc["Total"] = report.total_statements if partial else 0
    doc["Status"] = report.status
    doc["Error"] = " ".join((report.error or "").split("\n"))
    doc["SQL"] = "" if ooo else " ".join((report.error_statement or "").split("\n"))
    return {k: v for k, v in doc.items() if k == "Env" or v not in ("", 0, [], None)}


# --- apply ----------------------------------------------------------------------------------


class ApplyLog:
    """An engine logger that records an apply as Atlas's ``cmdlog.MigrateApply`` does: the
    wall-clock start and end of the run and of each file, each statement's text, the error."""

    def __init__(self) -> None:
        self.start = time.time_ns()
        self.end = 0
        self.current: str | None = None
        self.target: str | None = None
        self.pending: tuple[str, ...] = ()
        self.files: list[dict[str, Any]] = []
        self.error = ""

    def __call__(self, e: Event) -> None:
        kind = type(e).__name__
        now = time.time_ns()
        if kind == "ExecutionStarted":
            self.current, self.target, self.pending = e.current, e.target, e.files  # type: ignore[union-attr]
        elif kind == "FileStarted":
            if self.files:
                self.files[-1]["End"] = now
            self.files.append({"Name": e.file, "Version": e.version, "Start": now, "End": 0,  # type: ignore[union-attr]
                               "Skipped": e.resume_from, "Applied": [], "Error": None})  # type: ignore[union-attr]
        elif kind == "StatementRun":
            if self.files:
                self.files[-1]["Applied"].append(e.text)  # type: ignore[union-attr]
        elif kind == "ExecutionFailed":
            err = e.error  # type: ignore[union-attr]
            self.end = now
            stmt = getattr(err, "statement", None)
            if self.files and stmt is not None:
                f = self.files[-1]
                f["End"] = now
                f["Error"] = {"Stmt": stmt, "Text": getattr(err, "db_error", "")}
            self.error = str(err)
        elif kind == "ExecutionDone":
            if self.files:
                self.files[-1]["End"] = now
            self.end = now

    def statements_run(self, file: str, statements: Any, start: int, stop: int) -> None:
        """``StatementRun`` for ``statements[start:stop]`` in one call (``events.log_statements``)."""
        if self.files:
            self.files[-1]["Applied"].extend([s.text for s in statements[start:stop]])

    def fail(self, err: BaseException) -> None:
        """A failure outside the executor (lock, commit): recorded as the run's Error."""
        self.end = self.end or time.time_ns()
        self.error = self.error or str(err)


def apply_json(log: ApplyLog, d: MigrationDir, *, url: str, dialect: str, directory: str,
               current: str | None) -> dict[str, Any]:
    """``cmdlog.MigrateApply`` (with its ``Message``) from what ``log`` recorded. ``current``
    is the version before the run (for a run with nothing to execute)."""
    by_name = {f.name: f for f in d.files}
    doc = _env(url, dialect, directory)
    pending = [by_name[n] for n in log.pending if n in by_name]
    if pending:
        doc["Pending"] = [file_json(f) for f in pending]
    applied = []
    for f in log.files:
        mf = by_name.get(f["Name"])
        entry: dict[str, Any] = {"Name": f["Name"], "Version": f["Version"]}
        if mf is not None and mf.description:
            entry["Description"] = mf.description
        entry["Start"] = go_time_ns(f["Start"])
        entry["End"] = go_time_ns(f["End"]) if f["End"] else "0001-01-01T00:00:00Z"
        if f["Skipped"]:
            entry["Skipped"] = f["Skipped"]
        if f["Applied"]:
            entry["Applied"] = list(f["Applied"])
        if f["Error"]:
            entry["Error"] = f["Error"]
        applied.append(entry)
    if applied:
        doc["Applied"] = applied
    cur = log.current if log.pending else current
    if cur:
        doc["Current"] = cur
    if log.target and log.pending:
        doc["Target"] = log.target
    doc["Start"] = go_time_ns(log.start)
    doc["End"] = go_time_ns(log.end or time.time_ns())
    if log.error:
        doc["Error"] = log.error
    elif not applied:
        doc["Message"] = "No migration files to execute"
    else:
        doc["Message"] = (f"Migrated to version {log.target} from {cur or ''} "
                          f"({len(pending)} migrations in total)")
    return doc


# --- set ------------------------------------------------------------------------------------


def set_json(report: SetReport) -> dict[str, Any]:
    """``cmdlog.MigrateSet``: ``Revisions`` (each revision with its ``Op``) and ``Latest``."""
    doc: dict[str, Any] = {}
    if report.ops:
        doc["Revisions"] = [{**revision_json(o.revision), "Op": o.op} for o in report.ops]
    if report.current is not None:
        doc["Latest"] = revision_json(report.current)
    return doc
