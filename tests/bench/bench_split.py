"""Split-only benchmark: the statement splitter's speed on the data benchmark's file, in-process.

Run from the repository root (not collected by pytest)::

    .venv/bin/python tests/bench/bench_split.py                         # both shapes, 3 rule sets
    .venv/bin/python tests/bench/bench_split.py --rows-per-insert 1 --repeat 9
    .venv/bin/python tests/bench/bench_split.py --ref main               # before/after, interleaved
    .venv/bin/python tests/bench/bench_split.py --ref main --clock cpu   # the same, in CPU time
    .venv/bin/python tests/bench/bench_split.py --profile --rows-per-insert 1 --dialects sqlite

The input is ``datagen.data_sql`` (the file ``bench_data.py`` applies), generated in memory, for
each ``--rows-per-insert`` shape (default ``50,1``: mysqldump's extended inserts and pg_dump
``--inserts``). For each dialect's scan options the file is split ``--repeat`` times with
``lex.split_statements``; the figure is MB of UTF-8 per second of the best run (the machine is
shared: the best run is the one least disturbed), by the wall clock or, with ``--clock cpu``,
by this process's CPU time (which waiting for a core shared with others does not inflate; on a
busy 2-core machine wall-clock figures scatter by 2x). ``--ref COMMIT`` also loads that commit's
``lex.py`` (``git show``) and times both splitters alternately, run for run, so the before and
after figures come from one machine state; the outputs are checked to be equal. Nothing touches
a database.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable
from types import ModuleType
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "provider"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from datagen import data_sql  # noqa: E402

from pulumi_migrations_provider import dialects, lex  # noqa: E402

DIALECTS = {"sqlite": "sqlite", "postgres": "postgresql", "mariadb": "mysql"}
TARGET = 100.0  # MB/s (issue 13)


def load_ref(commit: str) -> ModuleType:
    """``lex.py`` as of ``commit``, loaded next to the current one (same package, so its
    relative imports resolve)."""
    source = subprocess.run(["git", "show", f"{commit}:provider/pulumi_migrations_provider/lex.py"],
                            cwd=REPO, check=True, capture_output=True, text=True).stdout
    name = "pulumi_migrations_provider._lex_ref"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "pulumi_migrations_provider"
    sys.modules[name] = module
    exec(compile(source, f"{commit}:lex.py", "exec"), module.__dict__)
    return module


def fields(statements: list) -> list[tuple]:
    """What a split gave, comparable across the two implementations."""
    return [(s.text, s.pos, s.line, s.col, s.comments) for s in statements]


def best_of(text: str, dialect: str, repeat: int, modules: list[ModuleType],
            clock: Callable[[], float] = time.perf_counter) -> list[tuple[float, int]]:
    """Per module: seconds of the fastest of ``repeat`` splits, and the statement count; the
    modules take turns, run for run."""
    best = [float("inf")] * len(modules)
    counts = [0] * len(modules)
    for _ in range(repeat):
        for k, module in enumerate(modules):
            opts = dialects.named(DIALECTS[dialect]).scan_options  # duck-typed: any version of lex
            t0 = clock()
            counts[k] = len(module.split_statements(text, opts))
            best[k] = min(best[k], clock() - t0)
    return list(zip(best, counts))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=10_000_000, help="bytes of SQL (about)")
    ap.add_argument("--rows-per-insert", default="50,1",
                    type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dialects", default=",".join(DIALECTS),
                    type=lambda s: [d for d in DIALECTS if d in s.split(",")])
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu: this process's CPU time (less disturbed by other processes)")
    ap.add_argument("--ref", help="also time this commit's lex.py, alternately (before/after)")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one split instead")
    args = ap.parse_args(argv)
    modules = [lex] if args.ref is None else [load_ref(args.ref), lex]
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Python {sys.version.split()[0]}, {args.clock} clock, best of {args.repeat}, "
          f"load average {load}")
    if args.ref is None:
        print("| shape | rules | statements | MB | best s | split MB/s |")
        print("| --- | --- | --- | --- | --- | --- |")
    else:
        print(f"| shape | rules | statements | MB | {args.ref} MB/s | this tree MB/s | speed-up |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
    missed = 0
    for rows in args.rows_per_insert:
        text = data_sql(args.size, rows)
        mb = len(text.encode("utf-8")) / 1e6
        for dialect in args.dialects:
            opts = dialects.named(DIALECTS[dialect]).scan_options
            if args.profile:
                import cProfile
                import pstats

                prof = cProfile.Profile()
                prof.runcall(lex.split_statements, text, opts)
                pstats.Stats(prof).sort_stats("tottime").print_stats(12)
                continue
            times = best_of(text, dialect, args.repeat, modules, clock)
            s, count = times[-1]
            missed += mb / s < TARGET
            shape = f"{rows} row{'s' if rows != 1 else ''} per INSERT"
            if args.ref is None:
                print(f"| {shape} | {DIALECTS[dialect]} | {count} | {mb:.1f} | {s:.4f} | "
                      f"{mb / s:.0f} |", flush=True)
                continue
            ref = modules[0]
            ref_opts = opts
            before, after = ref.split_statements(text, ref_opts), lex.split_statements(text, opts)
            if fields(before) != fields(after):
                print(f"error: {args.ref}'s split differs on {shape}, {dialect}", file=sys.stderr)
                return 1
            r = times[0][0]
            print(f"| {shape} | {DIALECTS[dialect]} | {count} | {mb:.1f} | {mb / r:.0f} | "
                  f"{mb / s:.0f} | {r / s:.2f}x |", flush=True)
    if not args.profile:
        print(f"\ntarget >= {TARGET:.0f} MB/s: " + ("MET" if not missed else f"MISSED ({missed})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
