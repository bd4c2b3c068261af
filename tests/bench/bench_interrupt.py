"""What stopping SQLite statements on Ctrl-C costs (dialects/sqlite_interrupt.py), in-process.

Run from the repository root (not collected by pytest)::

    .venv/bin/python tests/bench/bench_interrupt.py               # 7 runs of each case
    .venv/bin/python tests/bench/bench_interrupt.py --repeat 15

Each case runs on a plain ``sqlite3.Connection`` (what main had) and on a
``StoppableConnection`` (the progress handler every ``CHECK_EVERY`` instructions), alternating,
each on a fresh in-memory database; the median of ``--repeat`` runs and the ratio are printed:

- ``cpu``: one CPU-bound statement, a 3,000,000-row recursive ``INSERT … SELECT`` (the shape
  of issue 8's 20 s statement); the handler is called every ~0.1 ms here;
- ``data50``/``data1``: the data benchmark's 10 MB seed file (``datagen.data_sql``, 50 rows or
  1 row per INSERT) as one script in one transaction, as ``--tx-mode file`` runs it;
- ``stmts``: 100,000 one-row INSERTs one by one through ``Connection.execute`` (main's
  ``base.Connection`` vs ``SQLiteConnection``), as ``--tx-mode all`` runs a file;
- ``stop``: how long after a SIGINT the ``cpu`` statement raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "provider"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from datagen import data_sql  # noqa: E402
from pulumi_migrations_provider.dialects.base import Connection  # noqa: E402
from pulumi_migrations_provider.dialects.sqlite import SQLiteConnection, SQLiteDialect  # noqa: E402
from pulumi_migrations_provider.dialects.sqlite_interrupt import CHECK_EVERY, StoppableConnection  # noqa: E402
from pulumi_migrations_provider.target import Target  # noqa: E402

CPU = ("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {n}) "
       "INSERT INTO t SELECT i FROM c")


def _open(factory: type) -> sqlite3.Connection:
    raw = sqlite3.connect(":memory:", isolation_level=None, factory=factory)
    raw.execute("CREATE TABLE t (i INTEGER)")
    return raw


def cpu(factory: type) -> float:
    raw = _open(factory)
    t0 = time.perf_counter()
    raw.execute(CPU.format(n=3_000_000))
    took = time.perf_counter() - t0
    raw.close()
    return took


def script(factory: type, text: str) -> float:
    raw = sqlite3.connect(":memory:", isolation_level=None, factory=factory)
    t0 = time.perf_counter()
    raw.executescript("BEGIN;\n" + text + "\nCOMMIT;")
    took = time.perf_counter() - t0
    raw.close()
    return took


def stmts(factory: type, n: int = 100_000) -> float:
    raw = _open(factory)
    cls = SQLiteConnection if factory is StoppableConnection else Connection
    conn = cls(SQLiteDialect(), Target.parse("sqlite://:memory:"), raw)
    conn.execute("BEGIN")
    texts = [f"INSERT INTO t VALUES ({i})" for i in range(n)]
    t0 = time.perf_counter()
    for text in texts:
        conn.execute(text).close()
    took = time.perf_counter() - t0
    conn.execute("COMMIT")
    raw.close()
    return took


def stop_latency() -> float:
    raw = _open(StoppableConnection)
    conn = SQLiteConnection(SQLiteDialect(), Target.parse("sqlite://:memory:"), raw)
    sent: list[float] = []

    def send() -> None:
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(0.3, send)
    timer.start()
    try:
        conn.execute(CPU.format(n=200_000_000))
    except KeyboardInterrupt:
        return time.perf_counter() - sent[0]
    finally:
        timer.cancel()
        raw.close()
    raise SystemExit("the statement completed: the interrupt was not seen")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    data50, data1 = data_sql(10_000_000, 50), data_sql(10_000_000, 1)
    cases = {"cpu": cpu, "data50": lambda f: script(f, data50), "data1": lambda f: script(f, data1),
             "stmts": stmts}
    samples: dict[tuple[str, str], list[float]] = {}
    for r in range(args.repeat):
        for name, run in cases.items():
            order = (sqlite3.Connection, StoppableConnection)
            for factory in order if r % 2 == 0 else order[::-1]:
                who = "stoppable" if factory is StoppableConnection else "plain"
                samples.setdefault((name, who), []).append(run(factory))
    print(f"CHECK_EVERY={CHECK_EVERY}, sqlite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, "
          f"median of {args.repeat}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'case':8} {'plain s':>9} {'stoppable s':>12} {'ratio':>7}")
    for name in cases:
        plain = statistics.median(samples[(name, "plain")])
        ours = statistics.median(samples[(name, "stoppable")])
        print(f"{name:8} {plain:9.4f} {ours:12.4f} {ours / plain:7.3f}")
    stops = sorted(stop_latency() for _ in range(5))
    print(f"stop after SIGINT: median {statistics.median(stops) * 1000:.2f} ms, max {stops[-1] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
