"""Split-only benchmark: the statement splitter's speed on the data benchmark's file, in-process.

Run from the repository root (not collected by pytest)::

    .venv/bin/python tests/bench/bench_split.py                         # both shapes, 3 rule sets
    .venv/bin/python tests/bench/bench_split.py --rows-per-insert 1 --repeat 9
    .venv/bin/python tests/bench/bench_split.py --profile --rows-per-insert 1 --dialects sqlite

The input is ``datagen.data_sql`` (the file ``bench_data.py`` applies), generated in memory, for
each ``--rows-per-insert`` shape (default ``50,1``: mysqldump's extended inserts and pg_dump
``--inserts``). For each dialect's scan options the file is split ``--repeat`` times with
``lex.split_statements``; the figure is MB of UTF-8 per second of the best run (the machine is
shared: the best run is the one least disturbed). Nothing touches a database or the disk.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "provider"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from datagen import data_sql  # noqa: E402

from pulumi_migrations_provider import lex  # noqa: E402

DIALECTS = {"sqlite": "sqlite", "postgres": "postgresql", "mariadb": "mysql"}
TARGET = 100.0  # MB/s (issue 13)


def best_of(text: str, opts: lex.ScanOptions, repeat: int) -> tuple[float, int]:
    """Seconds of the fastest of ``repeat`` splits, and the statement count."""
    best, count = float("inf"), 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        count = len(lex.split_statements(text, opts))
        best = min(best, time.perf_counter() - t0)
    return best, count


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=10_000_000, help="bytes of SQL (about)")
    ap.add_argument("--rows-per-insert", default="50,1",
                    type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dialects", default=",".join(DIALECTS),
                    type=lambda s: [d for d in DIALECTS if d in s.split(",")])
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one split instead")
    args = ap.parse_args(argv)
    print(f"Python {sys.version.split()[0]}, load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print("| shape | rules | statements | MB | best s | split MB/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    missed = 0
    for rows in args.rows_per_insert:
        text = data_sql(args.size, rows)
        mb = len(text.encode("utf-8")) / 1e6
        for dialect in args.dialects:
            opts = lex.OPTIONS_BY_DIALECT[DIALECTS[dialect]]
            if args.profile:
                import cProfile
                import pstats

                prof = cProfile.Profile()
                prof.runcall(lex.split_statements, text, opts)
                pstats.Stats(prof).sort_stats("tottime").print_stats(12)
                continue
            s, count = best_of(text, opts, args.repeat)
            missed += mb / s < TARGET
            shape = f"{rows} row{'s' if rows != 1 else ''} per INSERT"
            print(f"| {shape} | {DIALECTS[dialect]} | {count} | {mb:.1f} | {s:.4f} | {mb / s:.0f} |",
                  flush=True)
    if not args.profile:
        print(f"\ntarget >= {TARGET:.0f} MB/s: " + ("MET" if not missed else f"MISSED ({missed})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
