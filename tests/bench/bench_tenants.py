"""Tenants benchmark: one migration directory applied to many tenant databases on one server.

Measured side by side in one run, on a durable PostgreSQL 15 server started for the run
(``tests.servers.start_postgres(durable=True)``), every variant on fresh databases:

- ``floor``: ``psql -f floor.sql`` once per tenant (every file in its own transaction, as ours),
  ``--parallel`` tenants at a time (threads each waiting on one psql process);
- ``fan-out``: one ``pulumi-migrations apply --env tenants --parallel N`` over an atlas.hcl
  whose env has ``for_each`` over the tenant URLs;
- ``sequence``: the same with ``--parallel 1`` (Atlas's way: one tenant after the other);
- ``processes``: one ``pulumi-migrations apply --url TENANT`` process per tenant, ``--parallel``
  at a time (what the fan-out's threads are weighed against: processes instead of threads);
- ``provider``: ``--tenants`` Migration resources through the Pulumi SDK's real dynamic-provider
  server (``tests/grpc_harness.py``): preview (Check for every resource) and up (Check, Create),
  sent ``--parallel`` at a time as the engine does (the server itself runs 4 at once), the
  no-op preview, the preview of a new file indexing every table (its findings carry live
  facts), and the provider process's peak RSS (``VmHWM``).

Every applied database is checked afterwards (all files' tables present). Prints a table and,
with ``--json``, writes the figures::

    .venv/bin/python tests/bench/bench_tenants.py                      # 100 tenants x 20 files
    .venv/bin/python tests/bench/bench_tenants.py --tenants 20 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.benchgen import generate  # noqa: E402
from tests.servers import APP_USER, SECRET_PASSWORD, start_postgres  # noqa: E402

MIG = "pulumi-python:dynamic/migrations:Migration"


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("pulumi-migrations")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pulumi_migrations_provider"]


class Tenants:
    """Fresh tenant databases on the server, dropped after each variant."""

    def __init__(self, pg: object) -> None:
        self.pg = pg
        self.count = 0

    def make(self, n: int) -> list[str]:
        names = []
        for _ in range(n):
            self.count += 1
            name = f"tenant_{os.getpid()}_{self.count}"
            self.pg.create_database(name)  # type: ignore[attr-defined]
            names.append(name)
        return names

    def admin(self):  # type: ignore[no-untyped-def]
        import psycopg
        return psycopg.connect(self.pg.admin_url_for("postgres").replace(  # type: ignore[attr-defined]
            "postgresql+psycopg://", "postgresql://"), autocommit=True)

    def drop(self, names: list[str]) -> None:
        from psycopg import sql
        with self.admin() as conn:
            for name in names:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))

    def settle(self) -> None:
        os.sync()
        with self.admin() as conn:
            conn.execute("CHECKPOINT")

    def check(self, names: list[str], files: int) -> None:
        import psycopg
        pg = self.pg
        for name in names:
            with psycopg.connect(host=pg.host, port=pg.port, user=APP_USER,  # type: ignore
                                 password=SECRET_PASSWORD, dbname=name) as conn:
                n = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname='public' "
                                 "AND tablename ~ '^t[0-9]+$'").fetchone()[0]
            if n != files:
                raise SystemExit(f"benchmark check failed: {name} has {n} of {files} tables")


def run_floor(t: Tenants, names: list[str], floor: Path, parallel: int) -> float:
    pg = t.pg
    env = dict(os.environ, PGPASSWORD=SECRET_PASSWORD)

    def one(name: str) -> None:
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", pg.host,  # type: ignore
                        "-p", str(pg.port), "-U", APP_USER, "-d", name, "-f", str(floor)],  # type: ignore
                       env=env, check=True, stdout=subprocess.DEVNULL)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(one, names))
    return time.perf_counter() - t0


def project_file(work: Path, t: Tenants, names: list[str], atlas_dir: Path) -> Path:
    urls = ", ".join(f'"{t.pg.app_url(n)}"' for n in names)  # type: ignore[attr-defined]
    path = work / "atlas.hcl"
    path.write_text(f'env "tenants" {{\n  for_each = toset([{urls}])\n  url = each.value\n'
                    f'  migration {{\n    dir = "file://{atlas_dir}"\n  }}\n}}\n')
    return path


def run_ours(config: Path, parallel: int) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(_cli() + ["apply", "-c", f"file://{config}", "--env", "tenants",
                                    "--parallel", str(parallel), "--format", "json"],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"fan-out failed: {proc.stderr.strip()}")
    return elapsed


def run_processes(t: Tenants, names: list[str], atlas_dir: Path, parallel: int) -> float:
    def one(name: str) -> None:
        subprocess.run(_cli() + ["apply", "--dir", f"file://{atlas_dir}", "--url",
                                 t.pg.app_url(name)],  # type: ignore[attr-defined]
                       check=True, stdout=subprocess.DEVNULL)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        list(pool.map(one, names))
    return time.perf_counter() - t0


def day2_file(directory: Path, files: int) -> None:
    """Add the next file to ``directory``: an index on every existing table (a PG101 finding
    each, with the table's live rows and size), and re-hash. Its mtime is set 10 s back: the
    engine starts the provider more than 2 s after an edit, so the directory cache may trust
    it (a file younger than 2 s is read again for every resource: the racy rule)."""
    from pulumi_migrations_provider.migdir import MigrationDir
    from tests.bench.benchgen import file_name

    path = directory / file_name(files + 1)
    path.write_text("".join(f"CREATE INDEX t{i:05d}_id_idx ON t{i:05d} (id);\n"
                            for i in range(1, files + 1)))
    MigrationDir.load(directory).write_sum()
    old = time.time() - 10
    for f in directory.iterdir():
        os.utime(f, (old, old))


def run_provider(t: Tenants, names: list[str], atlas_dir: Path, parallel: int,
                 work: Path, files: int) -> dict[str, float]:
    import shutil

    from pulumi_migrations_provider.providers import MigrationProvider
    from tests.grpc_harness import ProviderServer, Stack

    own = work / f"provider-dir-{t.count}"  # day2_file edits it; mtimes are kept
    shutil.copytree(atlas_dir, own)
    atlas_dir = own
    server = ProviderServer(work)
    try:
        stack = Stack(server)
        provider = MigrationProvider()

        def inputs(name: str) -> dict[str, object]:
            return {"url": t.pg.app_url(name), "dir": str(atlas_dir)}  # type: ignore[attr-defined]

        def each(fn) -> float:  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                list(pool.map(fn, names))
            return time.perf_counter() - t0

        preview = each(lambda n: stack.preview(n, MIG, provider, inputs(n), secrets={"url"}))
        t.settle()
        up = each(lambda n: stack.up(n, MIG, provider, inputs(n), secrets={"url"},
                                     additional_secret_outputs=["url"]))
        again = each(lambda n: stack.preview(n, MIG, provider, inputs(n), secrets={"url"}))
        day2_file(atlas_dir, files)
        steps: list = []
        day2 = each(lambda n: steps.append(stack.preview(n, MIG, provider, inputs(n), secrets={"url"})))
        from tests.bench.benchgen import file_name

        shown = [s.inputs["migrations"][file_name(files + 1)].get("findings", []) for s in steps]
        if not all(len(f) == files and all("rows" in line for line in f) for f in shown):
            raise SystemExit(f"benchmark check failed: the new file's findings lack facts: {shown[0]}")
        status = Path(f"/proc/{server.proc.pid}/status").read_text()
        hwm = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
        return {"preview_s": preview, "up_s": up, "noop_preview_s": again, "day2_preview_s": day2,
                "peak_rss_mb": hwm / 1024}
    finally:
        server.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tenants", type=int, default=100)
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--variants", default="floor,fan-out,sequence,processes,provider")
    ap.add_argument("--json", help="write the samples here")
    args = ap.parse_args(argv)
    variants = args.variants.split(",")
    work = Path(tempfile.mkdtemp(prefix="bench-tenants-"))
    work.chmod(0o755)  # the server runs as the OS user postgres
    layout = generate(work / "gen", args.files)
    pg = start_postgres(work / "server", durable=True)
    t = Tenants(pg)
    samples: dict[str, list] = {v: [] for v in variants}
    try:
        for r in range(args.repeat):
            order = variants[r % len(variants):] + variants[:r % len(variants)]
            for v in order:
                names = t.make(args.tenants)
                t.settle()
                if v == "floor":
                    samples[v].append(run_floor(t, names, layout.floor, args.parallel))
                elif v in ("fan-out", "sequence"):
                    config = project_file(work, t, names, layout.atlas)
                    samples[v].append(run_ours(config, args.parallel if v == "fan-out" else 1))
                elif v == "processes":
                    samples[v].append(run_processes(t, names, layout.atlas, args.parallel))
                elif v == "provider":
                    samples[v].append(run_provider(t, names, layout.atlas, args.parallel, work, args.files))
                t.check(names, args.files)
                t.drop(names)
                print(f"run {r + 1} {v}: {samples[v][-1]}", file=sys.stderr, flush=True)
    finally:
        pg.stop()

    def med(v: str, key: str | None = None) -> float | None:
        if not samples.get(v):
            return None
        return statistics.median(s[key] if key else s for s in samples[v])

    floor, fan, seq = med("floor"), med("fan-out"), med("sequence")
    print(f"\n{args.tenants} tenants x {args.files} files, PostgreSQL 15 (durable), "
          f"--parallel {args.parallel}, median of {args.repeat}:")
    rows = [("floor (psql per tenant, parallel)", floor, 1.0 if floor else None),
            ("ours fan-out (--parallel)", fan, fan / floor if fan and floor else None),
            ("ours tenants in sequence", seq, seq / floor if seq and floor else None),
            ("ours, a process per tenant (parallel)", med("processes"),
             med("processes") / floor if med("processes") and floor else None)]
    for label, secs, ratio in rows:
        if secs is not None:
            print(f"  {label:<36} {secs:7.2f} s" + (f"   {ratio:.2f}x floor" if ratio else ""))
    if fan and floor:
        print(f"  target fan-out within 1.3x of the floor: {'MET' if fan / floor <= 1.3 else 'MISSED'}")
    if samples.get("provider"):
        print(f"  provider, {args.tenants} Migration resources: preview {med('provider', 'preview_s'):.2f} s, "
              f"up {med('provider', 'up_s'):.2f} s, no-op preview {med('provider', 'noop_preview_s'):.2f} s, "
              f"preview of a new file {med('provider', 'day2_preview_s'):.2f} s, "
              f"peak RSS {med('provider', 'peak_rss_mb'):.0f} MB")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "samples": samples}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
