"""Tiny test helper: run a command with stdout on a pseudo-terminal and read all it printed."""

from __future__ import annotations

import os
import subprocess


def run_on_terminal(args: list[str], *, columns: int = 100,
                    timeout: float = 60) -> tuple[int, str, str]:
    """Run ``args`` with stdout on a new pty (``TERM=xterm``, ``COLUMNS``); return (exit code,
    what the terminal received, stderr)."""
    primary, secondary = os.openpty()
    proc = subprocess.Popen(args, stdout=secondary, stderr=subprocess.PIPE,
                            env={"PATH": "/usr/bin:/bin", "TERM": "xterm", "COLUMNS": str(columns)})
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    code = proc.wait(timeout=timeout)
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    return code, b"".join(chunks).decode("utf-8", "replace"), err
