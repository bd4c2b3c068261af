"""How the executor reports statements: a logger that takes them in bulk (``statements_run``,
the CLI's printer and JSON log) is told exactly what a per-event logger is, in every way a file
runs (one transaction, in steps, after a failure, on a dry run); and the chained partial hashes
computed only as far as needed are Atlas's."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulumi_migrations_provider import dialects, engine, events, lex
from pulumi_migrations_provider.errors import StatementError
from pulumi_migrations_provider.executor import Prepared
from pulumi_migrations_provider.migdir import MigrationFile
from pulumi_migrations_provider.reports import Options
from tests.dirtools import make_dir

SEED = "".join(f"INSERT INTO t (a, b) VALUES ({i}, 'x;{i}');\n" for i in range(1, 41))
FILES = {
    "1_t.sql": "CREATE TABLE t (a int PRIMARY KEY, b varchar(20));\n" + SEED,
    "2_more.sql": "INSERT INTO t (a, b) VALUES (100, 'y');\nUPDATE t SET b = 'z' WHERE a = 1;\n",
}
BROKEN = {"3_bad.sql": "INSERT INTO t (a, b) VALUES (200, 'ok');\nINSERT INTO t (a, b) VALUES (1, 'dup');\n"
                       "INSERT INTO t (a, b) VALUES (201, 'never');\n"}


class Bulk:
    """A logger taking statements in bulk; records what it was told as per-event events."""

    def __init__(self) -> None:
        self.seen: list[object] = []
        self.calls = 0

    def __call__(self, event: object) -> None:
        assert not isinstance(event, events.StatementRun), "a bulk logger got a single event"
        self.seen.append(event)

    def statements_run(self, file: str, statements: list[lex.Statement], start: int, stop: int) -> None:
        self.calls += 1
        for i in range(start, stop):
            s = statements[i]
            self.seen.append(events.StatementRun(file, i + 1, s.text, s.line, s.col))


def _shape(seen: list[object]) -> list[object]:
    """Events without their timings."""
    out: list[object] = []
    for e in seen:
        if isinstance(e, (events.FileDone, events.ExecutionDone)):
            out.append((type(e).__name__, getattr(e, "file", None), e.statements))
        elif isinstance(e, events.ExecutionFailed):
            out.append(("ExecutionFailed", e.file, str(e.error)))
        else:
            out.append(e)
    return out


def _both(url_a: str, url_b: str, d: Path, options: Options, **kw: object) -> tuple[list, Bulk]:
    plain: list[object] = []
    bulk = Bulk()
    for url, logger in ((url_a, plain.append), (url_b, bulk)):
        try:
            engine.apply(url, d, options, logger=logger, **kw)  # type: ignore[arg-type]
        except StatementError:
            pass
    return _shape(plain), bulk


@pytest.mark.parametrize("tx_mode", ["file", "none"])
def test_bulk_logger_is_told_what_a_per_event_logger_is(server_db, tmp_path: Path, tx_mode: str) -> None:
    """One transaction per file (SQLite, PostgreSQL) and in steps (MariaDB; every dialect under
    ``none``), then a file failing at its second statement: the same events either way, the
    failing statement the last one reported."""
    options = Options(tx_mode=tx_mode)
    d = make_dir(tmp_path, FILES)
    plain, bulk = _both(server_db.url, server_db.fresh_url(), d, options)
    assert plain == _shape(bulk.seen)
    runs = [e for e in plain if isinstance(e, events.StatementRun)]
    assert len(runs) == 43 and bulk.calls <= (len(runs) if tx_mode == "none" else 3)
    d2 = make_dir(tmp_path, {**FILES, **BROKEN}, name="broken")
    plain, bulk = _both(server_db.fresh_url(), server_db.fresh_url(), d2, options)
    assert plain == _shape(bulk.seen)
    last = [e for e in plain if isinstance(e, events.StatementRun)][-1]
    assert (last.file, last.index, last.line) == ("3_bad.sql", 2, 2)
    assert plain[-1][0] == "ExecutionFailed"


def test_bulk_logger_on_a_dry_run(sqlite_url: str, tmp_path: Path) -> None:
    d = make_dir(tmp_path, FILES)
    plain, bulk = _both(sqlite_url, sqlite_url, d, Options(), dry_run=True)
    assert plain == _shape(bulk.seen)
    assert sum(isinstance(e, events.StatementRun) for e in plain) == 43
    assert not Path(sqlite_url.removeprefix("sqlite://")).exists()


def test_partial_hashes_computed_as_far_as_asked_are_atlas_s() -> None:
    text = FILES["1_t.sql"]
    stmts = lex.split_statements(text, dialects.named("sqlite").scan_options)
    want = lex.statement_hashes([s.text for s in stmts])
    p = Prepared(MigrationFile("1_t.sql", text.encode()), stmts, "x")
    assert p.hashes_upto(0) == []
    assert p.hashes_upto(3) == want[:3]
    assert p._chain.hashes == want[:3]  # nothing past what was asked
    assert p.hashes_upto(2) == want[:2]
    assert p.hashes == want
    assert p.hashes_upto(len(want) + 5) == want


@pytest.mark.parametrize("rows", [3, 5_000])  # a short run goes into the file's lines, a long one out at once
def test_printer_prints_the_same_in_bulk(monkeypatch: pytest.MonkeyPatch, rows: int) -> None:
    import io
    import sys

    from pulumi_migrations_provider.cliout import _ApplyPrinter

    text = "".join(f"INSERT INTO t VALUES ({i}, 'naïve ; -- {i}');\n" for i in range(rows))
    stmts = lex.split_statements(text, dialects.named("sqlite").scan_options)

    def printed(bulk: bool) -> str:
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        printer = _ApplyPrinter(live=False)
        printer(events.ExecutionStarted(None, "1", ("1_a.sql",), False))
        printer(events.FileStarted("1_a.sql", "1", 1, 1, len(stmts), 0))
        if bulk:
            printer.statements_run("1_a.sql", stmts, 0, 1)
            printer.statements_run("1_a.sql", stmts, 1, len(stmts))
        else:
            for i, s in enumerate(stmts):
                printer(events.StatementRun("1_a.sql", i + 1, s.text, s.line, s.col))
        printer(events.FileDone("1_a.sql", "1", len(stmts), 1_500_000))
        printer(events.ExecutionDone(("1_a.sql",), len(stmts), 2_000_000))
        return out.getvalue()

    want = printed(False)
    assert want.count("\n    -> INSERT") == rows and f"-- {rows} sql statements" in want
    assert printed(True) == want


def test_script_terminates_every_statement_as_terminated_does() -> None:
    """``Connection.run_script`` skips ``_terminated`` for statements it would return unchanged;
    the script must be the same as with every statement through it."""
    import random

    from pulumi_migrations_provider.dialects.base import Connection, Dialect, _terminated

    sent: list[str] = []

    class Capture(Dialect):
        def execute_script(self, conn: Connection, script: str) -> None:
            sent.append(script)

    conn = Connection(Capture(), None, None)  # type: ignore[arg-type]
    rng = random.Random(7)
    pieces = ["a", ";", "--", "-", "\n", " ", "\t", "\r", "\u00a0", "x -- y", "'"]
    stmts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 9))) for _ in range(20_000)]
    conn.run_script(stmts, begin=True, commit=True)
    assert sent == ["\n".join(["BEGIN;", *(_terminated(s) for s in stmts), "COMMIT;"])]
