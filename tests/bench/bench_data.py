"""Data benchmark: one ~10 MB INSERT-heavy migration vs the database's own client running it.

Run from the repository root (not collected by pytest)::

    .venv/bin/python tests/bench/bench_data.py                        # 10 MB, 3 runs, all dialects
    .venv/bin/python tests/bench/bench_data.py --dialects sqlite,postgres --repeat 5
    .venv/bin/python tests/bench/bench_data.py --rows-per-insert 1    # one row per INSERT

The file (``datagen.data_sql``: one CREATE TABLE, then multi-row INSERTs whose strings hold
doubled quotes, ``;``, ``--``, ``/*``, parentheses, backslashes and non-ASCII text) is applied,
each time to a fresh database, by:

- ``floor``: the database's own client running the same file in one transaction:
  ``sqlite3 -bail DB < BEGIN; file COMMIT;``, ``psql -X -q -v ON_ERROR_STOP=1 -1 -f file``,
  ``mariadb ... DB < SET autocommit=0; file COMMIT;`` (MariaDB commits DDL implicitly: with
  autocommit off the INSERTs after the CREATE TABLE still run in one transaction);
- ``ours``: ``pulumi-migrations apply`` on a directory holding just that file (a regular install
  in ``--tools-dir``/venv, as bench_apply.py does; ``--editable`` for this interpreter's venv);
- ``python`` (SQLite only, for information): the least any Python program can do, on the
  interpreter ours runs with: ``sqlite3.connect``, then ``executescript`` of the floor's script
  (``BEGIN;`` + file + ``COMMIT;``) read as UTF-8. No import of ours, no atlas.sum, no split,
  no revision row, no output: what is left between it and the floor is the interpreter's start,
  the decoding and the sqlite3 module, and between ``ours`` and it, everything ours does.

Wall clock including process start; the median of ``--repeat`` runs, tools interleaved. Servers:
PostgreSQL 15 and MariaDB 10.11 started fresh and durable (fsync on). After every apply the
table's row count is checked. It also reports the splitter's speed on the file (MB/s of UTF-8,
best of 5, in this process) for each dialect's scan options.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_apply import BenchError, find_tools, machine, run_timed  # noqa: E402
from datagen import TABLE, data_sql, row_count  # noqa: E402

DIALECTS = ("sqlite", "postgres", "mariadb")
TOOLS = ("floor", "ours")
EXTRA = {"sqlite": ("python",)}  # reference tools per dialect, for information
PYTHON_MIN = ("import sqlite3, sys\n"
              "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
              "c.executescript(open(sys.argv[2], encoding='utf-8').read())\n")
TARGET = 1.2          # ours / floor
SPLIT_TARGET = 100.0  # MB/s
LEX_OPTIONS = {"sqlite": "sqlite", "postgres": "postgresql", "mariadb": "mysql"}


class Inputs:
    """The generated file in the layouts the tools need, under ``work/data-<size>-<rows>``."""

    def __init__(self, work: Path, size: int, rows_per_insert: int):
        base = work / f"data-{size}-{rows_per_insert}"
        self.atlas = base / "atlas"
        self.sql = self.atlas / "20240101000000_seed.sql"
        self.sqlite_floor = base / "floor-sqlite.sql"
        self.mariadb_floor = base / "floor-mariadb.sql"
        marker = base / ".complete"
        if not marker.is_file():
            shutil.rmtree(base, ignore_errors=True)
            self.atlas.mkdir(parents=True)
            text = data_sql(size, rows_per_insert)
            self.sql.write_text(text, encoding="utf-8")
            self.sqlite_floor.write_text(f"BEGIN;\n{text}COMMIT;\n", encoding="utf-8")
            self.mariadb_floor.write_text(f"SET autocommit=0;\n{text}COMMIT;\n", encoding="utf-8")
            from pulumi_migrations_provider.migdir import MigrationDir

            MigrationDir.load(self.atlas).write_sum()
            marker.write_text("ok\n")
        self.text = self.sql.read_text(encoding="utf-8")
        self.rows = row_count(self.text)
        self.bytes = len(self.text.encode("utf-8"))


class Servers:
    """Fresh databases on the servers this run started; argv per tool and dialect."""

    def __init__(self, work: Path, dialects: list[str]):
        from tests.servers import start_mariadb, start_postgres

        self.work = work
        self.count = 0
        self.pg = self.my = None
        (work / "sqlite").mkdir(parents=True, exist_ok=True)
        if "postgres" in dialects:
            shutil.rmtree(work / "pg", ignore_errors=True)
            self.pg = start_postgres(work / "pg", durable=True)
        if "mariadb" in dialects:
            shutil.rmtree(work / "my", ignore_errors=True)
            self.my = start_mariadb(work / "my", durable=True)

    def stop(self) -> None:
        for server in (self.pg, self.my):
            if server is not None:
                server.stop()

    def fresh(self, dialect: str) -> str:
        self.count += 1
        if dialect == "sqlite":
            path = self.work / "sqlite" / f"data{self.count}.db"
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return str(path)
        name = f"data_{os.getpid()}_{self.count}"
        (self.pg if dialect == "postgres" else self.my).create_database(name)  # type: ignore
        return name

    def drop(self, dialect: str, db: str) -> None:
        if dialect == "sqlite":
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
        elif dialect == "postgres":
            with self._pg_admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        else:
            conn = self._my_admin()
            try:
                conn.cursor().execute(f"DROP DATABASE IF EXISTS `{db}`")
            finally:
                conn.close()

    def settle(self, dialect: str) -> None:
        """Flush dirty pages before a timed run (and CHECKPOINT PostgreSQL)."""
        os.sync()
        if dialect == "postgres":
            with self._pg_admin() as conn:
                conn.execute("CHECKPOINT")

    def fsyncs(self, dialect: str) -> int | None:
        """MariaDB's server-wide count of InnoDB fsyncs (``Innodb_data_fsyncs``; a durable
        commit costs one), else None: shows how many commits a tool made."""
        if dialect != "mariadb":
            return None
        conn = self._my_admin()
        try:
            cur = conn.cursor()
            cur.execute("SHOW GLOBAL STATUS LIKE 'Innodb_data_fsyncs'")
            return int(cur.fetchone()[1])
        finally:
            conn.close()

    def _pg_admin(self):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(self.pg.admin_url_for("postgres").replace(  # type: ignore
            "postgresql+psycopg://", "postgresql://"), autocommit=True)

    def _my_admin(self):  # type: ignore[no-untyped-def]
        import pymysql

        my = self.my
        return pymysql.connect(host=my.host, port=my.port, user=my.admin_user,  # type: ignore
                               password=my.admin_password, autocommit=True)  # type: ignore

    def command(self, tool: str, dialect: str, db: str, inputs: Inputs,
                ours: list[str]) -> tuple[list[str], dict[str, str], Path | None]:
        from tests.servers import APP_USER, SECRET_PASSWORD

        if tool == "python":
            return [_interpreter(ours), "-c", PYTHON_MIN, db, str(inputs.sqlite_floor)], {}, None
        if tool == "ours":
            url = (f"sqlite://{db}" if dialect == "sqlite" else
                   (self.pg if dialect == "postgres" else self.my).app_url(db))  # type: ignore
            return ours + ["apply", "--dir", f"file://{inputs.atlas}", "--url", url], {}, None
        if dialect == "sqlite":
            return ["sqlite3", "-bail", db], {}, inputs.sqlite_floor
        if dialect == "postgres":
            pg = self.pg
            return (["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-h", pg.host,  # type: ignore
                     "-p", str(pg.port), "-U", APP_USER, "-d", db, "-f",  # type: ignore
                     str(inputs.sql)], {"PGPASSWORD": SECRET_PASSWORD}, None)
        my = self.my
        return (["mariadb", "--no-defaults", "-h", my.host, "-P", str(my.port),  # type: ignore
                 "-u", APP_USER, db], {"MYSQL_PWD": SECRET_PASSWORD}, inputs.mariadb_floor)

    def rows(self, dialect: str, db: str) -> int:
        sql = f"SELECT count(*) FROM {TABLE}"
        if dialect == "sqlite":
            conn = sqlite3.connect(db)
            try:
                return conn.execute(sql).fetchone()[0]
            finally:
                conn.close()
        from tests.servers import APP_USER, SECRET_PASSWORD

        if dialect == "postgres":
            import psycopg

            with psycopg.connect(host=self.pg.host, port=self.pg.port, user=APP_USER,  # type: ignore
                                 password=SECRET_PASSWORD, dbname=db) as conn:
                return conn.execute(sql).fetchone()[0]  # type: ignore[index]
        import pymysql

        conn = pymysql.connect(host=self.my.host, port=self.my.port, user=APP_USER,  # type: ignore
                               password=SECRET_PASSWORD, database=db)
        try:
            cur = conn.cursor()
            cur.execute(sql)
            return cur.fetchone()[0]
        finally:
            conn.close()


def _interpreter(ours: list[str]) -> str:
    """The Python that runs ``ours``: its argv's own interpreter, or the console script's
    venv's ``python``."""
    if len(ours) > 1:
        return ours[0]
    venv_python = Path(ours[0]).parent / "python"
    return str(venv_python) if venv_python.exists() else sys.executable


