"""Multi-tenant fan-out: one migration directory applied to (or looked at on) many databases.

Usage::

    from pulumi_migrations_provider import fanout

    tenants = [fanout.Tenant("acme", target, directory, options), ...]
    outcomes = fanout.apply_all(tenants, parallel=8, watch=fanout.Watch())
    failed = [o for o in outcomes if o.error]

Contract:

- ``apply_all``/``status_all`` run ``engine.apply``/``engine.status`` for every tenant,
  ``parallel`` at a time, in threads (the work is the databases'; the drivers release the GIL
  while they wait; measured in tests/bench/bench_tenants.py). One tenant failing never stops
  the others: its ``Outcome.error`` holds the one-line message. Outcomes come back in the
  tenants' order.
- A Ctrl-C stops starting tenants; the ones under way finish (each one's engine call keeps its
  own guarantees), then ``KeyboardInterrupt`` is raised again with the outcomes so far in
  ``Interrupted.outcomes``.
- ``Watch`` receives every engine event of every tenant (from the worker threads) plus
  ``tenant_started``/``tenant_done``; ``Watch`` itself does nothing. Rendering lives in
  ``fanoutout``'s printers (terminal progress, plain lines, summary table).
- Outcomes never carry a password: ``url`` is ``Target.redacted()``; engine errors are
  password-free already and are scrubbed with the tenant's target once more.
- Nothing here imports pulumi or the CLI.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields
from typing import Any, Callable

from . import engine
from .errors import MigrateError
from .migdir import MigrationDir
from .reports import Options
from .target import Target


@dataclass(slots=True)
class Tenant:
    """One target of a fan-out: a display name, where it is, what to apply, how."""

    name: str
    target: Target
    directory: MigrationDir
    options: Options


@dataclass(slots=True)
class Outcome:
    """What happened on one tenant. ``status``: ``OK``/``PENDING`` (status), ``APPLIED``/
    ``UP_TO_DATE`` (apply; ``DRY_RUN`` with ``--dry-run``), ``FAILED`` or ``NOT_RUN`` (a Ctrl-C
    came first). ``pending``: after an apply, the files still pending; after a dry run, the files
    it would run; after a status, the pending files."""

    tenant: str
    url: str
    status: str
    from_version: str | None = None
    to_version: str | None = None
    applied: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    statements: int = 0
    duration_s: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a fan-out; ``outcomes`` has every tenant (``NOT_RUN`` for those never
    started)."""

    def __init__(self, outcomes: list[Outcome]) -> None:
        super().__init__()
        self.outcomes = outcomes


class Watch:
    """Receives a fan-out's progress; subclass and override what you need. Called from worker
    threads (one tenant's calls come from one thread, in order)."""

    def tenant_started(self, tenant: Tenant) -> None:
        """``tenant``'s engine call is about to start."""

    def event(self, tenant: Tenant, event: Any) -> None:
        """An engine event (``events.*``) of ``tenant``'s run."""

    def tenant_done(self, tenant: Tenant, outcome: Outcome) -> None:
        """``tenant`` finished (``outcome.error`` set when it failed)."""


def apply_all(tenants: list[Tenant], *, parallel: int = 1, dry_run: bool = False,
              watch: Watch | None = None) -> list[Outcome]:
    """Apply pending files on every tenant, ``parallel`` at a time."""
    def one(t: Tenant, w: Watch, seen: Outcome) -> Outcome:
        def logger(e: Any) -> None:
            kind = type(e).__name__
            if kind == "ExecutionStarted":
                seen.from_version = seen.to_version = e.current
                seen.pending = list(e.files)
            elif kind == "FileDone":
                seen.applied.append(e.file)
                seen.to_version = e.version
                seen.statements += e.statements
            w.event(t, e)

        report = engine.apply(t.target, t.directory, t.options, dry_run=dry_run, logger=logger)
        if dry_run:
            return Outcome(t.name, t.target.redacted(), "DRY_RUN", report.from_version,
                           report.target_version, pending=seen.pending)
        status = "APPLIED" if report.applied or report.baseline_written else "UP_TO_DATE"
        return Outcome(t.name, t.target.redacted(), status, report.from_version,
                       report.current_version,
                       list(report.applied), list(report.pending), report.statements)
    return _fan_out(tenants, one, parallel, watch or Watch())


def status_all(tenants: list[Tenant], *, parallel: int = 1,
               watch: Watch | None = None) -> list[Outcome]:
    """Compute every tenant's status (writes nothing), ``parallel`` at a time."""
    def one(t: Tenant, w: Watch, seen: Outcome) -> Outcome:
        report = engine.status(t.target, t.directory, t.options)
        return Outcome(t.name, t.target.redacted(), report.status, report.current_version,
                       report.target_version, pending=list(report.pending), error=report.error)
    return _fan_out(tenants, one, parallel, watch or Watch())


def _fan_out(tenants: list[Tenant], one: Callable[[Tenant, Watch, Outcome], Outcome], parallel: int,
             watch: Watch) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * len(tenants)
    stop = threading.Event()

    def run(i: int) -> None:
        t = tenants[i]
        if stop.is_set():
            return
        watch.tenant_started(t)
        t0 = time.monotonic()
        # What the engine's events showed so far: a failure keeps the files done before it.
        seen = Outcome(t.name, t.target.redacted(), "FAILED")
        try:
            outcome = one(t, watch, seen)
        except MigrateError as err:
            outcome = seen
            outcome.error = t.target.scrub(" ".join(str(err).split()))
            outcome.pending = [f for f in outcome.pending if f not in outcome.applied]
        except Exception as err:  # a bug on one tenant must not hide the others' results
            outcome = seen
            outcome.error = t.target.scrub(f"internal error ({type(err).__name__}: {err}); "
                                           "please report it")
        outcome.duration_s = time.monotonic() - t0
        outcomes[i] = outcome
        watch.tenant_done(t, outcome)

    workers = max(1, min(parallel, len(tenants)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tenant")
    futures: set[Future[None]] = set()
    try:
        for i in range(len(tenants)):
            futures.add(pool.submit(run, i))
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
    except KeyboardInterrupt:
        stop.set()
        for f in futures:
            f.cancel()
        pool.shutdown(wait=True)
        raise Interrupted(_filled(tenants, outcomes)) from None
    pool.shutdown(wait=True)
    return _filled(tenants, outcomes)


def _filled(tenants: list[Tenant], outcomes: list[Outcome | None]) -> list[Outcome]:
    return [o if o is not None else Outcome(t.name, t.target.redacted(), "NOT_RUN")
            for t, o in zip(tenants, outcomes)]
