"""Kill-anywhere benchmark (issue 8): at least 100 random SIGKILLs of a real
``pulumi-migrations apply`` per dialect, then the check that every file's effects are present
exactly once; prints the figures.

Each chain starts from a fresh database and kills runs of the scenario in
``tests/helpers/kills.py`` until one completes: half the kills at a random statement through
the executor's hook (``before:N`` / ``after:N``, N random), half after a random delay (anywhere:
start-up, connect, lock, table creation, statements, commit). Tx modes ``file`` and ``none``
alternate. Outcomes per dialect: kills, chains, chains that ended exactly once, honest stops
(one ``error:`` line naming a statement in doubt) and violations (anything else; listed).

    .venv/bin/python tests/bench/bench_kills.py                   # 100 kills per dialect
    .venv/bin/python tests/bench/bench_kills.py --kills 120 --dialects sqlite,mariadb --seed 7

Needs the PostgreSQL 15 and MariaDB server binaries (``make system-deps``); servers are started
by ``tests/servers.py`` under a temporary directory and stopped at the end.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

from tests.dirtools import make_dir  # noqa: E402
from tests.helpers import kills  # noqa: E402
from tests.servers import start_mariadb, start_postgres  # noqa: E402


def _chain(url: str, dialect: str, work: Path, rng: random.Random, tx_mode: str,
           stats: dict, budget: int) -> None:
    d = make_dir(work / uuid.uuid4().hex[:8], kills.files(dialect))
    total = kills.statement_count(dialect)
    for _ in range(50):
        if stats["kills"] >= budget:
            break
        if rng.random() < 0.5:
            point = f"{rng.choice(['before', 'after'])}:{rng.randint(1, max(1, total // 3))}"
            killed, code, err = kills.run_killed_at(url, d, work, tx_mode=tx_mode, kill_point=point)
        else:
            killed, code, err = kills.run_killed_after(url, d, work, tx_mode=tx_mode,
                                                       delay=rng.uniform(0.05, 0.8))
        if killed:
            stats["kills"] += 1
            continue
        if code == 0:
            break
        lines = [line for line in err.splitlines() if line.strip()]
        if len(lines) == 1 and "may or may not have completed" in lines[0]:
            stats["honest_stops"] += 1
            return
        stats["violations"].append(f"{tx_mode}: rc={code}: {err.strip()[:300]}")
        return
    proc = kills.spawn(url, d, work, tx_mode=tx_mode)
    _, err = proc.communicate(timeout=300)
    if proc.returncode != 0:
        stats["violations"].append(f"{tx_mode}: final run rc={proc.returncode}: {err.strip()[:300]}")
        return
    try:
        kills.assert_exactly_once(url)
    except AssertionError as failure:
        stats["violations"].append(f"{tx_mode}: not exactly once: {str(failure)[:300]}")
        return
    stats["exactly_once"] += 1


def run(dialect: str, fresh_url, work: Path, rng: random.Random, budget: int) -> dict:
    stats = {"kills": 0, "chains": 0, "exactly_once": 0, "honest_stops": 0, "violations": []}
    started = time.monotonic()
    while stats["kills"] < budget:
        tx_mode = "file" if stats["chains"] % 2 == 0 else "none"
        stats["chains"] += 1
        _chain(fresh_url(), dialect, work, rng, tx_mode, stats, budget)
    stats["seconds"] = round(time.monotonic() - started, 1)
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=100, help="SIGKILLs per dialect (default 100)")
    ap.add_argument("--dialects", default="sqlite,postgresql,mariadb")
    ap.add_argument("--seed", type=int, default=20261202)
    args = ap.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="pm-kills-"))
    base.chmod(0o755)
    servers = []
    results = {}
    try:
        for dialect in args.dialects.split(","):
            rng = random.Random(f"{args.seed}-{dialect}")
            work = base / dialect
            work.mkdir()
            if dialect == "sqlite":
                counter = iter(range(1_000_000))

                def fresh(work: Path = work, counter=counter) -> str:
                    return f"sqlite://{work}/db{next(counter)}.db"
            else:
                server = (start_postgres if dialect == "postgresql" else start_mariadb)(base / f"srv-{dialect}")
                servers.append(server)

                def fresh(server=server) -> str:
                    name = "k_" + uuid.uuid4().hex[:12]
                    server.create_database(name)
                    return server.app_url(name)
            results[dialect] = run("mysql" if dialect == "mariadb" else dialect, fresh, work, rng, args.kills)
            r = results[dialect]
            print(f"{dialect:<11} kills={r['kills']:<4} chains={r['chains']:<3} exactly_once={r['exactly_once']:<3} "
                  f"honest_stops={r['honest_stops']:<3} violations={len(r['violations'])} ({r['seconds']}s)",
                  flush=True)
            for v in r["violations"]:
                print(f"    violation: {v}", flush=True)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 1 if any(r["violations"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
