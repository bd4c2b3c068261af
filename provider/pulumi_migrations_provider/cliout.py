"""What the CLI prints: password scrubbing, Rich consoles, and the ``status`` and ``apply``
renderings (Atlas's text formats; Go-style durations from ``durations``). No argument parsing
here; cli.py wires it up.

Imported on every CLI start, so its module-level imports are only ``re``, ``sys`` and
``durations``: Rich, ``typing``, ``json``, ``urllib.parse`` and ``target`` load where they are
used (the last three once a password is remembered).
"""

from __future__ import annotations

import re
import sys

from .durations import go_duration

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, TextIO

    from .migdir import MigrationDir
    from .reports import StatusReport
    from .setrev import SetReport

# --- output: everything goes through the scrubber ------------------------------------------

_SECRETS: set[str] = set()                # every masked form of every remembered password
_MASKING: list[tuple[str, str]] = []      # (form, target's mask), longest form first
_URL_IN_TEXT = r"[A-Za-z][A-Za-z0-9+.-]*://\S+"   # compiled on first use (re caches it)


def _remember_secret(password: str | None) -> None:
    """Add ``password`` to what every printed line is scrubbed of, in all its forms: as given
    and percent-decoded; each of those as ``repr`` escapes it (argparse's "invalid choice:
    '...'") and as JSON escapes it (``--format json``, with and without ``ensure_ascii``);
    and each of those percent-encoded as ``target.scrub`` masks it."""
    if not password:
        return
    import json
    from urllib.parse import unquote

    from .target import _MASK as mask, masked_forms

    shown: set[str] = set()
    for form in {password, unquote(password)}:
        escaped = form.replace("\\", "\\\\")
        shown.update({form, repr(form)[1:-1], escaped, escaped.replace("'", "\\'"),
                      json.dumps(form)[1:-1], json.dumps(form, ensure_ascii=False)[1:-1]})
    forms = {masked for form in shown for masked in masked_forms(form)}
    if not forms <= _SECRETS:
        _SECRETS.update(forms)
        _MASKING[:] = [(form, mask) for form in sorted(_SECRETS, key=len, reverse=True)]


def _forget_secrets() -> None:
    """Forget every remembered password (``main`` starts each run with none)."""
    _SECRETS.clear()
    _MASKING.clear()


def _remember_urls_in(text: str | None) -> None:
    """Find URL-looking words in ``text`` and remember their passwords, even unparsable ones."""
    if not text or "://" not in text:
        return
    for url in re.findall(_URL_IN_TEXT, text):
        rest = url.split("://", 1)[1]
        at = rest.rfind("@")
        user, sep, password = rest[:max(at, 0)].partition(":")
        if at != -1 and sep and not any(c in user for c in "/?#"):
            _remember_secret(password)


def _scrub_all(text: str) -> str:
    """Mask every remembered password (longest form first, so substrings leave no pieces)
    where it can be one (``target.mask_forms``): never inside our own words."""
    if not _MASKING:
        return text
    from .target import mask_forms

    return mask_forms(text, [form for form, _ in _MASKING])


class _Scrubbed:
    """A text stream that masks remembered passwords in everything written to it."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(_scrub_all(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, flush, ...
        return getattr(self._stream, name)


def _scrubbed(stream: TextIO) -> TextIO:
    """``stream`` behind the password scrubber, typed as the stream it stands for."""
    return _Scrubbed(stream)  # type: ignore[return-value]


def _stdout() -> TextIO:
    return _scrubbed(sys.stdout)


def dump_json(data: Any) -> None:
    """``data`` as indented JSON on scrubbed stdout (``default=str`` for paths, datetimes)."""
    import json

    _stdout().write(json.dumps(data, indent=2, default=str) + "\n")


def _console(*, stderr: bool = False, width: int | None = None) -> Any:
    """A Rich console on scrubbed stdout/stderr that never interprets markup or emoji codes."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if width is None and not stream.isatty():
        width = 10_000  # logs and pipes: never wrap or truncate
    return Console(file=_scrubbed(stream), markup=False, emoji=False,
                   highlight=False, soft_wrap=True, width=width)


def print_unpadded(console: Any, table: Any) -> None:
    """Print ``table`` without the blanks Rich pads its last column with up to the longest
    cell (the status table's header and the fan-out summary's rows without an error carried
    them into pipes and logs)."""
    from rich.segment import Segment, Segments

    for line in console.render_lines(table, pad=False):
        while line and not line[-1].control and not line[-1].text.strip():
            line.pop()
        if line and not line[-1].control:
            last = line[-1]
            line[-1] = type(last)(last.text.rstrip(), last.style)
        console.print(Segments([*line, Segment.line()]), end="")


