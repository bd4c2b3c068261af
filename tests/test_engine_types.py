"""The engine and providers type-check (mypy, the project's settings in pyproject.toml): the
dialect contract, the errors and the reports are typed without ``Any`` escapes for cycles, and a
change that breaks a contract's types fails here rather than at run time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_engine_type_checks() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(ROOT / ".mypy_cache"), "provider/pulumi_migrations_provider"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
