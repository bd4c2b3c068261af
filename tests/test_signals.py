"""Ctrl-C and SIGTERM sent to a real ``pulumi-migrations apply`` at random moments.

Every episode must end with one line on stderr and no traceback, exit 130 (SIGINT) or 143
(SIGTERM) — or 0 when the run finished first — and the rerun must complete with every file's
effects present exactly once (the same files and checks as the SIGKILL suite in
``test_concurrency.py``). The seed is fixed so a failure reproduces.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.dirtools import make_dir
from tests.helpers import dbcheck
from tests.test_concurrency import _assert_exactly_once, _files

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261202


def _cli(url: str, d: Path, tmp_path: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path), PYTHONUNBUFFERED="1")
    env.pop("DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "pulumi_migrations_provider", "apply", "--dir", str(d), "--url", url],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _signal_during_file(proc: subprocess.Popen[str], sig: signal.Signals, k: int, delay: float) -> None:
    """Send ``sig`` ``delay`` seconds after the k-th file of this run started (or not at all when
    the run ends first)."""
    assert proc.stdout is not None
    seen = 0
    for line in proc.stdout:
        if "-- migrating version" in line:
            seen += 1
            if seen >= k:
                time.sleep(delay)
                proc.send_signal(sig)
                return


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_interrupt_then_rerun_applies_everything_exactly_once(db_url: str, tmp_path: Path,
                                                             sig: signal.Signals) -> None:
    rng = random.Random(f"{SEED}-{sig.name}-{dbcheck.dialect_of(db_url)}")
    files = _files(dbcheck.dialect_of(db_url), 80)
    d = make_dir(tmp_path, files)
    expected_code = 130 if sig == signal.SIGINT else 143
    interrupted = 0
    for _episode in range(5):
        proc = _cli(db_url, d, tmp_path)
        _signal_during_file(proc, sig, rng.randint(1, 12), rng.uniform(0.0, 0.004))
        _, err = proc.communicate(timeout=60)
        assert "Traceback" not in err, err
        assert proc.returncode in (0, expected_code), (proc.returncode, err)
        if proc.returncode:
            interrupted += 1
            lines = [line for line in err.splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith("error: "), err
            assert "rerun the same command" in lines[0]
    final = _cli(db_url, d, tmp_path)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    _assert_exactly_once(db_url, files)
    assert interrupted >= 1, "no episode was interrupted: the delays are too long for this machine"