def _print_error(message: str) -> None:
    """Print exactly one line ``error: <message>`` on stderr."""
    from rich.text import Text

    line = " ".join(message.split())
    _console(stderr=True).print(Text.assemble(("error", "bold red"), ": ", line))


def _print_status(report: StatusReport, d: MigrationDir) -> None:
    """Atlas's ``migrate status`` text, followed by a table of the pending files."""
    from rich.table import Table
    from rich.text import Text

    console = _console()
    ok = report.status == "OK"
    partial = report.partial
    console.print(Text.assemble("Migration Status: ", (report.status, "green" if ok else "yellow")))
    current = report.current_version or "No migration applied yet"
    by_name = {f.name: f for f in d.files}
    if ok:
        nxt = "Already at latest version"
    elif report.out_of_order and report.error:  # apply would stop: Atlas knows no next version
        nxt = "UNKNOWN"
    else:
        nxt = report.next_version or "UNKNOWN"
        first = by_name.get(report.pending[0]) if report.pending else None
        if first is not None and first.is_checkpoint and not report.executed:
            nxt += " (checkpoint)"
    if partial:
        current += f" ({report.applied_statements} statements applied)"
        nxt += f" ({report.total_statements - report.applied_statements} statements left)"
    # Atlas counts out-of-order files among the pending ones.
    pending = f"{len(report.pending) + len(report.out_of_order)}"
    if report.out_of_order:
        count = f"{len(report.out_of_order)} " if report.pending else ""
        pending += f" ({count}out of order)"
    rows = [("Current Version:", current), ("Next Version:", nxt),
            ("Executed Files:", f"{report.executed}" + (" (last one partially)" if partial else "")),
            ("Pending Files:", pending)]
    for label, value in rows:
        console.print(Text.assemble(("  --", "yellow"), f" {label:<16} ", (value, "cyan")))
    if partial or report.error_statement:  # a rolled-back failure ran nothing but failed
        sql = " ".join((report.error_statement or "").split("\n"))
        console.print()
        console.print("Last migration attempt had errors:")
        console.print(Text.assemble(("  --", "yellow"), " SQL:   ", sql))
        console.print(Text.assemble(("  --", "yellow"), " ", ("ERROR:", "red"), " ",
                                    (report.error or "").replace("\n", " ")))
    elif report.error:  # out-of-order files (Atlas's line), or a file that cannot be resumed
        console.print()
        console.print(Text.assemble("  ", ("ERROR:", "red"), " ", " ".join(report.error.split())))
    if report.pending or report.out_of_order:
        table = Table(title=None, box=None, show_edge=False, pad_edge=False, padding=(0, 2))
        table.add_column("  Version", style="cyan", no_wrap=True)
        table.add_column("Description", no_wrap=True)
        table.add_column("File", no_wrap=True)
        for name in report.out_of_order + [n for n in report.pending if n not in report.out_of_order]:
            f = by_name.get(name)
            mark = " (out of order)" if name in report.out_of_order else ""
            table.add_row("  " + (f.version if f else "?"), (f.description if f else "") + mark, name)
        console.print()
        print_unpadded(console, table)


def plural(n: int, noun: str) -> str:
    """``1 migration``, ``2 migrations`` (Atlas's ``plural``: an ``s`` only above one)."""
    return f"{n} {noun}{'s' if n > 1 else ''}"