def split_speed(inputs: Inputs) -> dict[str, tuple[float, int]]:
    """MB/s (best of 5) and statement count of splitting the file, per dialect's options."""
    from pulumi_migrations_provider import dialects, lex

    out = {}
    for dialect, name in LEX_OPTIONS.items():
        opts = dialects.named(name).scan_options
        best, count = float("inf"), 0
        for _ in range(5):
            t0 = time.perf_counter()
            count = len(lex.split_statements(inputs.text, opts))
            best = min(best, time.perf_counter() - t0)
        out[dialect] = (inputs.bytes / best / 1e6, count)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=10_000_000, help="bytes of SQL (about)")
    ap.add_argument("--rows-per-insert", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dialects", default=",".join(DIALECTS),
                    type=lambda s: [d for d in DIALECTS if d in s.split(",")])
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "bench-migrations"))
    ap.add_argument("--tools-dir", default=os.path.join(tempfile.gettempdir(), "bench-tools"))
    ap.add_argument("--editable", action="store_true",
                    help="run ours from this interpreter's (editable) venv")
    args = ap.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o755)
    inputs = Inputs(work, args.size, args.rows_per_insert)
    speeds = split_speed(inputs)
    print(f"file: {inputs.bytes / 1e6:.1f} MB, {inputs.rows} rows, "
          f"{args.rows_per_insert} rows per INSERT")
    for dialect, (mbs, count) in speeds.items():
        print(f"  split ({LEX_OPTIONS[dialect]} options): {mbs:6.1f} MB/s, {count} statements")
    ours = find_tools(Path(args.tools_dir), {"ours"}, editable=args.editable).ours
    servers = Servers(work, args.dialects)
    samples: dict[tuple[str, str], list[float]] = {}
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    from tests.servers import SECRET_PASSWORD

    try:
        for rep in range(args.repeat):
            for dialect in args.dialects:
                tools = TOOLS + EXTRA.get(dialect, ())
                order = tools if rep % 2 == 0 else tools[::-1]
                for tool in order:
                    db = servers.fresh(dialect)
                    cmd, env, stdin = servers.command(tool, dialect, db, inputs, ours)
                    servers.settle(dialect)
                    before = servers.fsyncs(dialect)
                    s = run_timed(cmd, env, stdin, logs / f"data-{tool}-{dialect}.log",
                                  SECRET_PASSWORD)
                    after = servers.fsyncs(dialect)
                    syncs = "" if before is None else f"  ({after - before} InnoDB fsyncs)"  # type: ignore[operator]
                    got = servers.rows(dialect, db)
                    if got != inputs.rows:
                        raise BenchError(f"{tool} on {dialect}: {got} rows, expected {inputs.rows}")
                    servers.drop(dialect, db)
                    samples.setdefault((dialect, tool), []).append(s)
                    print(f"  {dialect:8} {tool:5} run {rep + 1}: {s:7.3f}s{syncs}", flush=True)
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        servers.stop()
    print()
    print(f"Machine: {machine()}")
    print(f"Command: .venv/bin/python tests/bench/bench_data.py {' '.join(sys.argv[1:])}")
    print(f"Statistic: median of {args.repeat} runs, wall clock incl. process start\n")
    print("| dialect | floor s | ours s | ours/floor | split MB/s |")
    print("| --- | --- | --- | --- | --- |")
    verdicts = []
    for dialect in args.dialects:
        floor = statistics.median(samples[(dialect, "floor")])
        mine = statistics.median(samples[(dialect, "ours")])
        mbs = speeds[dialect][0]
        print(f"| {dialect} | {floor:.3f} | {mine:.3f} | {mine / floor:.2f}x | {mbs:.0f} |")
        verdicts.append(f"{dialect}: ours/floor {mine / floor:.2f}x (target <= {TARGET}x) "
                        f"{'MET' if mine / floor <= TARGET else 'MISSED'}; split {mbs:.0f} MB/s "
                        f"(target >= {SPLIT_TARGET:.0f}) {'MET' if mbs >= SPLIT_TARGET else 'MISSED'}")
    for dialect in args.dialects:
        for tool in EXTRA.get(dialect, ()):
            floor = statistics.median(samples[(dialect, "floor")])
            mine = statistics.median(samples[(dialect, "ours")])
            ref = statistics.median(samples[(dialect, tool)])
            print(f"| {dialect} ({tool}: read, decode, executescript) | {floor:.3f} | {ref:.3f} "
                  f"| {ref / floor:.2f}x | ours/{tool} {mine / ref:.2f}x |")
    print()
    for v in verdicts:
        print(v)
    return 0


if __name__ == "__main__":
    sys.exit(main())
