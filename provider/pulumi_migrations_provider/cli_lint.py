"""The ``lint`` command: what the pending files risk, with live facts when a URL is given.

::

    pulumi-migrations lint --dir migrations [--dialect postgres]          # every file
    pulumi-migrations lint --dir migrations --latest 2                    # the last two files
    pulumi-migrations lint --dir migrations --since 20240101000000        # files after a version
    pulumi-migrations lint --dir migrations --url "$DATABASE_URL" --format json

Without a URL every file is pending (or the ``--latest``/``--since`` selection) and the
findings are static. With ``--url`` (or ``DATABASE_URL``) the pending files are those
``status`` reports (the revisions table decides; a non-empty database without one counts as
"nothing applied") and each finding on an existing table carries its live row estimate and
size. Text output is one finding per line, ``file:line: CODE message (table t: ~N rows,
SIZE)``; JSON is ``{"findings": [...]}`` (and ``"note"`` when facts could not be read).
Exit 1 when a finding has severity error (after ``--policy``), else 0.
"""

from __future__ import annotations

import argparse
import sys

from .cliargs import (DIALECT_CHOICES, add_dir, add_revisions_schema, load_dir, parse_target,
                      url_or_env)
from .cliout import _print_error, _stdout, dump_json
from .cliparse import duration, int_at_least

__all__ = ["arguments", "pending_findings", "print_findings", "run"]


def _policy_item(text: str) -> tuple[str, str]:
    key, sep, level = text.partition("=")
    if not sep or not key or level.lower() not in ("error", "warn", "warning", "off"):
        raise argparse.ArgumentTypeError(f"expected KEY=error|warn|off, got {text!r}")
    return key, level.lower()


def arguments(p: argparse.ArgumentParser) -> None:
    add_dir(p)
    p.add_argument("-u", "--url", metavar="URL",
                   help="Target database: lint only its pending files and add live row counts "
                        "and sizes (read-only, never waits on a lock). [env var: DATABASE_URL]")
    p.add_argument("--dialect", choices=DIALECT_CHOICES,
                   help="SQL dialect of the files; default: the URL's, else sqlite.")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--latest", metavar="N", type=_positive,
                       help="Lint only the last N pending files.")
    group.add_argument("--since", metavar="VERSION",
                       help="Lint only pending files with a version after VERSION.")
    p.add_argument("--policy", metavar="KEY=LEVEL", action="append", type=_policy_item,
                   help="Severity of a category (destructive, data_depend, incompatible, condrop, "
                        "concurrent_index, locking, table_copy, inline_refs, unparsed) or a code (DS103): error, warn or off "
                        "(repeatable). Default: destructive changes are errors.")
    p.add_argument("--facts-timeout", metavar="DURATION", type=duration, default="5s",
                   help="How long the read of live facts may take.")
    add_revisions_schema(p)
    p.add_argument("--format", dest="output", type=_format, default="text", metavar="FORMAT",
                   help="Output format: text or json.")


def _format(text: str) -> str:
    """``text`` or ``json``: lint has no Atlas template form (Atlas's lint report is another
    document), so ``{{ json . }}`` is refused rather than printed as text."""
    if text in ("text", "json"):
        return text
    hint = "; lint's JSON is ours: --format json" if "{{" in text else ""
    raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from 'text', 'json'){hint}")


_positive = int_at_least(1)


def run(ns: argparse.Namespace) -> int:
    from . import lint

    url = url_or_env(ns)
    target = parse_target(url) if url else None
    d = load_dir(ns.directory)
    d.validate()
    dialect = ns.dialect or (lint.dialect_of(target.dialect) if target is not None else "sqlite")
    policy = dict(ns.policy or [])
    lint.resolve_policy(policy)  # a bad key is a ConfigError before anything connects
    files, unreachable = list(d.files), None
    if target is not None:
        from . import engine
        from .errors import ConnectError, LockError
        from .reports import Options

        # The look at the revisions table is bounded like the facts read: a database held by
        # a run (a SQLite file is kept locked until it ends) or a locked table degrades too.
        look = Options(revisions_schema=ns.revisions_schema, allow_dirty=True,
                       lock_timeout=ns.facts_timeout, connect_timeout=ns.facts_timeout)
        try:
            report = engine.status(target, d, look)
        except (ConnectError, LockError) as err:  # degrade: every file, static findings, say so
            unreachable = f"{err}; linted every file without live facts"
            target = None
        else:
            names = set(report.pending)
            files = [f for f in d.files if f.name in names]
    if ns.since is not None:
        files = [f for f in files if f.version > ns.since]
    if ns.latest is not None:
        files = files[-ns.latest:]
    findings, facts = lint.lint(files, dialect, target=target, policy=policy,
                                timeout=ns.facts_timeout)
    note = facts.note if facts is not None else unreachable
    if ns.output == "json":
        data: dict = {"findings": [f.to_dict() for f in findings]}
        if note:
            data["note"] = note
        dump_json(data)
    else:
        out = _stdout()
        for f in findings:
            out.write(f.text() + "\n")
        if note:
            sys.stderr.write(f"note: {note}\n")
        errors = sum(f.severity == "error" for f in findings)
        out.write(f"{len(files)} file{'s' if len(files) != 1 else ''} linted: "
                  f"{len(findings)} finding{'s' if len(findings) != 1 else ''}, "
                  f"{errors} error{'s' if errors != 1 else ''}\n")
    first = next((f for f in findings if f.severity == "error"), None)
    if first is None:
        return 0
    _print_error(f"lint: {first.file}:{first.line}: {first.code} {first.message}; change the "
                 f"statement, add '{first.nolint}' above it, or pass --policy {first.code}=warn")
    return 1


def pending_findings(target, d, names) -> list | None:
    """The findings (default policy, live facts) for the pending ``names`` of ``d``, for
    ``status`` and ``apply --dry-run``; None when there is nothing to lint or the files do not
    split (the command itself reports that)."""
    if not names:
        return None
    from . import lint
    from .errors import MigrateError

    wanted = set(names)
    files = [f for f in d.files if f.name in wanted]
    try:
        findings, _ = lint.lint(files, lint.dialect_of(target.dialect), target=target)
    except MigrateError:
        return None
    return findings


def print_findings(findings: list | None) -> None:
    """The text block ``status`` and ``apply --dry-run`` end with."""
    if not findings:
        return
    out = _stdout()
    out.write(f"\nLint findings ({len(findings)}; 'pulumi-migrations lint' for details):\n")
    for f in findings:
        out.write(f"  {f.severity}: {f.text()}\n")
