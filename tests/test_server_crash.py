"""The server crashes mid-run (issue 8): PostgreSQL by immediate shutdown (no checkpoint, WAL
recovery at restart), MariaDB by SIGKILL; it is restarted on the same data directory and the
rerun completes with every file's effects exactly once (the scenario of
``tests/helpers/kills.py``). The servers here are durable (fsync on), unlike the session's fast
ones, since a crash of those may lose commits by design.

Two ways: the applier paused at a chosen statement (the executor's kill-point hook) while the
server crashes, then SIGKILLed; and the server crashed at a random moment of a live run, which
must end with one error line (the connection was lost, or could not be made) and no traceback.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import _fresh_name, _in_ci
from tests.dirtools import make_dir
from tests.helpers import kills
from tests.servers import MariaDbServer, PgServer, ServerStartError, start_mariadb, start_postgres

SEED = 20261202


@pytest.fixture(scope="module", params=["postgres", "mariadb"])
def durable(request: pytest.FixtureRequest) -> Iterator[PgServer | MariaDbServer]:
    base = Path(tempfile.mkdtemp(prefix="pm-crash-"))
    base.chmod(0o755)
    start = start_postgres if request.param == "postgres" else start_mariadb
    try:
        server = start(base, durable=True)
    except ServerStartError as err:
        shutil.rmtree(base, ignore_errors=True)
        if _in_ci():
            pytest.fail(f"CI=true and the durable {request.param} server cannot start: {err}")
        pytest.skip(f"durable {request.param} server unavailable: {err.reason.splitlines()[0]}")
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


def _url(server: PgServer | MariaDbServer) -> str:
    name = _fresh_name()
    server.create_database(name)
    return server.app_url(name)


def _dialect(server: PgServer | MariaDbServer) -> str:
    return "postgresql" if isinstance(server, PgServer) else "mysql"


def _finish(url: str, d: Path, tmp_path: Path, tx_mode: str) -> None:
    proc = kills.spawn(url, d, tmp_path, tx_mode=tx_mode)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    kills.assert_exactly_once(url)


@pytest.mark.parametrize("tx_mode", ["file", "none"])
def test_crash_while_paused_at_a_statement(durable: PgServer | MariaDbServer, tmp_path: Path,
                                           tx_mode: str) -> None:
    url = _url(durable)
    d = make_dir(tmp_path, kills.files(_dialect(durable)))
    rng = random.Random(f"{SEED}-{_dialect(durable)}-{tx_mode}")
    crashes = 0
    for _ in range(3):
        point = f"{rng.choice(['before', 'after'])}:{rng.randint(2, 5)}"
        proc = kills.spawn(url, d, tmp_path, tx_mode=tx_mode, kill_point=point)
        assert proc.stderr is not None
        line = proc.stderr.readline()
        if not line.startswith("kill point"):
            proc.wait(timeout=60)
            assert proc.returncode == 0, line + proc.stderr.read()
            break
        durable.crash_and_restart()
        crashes += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert crashes >= 2
    _finish(url, d, tmp_path, tx_mode)


def test_crash_at_random_moments_of_a_live_run(durable: PgServer | MariaDbServer, tmp_path: Path) -> None:
    rng = random.Random(f"{SEED}-{_dialect(durable)}-live")
    interrupted = 0
    for episode in range(3):
        url = _url(durable)
        d = make_dir(tmp_path / str(episode), kills.files(_dialect(durable)))
        proc = kills.spawn(url, d, tmp_path, tx_mode="file", stdout=subprocess.PIPE)
        failures: list[BaseException] = []
        file_k, delay = rng.randint(1, 5), rng.uniform(0.0, 0.02)

        def crash() -> None:
            """Crash ``delay`` seconds after the k-th file started (or at the end)."""
            assert proc.stdout is not None
            seen = 0
            for line in proc.stdout:
                seen += "-- migrating version" in line
                if seen >= file_k:
                    break
            time.sleep(delay)
            try:
                durable.crash()
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
            proc.stdout.read()

        crasher = threading.Thread(target=crash)
        crasher.start()
        assert proc.stderr is not None
        err = proc.stderr.read()
        proc.wait(timeout=120)
        crasher.join()
        assert not failures, failures
        durable.restart()
        assert "Traceback" not in err, err
        lines = [line for line in err.splitlines() if line.strip()]
        if proc.returncode != 0:
            interrupted += 1
            assert proc.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: "), err
        _finish(url, d, tmp_path, "file")
    assert interrupted >= 1, "no run was interrupted: the delays are too long for this machine"
