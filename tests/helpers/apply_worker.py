"""Subprocess entry point: run ``engine.apply`` once and report on stdout, one JSON object a line.

Usage: ``python -m tests.helpers.apply_worker URL DIR [LOCK_TIMEOUT] [TX_MODE]``

Every ``StatementRun`` event is printed (and flushed) as ``{"event": "stmt", "file": ..,
"index": ..}`` before the statement runs, so a parent can kill the process at a chosen point.
The last line is ``{"result": "ok", "applied": [...], "pending": [...]}`` (exit 0) or
``{"result": "error", "type": <class name>, "message": <str(err)>}`` (exit 1).
"""

from __future__ import annotations

import json
import sys

from pulumi_migrations_provider import engine
from pulumi_migrations_provider.errors import MigrateError
from pulumi_migrations_provider.events import Event, StatementRun
from pulumi_migrations_provider.reports import Options


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _logger(event: Event) -> None:
    if isinstance(event, StatementRun):
        _emit({"event": "stmt", "file": event.file, "index": event.index})


def main(argv: list[str]) -> int:
    """Apply ``argv[1]`` (dir) to ``argv[0]`` (URL); return the process exit code."""
    url, directory = argv[0], argv[1]
    lock_timeout = float(argv[2]) if len(argv) > 2 else 30.0
    tx_mode = argv[3] if len(argv) > 3 else "file"
    try:
        report = engine.apply(url, directory, Options(lock_timeout=lock_timeout, tx_mode=tx_mode),
                              logger=_logger)
    except MigrateError as err:
        _emit({"result": "error", "type": type(err).__name__, "message": str(err)})
        return 1
    _emit({"result": "ok", "applied": report.applied, "pending": report.pending})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
