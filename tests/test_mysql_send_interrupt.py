"""MySQL/MariaDB: Ctrl-C or SIGTERM while a large statement is still being *sent*. The server
waits for the rest of the query, so any bytes the client sent next (ROLLBACK, RELEASE_LOCK)
would complete it with garbage, or leave both sides waiting for ever; the connection is
dropped instead. The run stops at once with the one-line interrupt message, and the rerun
applies the statement exactly once.

The window is made reliable by a proxy between the CLI and the server that stops reading the
client's bytes once part of the big statement has passed: the client's send blocks there, and
the signal lands in it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from pulumi_migrations_provider import engine
from pulumi_migrations_provider.reports import Options

from tests.dirtools import make_dir
from tests.helpers import dbcheck

ROOT = Path(__file__).resolve().parent.parent
SIZE = 12 * 1024 * 1024  # under MariaDB's default max_allowed_packet (16 MB)


class _StallingProxy:
    """Forwards TCP connections to ``target``; a connection whose client has sent more than
    ``stall_after`` bytes stops being read (``stalled`` is set) until ``release`` is set."""

    def __init__(self, target: tuple[str, int], stall_after: int):
        self.target = target
        self.stall_after = stall_after
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)  # inherited
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        sent = 0
        try:
            while True:
                if upstream and sent > self.stall_after and not self.release.is_set():
                    self.stalled.set()
                    self.release.wait()
                data = src.recv(16 * 1024)
                if not data:
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.release.set()
        self.listener.close()


def _count(url: str) -> int:
    return int(dbcheck.query(url, "SELECT count(*) FROM a")[0][0])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_signal_half_way_through_sending_a_statement(maria_url: str, tmp_path: Path,
                                                       sig: signal.Signals) -> None:
    big = "INSERT INTO a (v) VALUES ('" + "x" * SIZE + "');\n"
    d = make_dir(tmp_path, {"1_a.sql": "CREATE TABLE a (v LONGTEXT);\n", "2_b.sql": big})
    parts = urlsplit(maria_url)
    assert parts.hostname and parts.port
    proxy = _StallingProxy((parts.hostname, parts.port), stall_after=SIZE // 4)
    netloc = parts.netloc.rsplit(":", 1)[0] + f":{proxy.port}"
    via = urlunsplit(parts._replace(netloc=netloc))
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path))
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "pulumi_migrations_provider", "apply",
                             "--dir", str(d), "--url", via], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proxy.stalled.wait(60), "the big statement never reached the proxy"
        time.sleep(0.3)  # the client's send blocked, part of the statement with the server
        proc.send_signal(sig)
        time.sleep(0.3)
        proxy.release.set()  # the server reads on: a client that sent more would complete it
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proxy.close()
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == (130 if sig == signal.SIGINT else 143), err[-2000:]
    said = "error: interrupted" if sig == signal.SIGINT else "error: terminated (SIGTERM)"
    assert lines == [said + "; rerun the same command to continue"], err[-2000:]
    assert _count(maria_url) == 0
    rows = dbcheck.revisions(maria_url)
    assert "2" not in rows or (rows["2"].applied, rows["2"].error) == (0, "")
    engine.apply(maria_url, d, Options(lock_timeout=10))  # the lock is free again
    assert _count(maria_url) == 1
    assert int(dbcheck.query(maria_url, "SELECT length(v) FROM a")[0][0]) == SIZE
    row = dbcheck.revisions(maria_url)["2"]
    assert (row.applied, row.total, row.error) == (1, 1, "")
