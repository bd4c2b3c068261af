"""The ``pulumi-migrations`` console script (and ``python -m pulumi_migrations_provider``).

It installs the interrupt handlers (``interrupts``) before the CLI's modules are imported, so a
Ctrl-C or SIGTERM in the first milliseconds, while they load, stops with the CLI's one line and
exit code like any later one, never with a traceback. Then it hands over to ``cli.run``.
"""

from __future__ import annotations

import os
import sys

from . import interrupts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn


def run() -> NoReturn:
    interrupts.install()
    try:
        from .cli import run as cli_run
    except KeyboardInterrupt as stop:  # nothing has been done yet
        code = interrupts.report(stop)
        interrupts.finish()
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os._exit(code)
    cli_run()
