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


_FINALIZER_SCRIPT = r"""
import os, signal, sys, time
from pulumi_migrations_provider import interrupts

interrupts.install()


class CutShort:
    # A driver object whose __del__ runs Python code (PyMySQL's MySQLResult.__del__ does).
    def __del__(self):
        os.kill(os.getpid(), signal.{sig})
        total = 0
        for i in range(100000):  # the signal's Python handler runs here, inside the finalizer
            total += i


try:
    CutShort()
    for _ in range(200):
        time.sleep(0.01)
    print("not stopped")
except KeyboardInterrupt as stop:
    print("stopped:", type(stop).__name__)
"""


@pytest.mark.parametrize("sig,name", [("SIGTERM", "Terminated"), ("SIGINT", "KeyboardInterrupt")])
def test_interrupt_inside_a_finalizer_still_stops_the_run(sig: str, name: str) -> None:
    """An interrupt raised while Python runs a ``__del__`` is swallowed there ("Exception ignored
    in …" and a traceback on stderr, the run going on). The CLI's handlers deliver it again just
    outside the finalizer: the run stops, with the same exception, and nothing on stderr."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", _FINALIZER_SCRIPT.replace("{sig}", sig)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == f"stopped: {name}", (done.stdout, done.stderr)
    assert done.stderr == ""


def test_a_pending_redelivery_is_disarmed_when_the_work_is_done() -> None:
    """An interrupt swallowed by a finalizer just before the run ends must not fire after it:
    ``finish()`` disarms it and the process exits normally."""
    script = _FINALIZER_SCRIPT.replace("{sig}", "SIGTERM").replace(
        "try:\n    CutShort()", "try:\n    interrupts._REDELIVERY_SECONDS = 0.5\n    CutShort()\n"
        "    interrupts.finish()\n    time.sleep(1)\n    print('finished')\n    raise SystemExit(0)")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "finished" and done.stderr == ""


_DURING_IMPORT_SCRIPT = r"""
import importlib.abc, os, signal, sys


class SignalOnImport(importlib.abc.MetaPathFinder):
    # The signal arrives while the CLI's modules load (the first ~25 ms of every run).
    def find_spec(self, name, path, target=None):
        if name == "pulumi_migrations_provider.cliout":
            os.kill(os.getpid(), signal.{sig})
        return None


sys.meta_path.insert(0, SignalOnImport())
sys.argv = ["pulumi-migrations", "status", "--dir", "file://nowhere", "--url", "sqlite://x.db"]
from pulumi_migrations_provider.console import run
run()
"""


@pytest.mark.parametrize("sig,code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_interrupt_while_the_cli_loads_is_one_line(tmp_path: Path, sig: str, code: int) -> None:
    """The console script installs the handlers before importing the CLI: a signal during
    those imports ends with the one line and the signal's exit code, nothing written."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", _DURING_IMPORT_SCRIPT.replace("{sig}", sig)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == code, done.stderr
    assert done.stderr.splitlines() == [
        "error: terminated (SIGTERM); rerun the same command to continue" if sig == "SIGTERM"
        else "error: interrupted; rerun the same command to continue"]
    assert not (tmp_path / "x.db").exists()


def test_the_console_script_is_the_early_entry_point() -> None:
    """pip's wrapper imports the entry point's module first: it must be ``console`` (handlers,
    then the CLI), and ``python -m`` takes the same path."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'pulumi-migrations = "pulumi_migrations_provider.console:run"' in pyproject
    assert "from .console import run" in (ROOT / "provider/pulumi_migrations_provider/__main__.py").read_text()