def count_noun(n: int, noun: str) -> str:
    """``0 files``, ``1 file``, ``2 files``: our own lines (Atlas's wording keeps ``plural``)."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _counted(passed: int, failed: int, noun: str) -> str:
    """A line of Atlas's apply summary: ``2 migrations``, ``1 migration ok, 1 with errors``,
    ``1 sql statement with errors``."""
    if passed > 0 and failed > 0:
        return f"{plural(passed, noun)} ok, {failed} with errors"
    if failed > 0:
        return f"{plural(failed, noun)} with errors"
    return plural(passed, noun)


def _print_set(report: SetReport) -> None:
    """Atlas's ``migrate set`` text (``Current version is 3 (2 set, 1 removed):`` and one
    ``+``/``-`` line per row); a dry run says so and details every row it would write."""
    out = _stdout()
    current = report.current.version if report.current is not None else None
    if not report.ops:
        where = f"version {current}" if current else "no version"
        out.write(f"Nothing to change: the revisions table already records {where}\n")
        return
    if report.dry_run:
        goal = f"set the current version to {current}" if current else "delete every revision"
        out.write(f"Dry run, nothing written: would {goal} ({report.summary()}):\n\n")
    elif current is None:
        out.write(f"All revisions deleted ({len(report.ops)} in total):\n\n")
    else:
        out.write(f"Current version is {current} ({report.summary()}):\n\n")
    from .revisions import type_name

    for o in report.ops:
        r = o.revision
        text = ("+ " if o.op == "set" else "- ") + r.version + (f" ({r.description})" if r.description else "")
        if report.dry_run:
            if o.op == "set":
                text += (f": write type {r.type} ({type_name(r.type)}), applied {r.applied} of "
                         f"{r.total}, hash {r.hash or '(none)'}")
            else:
                text += (f": delete (type {r.type} ({type_name(r.type)}), applied {r.applied} of "
                         f"{r.total})")
        out.write(f"  {text}\n")
    out.write("\n")


class _ApplyPrinter:
    """Engine events to Atlas's apply log; on a terminal, a Rich progress bar instead of statements."""

    def __init__(self, *, live: bool):
        self.live = live
        self.started = False
        self._out = _stdout()
        self._progress: Any = None
        self._files_task: Any = None
        self._stmt_task: Any = None
        self._files = self._stmts = 0
        self._file_stmts = 0
        self._buffer: list[str] = []   # plain lines, written once per file (thousands of files)
        self._t0 = 0                   # monotonic ns when the run started

    def _line(self, text: str, style: str | None = None) -> None:
        if self._progress is not None:
            self._progress.console.print(text, style=style)
        else:
            self._buffer.append(text)

    def _flush(self) -> None:
        if self._buffer:
            self._buffer.append("")  # the final newline, without copying the joined text again
            self._out.write("\n".join(self._buffer))
            self._buffer.clear()

    def __call__(self, event: Any) -> None:
        handler = getattr(self, "_on_" + type(event).__name__, None)
        if handler is not None:
            handler(event)

    def _on_ExecutionStarted(self, e: Any) -> None:
        if not e.files:
            return
        self.started = True
        import time

        self._t0 = time.monotonic_ns()
        src = f" from {e.current}" if e.current else ""
        self._out.write(f"Migrating to version {e.target}{src} ({len(e.files)} migrations in total):\n")
        if self.live:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn)

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), console=_console(), transient=True)
            self._progress.start()
            self._files_task = self._progress.add_task("  files", total=len(e.files))

    def _on_FileStarted(self, e: Any) -> None:
        self._files += 1
        self._file_stmts = 0
        if self._progress is None:
            self._line("")
            self._line(f"  -- migrating version {e.version}")
        else:
            if self._stmt_task is not None:
                self._progress.remove_task(self._stmt_task)
            self._stmt_task = self._progress.add_task(
                f"  {e.file}", total=max(e.statements, 1), completed=e.resume_from)

    def _on_StatementRun(self, e: Any) -> None:
        self._stmts += 1
        self._file_stmts += 1
        if self._progress is None:
            self._line(f"    -> {e.text}")
        else:
            self._progress.update(self._stmt_task, completed=e.index - 1)

    def statements_run(self, file: str, statements: Any, start: int, stop: int) -> None:
        """``StatementRun`` for ``statements[start:stop]`` in one call (``events.log_statements``):
        one text for the run instead of a line each."""
        n = stop - start
        self._stmts += n
        self._file_stmts += n
        if self._progress is None:
            chunk = "\n    -> ".join([s.text for s in statements[start:stop]])
            if len(chunk) < 65536:
                self._buffer.append("    -> " + chunk)
            else:  # a seed file's megabytes: written now, as they are, not copied into lines
                self._flush()
                self._out.write("    -> ")
                self._out.write(chunk)
                self._out.write("\n")
        else:
            self._progress.update(self._stmt_task, completed=stop - 1)

    def _on_FileDone(self, e: Any) -> None:
        if self._progress is not None:
            self._progress.update(self._stmt_task, completed=max(e.statements, 1))
            self._progress.advance(self._files_task)
            self._line(f"  -- migrating version {e.version}: ok ({go_duration(e.duration_ns)}, "
                       f"{self._file_stmts} statements)", style="green")
        else:
            self._line(f"  -- ok ({go_duration(e.duration_ns)})")
            self._flush()

    def _on_ExecutionFailed(self, e: Any) -> None:
        self.close()
        if not self.started:
            return
        text = getattr(e.error, "db_error", None) or str(e.error)
        self._line(f"    {' '.join(text.split())}")
        import time

        self._footer(time.monotonic_ns() - self._t0, failed=True)  # Atlas times failed runs too
        self._flush()

    def _on_ExecutionDone(self, e: Any) -> None:
        self.close()
        if self.started:
            self._footer(e.duration_ns, failed=False)
        self._flush()

    def _footer(self, duration_ns: int | None, *, failed: bool) -> None:
        self._line("")
        self._line("  -------------------------")
        if duration_ns is not None:
            self._line(f"  -- {go_duration(duration_ns)}")
        bad = 1 if failed else 0
        self._line(f"  -- {_counted(max(self._files - bad, 0), bad, 'migration')}")
        self._line(f"  -- {_counted(max(self._stmts - bad, 0), bad, 'sql statement')}")

    def close(self) -> None:
        """Stop the progress bar (idempotent)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
