"""Does SQLite's execution on a thread overlap with Python work on the main thread?

Run from the repository root (not collected by pytest)::

    .venv/bin/python tests/bench/gil_overlap.py                 # the data benchmark's 10 MB file
    .venv/bin/python tests/bench/gil_overlap.py --rows-per-insert 1

``executescript`` releases the GIL while SQLite prepares and steps each statement, but takes it
back between statements. The script times, on fresh files at ours' settings: the script alone on
a thread (main thread idle), the splitter alone, and both at once, at several switch intervals.
When the main thread is busy in Python, the worker waits for the GIL at every statement
boundary, so "both" costs about "script + split": splitting while executing (the pipelining
issue 13 suggests) would not shorten an apply. Measured 2026-12-03: see tests/bench/README.md,
"Data benchmark".
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "provider"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from datagen import data_sql  # noqa: E402
from pulumi_migrations_provider import dialects, lex  # noqa: E402


def _run(work: Path, script: str, text: str, *, busy: bool, interval: float) -> tuple[float, float]:
    """Wall time of executing ``script`` on a thread while the main thread splits ``text``
    (``busy``) or waits; and how long the split took meanwhile."""
    sys.setswitchinterval(interval)
    db = work / "overlap.db"
    for suffix in ("", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA journal_mode = TRUNCATE")
    try:
        t0 = time.perf_counter()
        worker = threading.Thread(target=conn.executescript, args=(script,))
        worker.start()
        split = 0.0
        if busy:
            s0 = time.perf_counter()
            lex.split_statements(text, dialects.named("sqlite").scan_options)
            split = time.perf_counter() - s0
        worker.join()
        return time.perf_counter() - t0, split
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=10_000_000)
    ap.add_argument("--rows-per-insert", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    text = data_sql(args.size, args.rows_per_insert)
    stmts = lex.split_statements(text, dialects.named("sqlite").scan_options)
    script = "BEGIN;\n" + "\n".join(s.text for s in stmts) + "\nCOMMIT;"
    split_alone = min(_time(lambda: lex.split_statements(text, dialects.named("sqlite").scan_options)) for _ in range(args.repeat))
    print(f"{len(stmts)} statements; split alone {split_alone:.3f}s")
    with tempfile.TemporaryDirectory() as tmp:
        for interval in (0.005, 0.001, 0.0001):
            idle = min(_run(Path(tmp), script, text, busy=False, interval=interval)[0]
                       for _ in range(args.repeat))
            both = min((_run(Path(tmp), script, text, busy=True, interval=interval)
                        for _ in range(args.repeat)), key=lambda r: r[0])
            print(f"switch interval {interval * 1000:g} ms: script alone {idle:.3f}s, with the split "
                  f"on the main thread {both[0]:.3f}s (split took {both[1]:.3f}s; no overlap would "
                  f"be {idle + split_alone:.3f}s, full overlap {max(idle, split_alone):.3f}s)")
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


def _time(f) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(main())
