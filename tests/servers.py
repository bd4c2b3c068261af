"""Throwaway PostgreSQL 15 and MariaDB 10.11 servers for tests and benchmarks.

Each server is a real Debian-packaged binary started on 127.0.0.1 at a free port,
with its data directory under a caller-given base directory, and stopped with
``stop()`` (also registered with :mod:`atexit`, and the child processes get a
parent-death signal so a killed test run leaves no server behind).

Usable outside pytest::

    from pathlib import Path
    from tests.servers import start_postgres
    server = start_postgres(Path("/tmp/bench-pg"), durable=True)
    try:
        print(server.app_url("bench"))
    finally:
        server.stop()

PostgreSQL refuses to run as root: when run as root, ``initdb`` and ``postgres``
run as the ``postgres`` OS user (created by the ``postgresql-15`` package), so the
base directory must be reachable by that user (``/tmp/<something>`` is).
"""

from __future__ import annotations

import atexit
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar
from urllib.parse import quote

__all__ = [
    "APP_USER", "SECRET_PASSWORD", "MariaDbServer", "PgServer", "ServerStartError",
    "start_mariadb", "start_postgres", "stop_all",
]

APP_USER = "app"
"""The application (non-superuser) login created on every server."""

SECRET_PASSWORD = "p@ss:w/rd#?%+^"
"""Password of APP_USER: special characters on purpose (URL encoding, leak checks)."""

PG_BIN = Path("/usr/lib/postgresql/15/bin")
"""Where Debian's postgresql-15 package puts initdb and postgres."""

START_TIMEOUT = 30.0
"""Seconds to wait for a server to accept connections before giving up."""

_PG_OS_USER = "postgres"
_RUNNING: list[_Server] = []


class ServerStartError(RuntimeError):
    """A test database server could not be installed, initialised or started.

    Attributes: ``server`` ("postgresql" or "mariadb") and ``reason`` (one line,
    possibly followed by the tail of the server log).
    """

    def __init__(self, server: str, reason: str) -> None:
        self.server = server
        self.reason = reason
        super().__init__(f"starting test {server} server: {reason}")


def _spawn_argv(argv: list[str], *, ids: tuple[int, int] | None = None,
                deathsig: str | None = None) -> list[str]:
    """Prefix ``argv`` with ``setpriv`` to switch user and/or set a parent-death signal.

    Done by a program, not by Popen(user=..., preexec_fn=...): those make Python fork()
    instead of vfork()/posix_spawn(), and fork() in a process where grpc (the Pulumi provider
    tests) has started threads runs grpc's at-fork handlers in the child, which crashed
    initdb with SIGSEGV. With a plain argv, Popen never forks the Python process.
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        if ids is not None:
            raise ServerStartError("postgresql", "running as root needs setpriv (util-linux) to "
                                                 "switch to the postgres OS user")
        return argv
    prefix = [setpriv]
    if ids is not None:
        prefix += [f"--reuid={ids[0]}", f"--regid={ids[1]}", "--clear-groups"]
    if deathsig is not None:
        prefix += ["--pdeathsig", deathsig]
    return [*prefix, "--", *argv]


def _free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(path: Path, lines: int = 15) -> str:
    """Return the last ``lines`` lines of a log file, or '' if it is unreadable."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _find_binary(names: list[str], dirs: list[str]) -> Path | None:
    """Return the first existing executable among ``dirs``×``names``, then on PATH."""
    for name in names:
        for directory in dirs:
            candidate = Path(directory) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


@dataclass
class _Server:
    """Common state and shutdown logic of a running server process."""

    host: str
    port: int
    base_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    admin_password: str = field(repr=False)
    _stop_signals: tuple[int, ...] = field(default=(signal.SIGTERM,), repr=False)

    @property
    def admin_url(self) -> str:
        """SQLAlchemy URL of the server's default database, as the superuser."""
        return self.admin_url_for("")

    def admin_url_for(self, database: str) -> str:  # pragma: no cover - overridden
        """SQLAlchemy URL of ``database`` as the superuser."""
        raise NotImplementedError

    def app_url(self, database: str) -> str:  # pragma: no cover - overridden
        """Atlas-style URL of ``database`` as APP_USER with its encoded password."""
        raise NotImplementedError

    def create_database(self, name: str) -> None:  # pragma: no cover - overridden
        """Create an empty database ``name`` that APP_USER may use fully."""
        raise NotImplementedError

    @property
    def running(self) -> bool:
        """True while the server process has not exited."""
        return self.process.poll() is None

    def crash(self, timeout: float = 60.0) -> None:
        """Crash the server: PostgreSQL by immediate shutdown (SIGQUIT, which skips the
        checkpoint like a crash), MariaDB by SIGKILL; returns once the process is gone."""
        self.process.send_signal(self._stop_signals[-1] if len(self._stop_signals) > 1 else signal.SIGKILL)
        self.process.wait(timeout=timeout)

    def crash_and_restart(self, timeout: float = 60.0) -> None:
        """``crash``, then ``restart``. Call from the main thread (see ``restart``)."""
        self.crash(timeout)
        self.restart(timeout)

    def restart(self, timeout: float = 60.0) -> None:
        """Start the crashed server again on the same port and data directory and wait until it
        accepts connections (crash recovery included). From the main thread: the server gets
        a parent-death signal when the thread that started it ends."""
        relaunch, probe, name = self._restart  # type: ignore[attr-defined]
        deadline = time.monotonic() + timeout
        while True:
            fresh = relaunch(self.port)
            try:
                _wait_ready(fresh, name, lambda: probe(fresh), max(1.0, deadline - time.monotonic()))
                break
            except ServerStartError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)  # old backends still hold the shared memory or the port
        self.process = fresh.process

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server and wait for its process to exit; idempotent.

        Sends the server's fast-shutdown signal, then SIGKILL after ``timeout``
        seconds. Leaves the files under ``base_dir`` in place.
        """
        if self in _RUNNING:
            _RUNNING.remove(self)
        if self.process.poll() is not None:
            return
        for sig in self._stop_signals:
            try:
                self.process.send_signal(sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=timeout)
                return
            except subprocess.TimeoutExpired:
                continue
        self.process.kill()
        self.process.wait(timeout=timeout)


@dataclass
class PgServer(_Server):
    """A running PostgreSQL server; the superuser is ``postgres``."""

    admin_user: str = "postgres"

    def admin_url_for(self, database: str) -> str:
        """SQLAlchemy URL (psycopg driver) of ``database`` as the superuser."""
        db = database or "postgres"
        return (
            f"postgresql+psycopg://{self.admin_user}:{quote(self.admin_password, safe='')}"
            f"@{self.host}:{self.port}/{db}"
        )

    def app_url(self, database: str) -> str:
        """Atlas-style ``postgres://app:…@host:port/db?sslmode=disable`` URL."""
        return (
            f"postgres://{APP_USER}:{quote(SECRET_PASSWORD, safe='')}"
            f"@{self.host}:{self.port}/{database}?sslmode=disable"
        )

    def _admin_connect(self, database: str = "postgres"):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.admin_user,
            password=self.admin_password,
            dbname=database,
            autocommit=True,
            connect_timeout=5,
        )

    def create_database(self, name: str) -> None:
        """Create database ``name`` owned by APP_USER (so it may create in ``public``)."""
        from psycopg import sql

        with self._admin_connect() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(APP_USER)
                )
            )


@dataclass
class MariaDbServer(_Server):
    """A running MariaDB server; the superuser is ``root`` (from 127.0.0.1)."""

    socket_path: Path | None = None
    admin_user: str = "root"

    def admin_url_for(self, database: str) -> str:
        """SQLAlchemy URL (PyMySQL driver) of ``database`` as the superuser."""
        return (
            f"mysql+pymysql://{self.admin_user}:{quote(self.admin_password, safe='')}"
            f"@{self.host}:{self.port}/{database}"
        )

    def app_url(self, database: str) -> str:
        """Atlas-style ``mysql://app:…@host:port/db`` URL."""
        return (
            f"mysql://{APP_USER}:{quote(SECRET_PASSWORD, safe='')}"
            f"@{self.host}:{self.port}/{database}"
        )

    def create_database(self, name: str) -> None:
        """Create database ``name`` (utf8mb4); APP_USER has all rights on every database."""
        import pymysql

        conn = pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.admin_user,
            password=self.admin_password,
            connect_timeout=5,
            autocommit=True,
        )
        try:
            with conn.cursor() as cur:
                quoted = "`" + name.replace("`", "``") + "`"
                cur.execute(f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4")
        finally:
            conn.close()


def stop_all() -> None:
    """Stop every server started by this module that is still running."""
    for server in list(_RUNNING):
        try:
            server.stop()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


atexit.register(stop_all)


def _wait_ready(
    server: _Server, name: str, probe: Callable[[], None], timeout: float
) -> None:
    """Call ``probe`` until it succeeds; raise ServerStartError if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerStartError(
                name,
                f"server exited with code {server.process.returncode} during startup; "
                f"log {server.log_path}:\n{_log_tail(server.log_path)}",
            )
        try:
            probe()
            return
        except Exception as err:  # noqa: BLE001 - any failure means "not yet"
            last_error = err
        time.sleep(0.1)
    server.stop()
    raise ServerStartError(
        name,
        f"server did not accept connections within {timeout:.0f}s "
        f"(last error: {type(last_error).__name__}); log {server.log_path}:\n"
        f"{_log_tail(server.log_path)}",
    )


def _run_checked(
    name: str, argv: list[str], log_path: Path, **popen_kwargs: object
) -> None:
    """Run a setup command, appending its output to ``log_path``; raise ServerStartError on failure."""
    with open(log_path, "ab") as log:
        result = subprocess.run(  # type: ignore[call-overload]
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            **popen_kwargs,
        )
    if result.returncode != 0:
        raise ServerStartError(
            name,
            f"{Path(argv[0]).name} failed with exit code {result.returncode}; "
            f"log {log_path}:\n{_log_tail(log_path)}",
        )


_S = TypeVar("_S", bound=_Server)


def _launch(
    name: str, launch: Callable[[int], _S], probe: Callable[[_S], None], timeout: float
) -> _S:
    """Start a server on a free port via ``launch`` and wait until ``probe`` succeeds.

    Retries twice with another port when the chosen one was taken meanwhile.
    Returns the ready server; raises ServerStartError otherwise.
    """
    last_error: ServerStartError | None = None
    for _attempt in range(3):
        server = launch(_free_port())
        _RUNNING.append(server)
        try:
            _wait_ready(server, name, lambda: probe(server), timeout)
            server._restart = (launch, probe, name)  # type: ignore[attr-defined]
            return server
        except ServerStartError as err:
            server.stop()
            last_error = err
            if "already in use" not in err.reason:
                raise
    assert last_error is not None
    raise last_error


def _pg_os_user() -> tuple[int, int] | None:
    """Return (uid, gid) of the non-root user PostgreSQL runs as, or None when not root."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(_PG_OS_USER)
    except KeyError:
        raise ServerStartError(
            "postgresql",
            f"running as root but OS user {_PG_OS_USER!r} does not exist "
            "(install postgresql-15: make system-deps)",
        ) from None
    return entry.pw_uid, entry.pw_gid


def start_postgres(
    base_dir: Path, durable: bool = False, timeout: float = START_TIMEOUT
) -> PgServer:
    """Initialise and start a PostgreSQL 15 server under ``base_dir / "postgres"``.

    ``durable=False`` turns off fsync, synchronous commit and full-page writes
    (fast, fine for tests); ``durable=True`` keeps PostgreSQL's safe defaults
    (for benchmarks). Creates the superuser ``postgres`` with a random password
    and the login role APP_USER (password SECRET_PASSWORD, CREATEDB).

    Returns the running PgServer. Raises ServerStartError when the binaries are
    missing, ``initdb`` fails, or the server does not come up within ``timeout``.
    """
    for binary in ("initdb", "postgres"):
        if not (PG_BIN / binary).is_file():
            raise ServerStartError(
                "postgresql",
                f"{PG_BIN / binary} not found: install the postgresql-15 package "
                "(make system-deps)",
            )
    as_user = _pg_os_user()
    root = Path(base_dir).resolve() / "postgres"
    root.mkdir(parents=True, exist_ok=True)
    if as_user:
        os.chown(root, *as_user)
        probe = subprocess.run(_spawn_argv(["test", "-w", str(root), "-a", "-x", str(root)], ids=as_user))
        if probe.returncode != 0:
            raise ServerStartError(
                "postgresql",
                f"OS user {_PG_OS_USER!r} cannot reach {root}: choose a base "
                "directory whose parents are world-searchable (e.g. under /tmp)",
            )
    data_dir = root / "data"
    log_path = root / "server.log"
    pwfile = root / "pwfile"
    admin_password = secrets.token_hex(16)
    pwfile.write_text(admin_password + "\n")
    os.chmod(pwfile, 0o600)
    if as_user:
        os.chown(pwfile, *as_user)
    initdb = [
        str(PG_BIN / "initdb"), "-D", str(data_dir), "-U", "postgres",
        f"--pwfile={pwfile}", "--auth-local=scram-sha-256",
        "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale",
    ]
    if not durable:
        initdb.append("--no-sync")
    try:
        _run_checked("postgresql", _spawn_argv(initdb, ids=as_user), log_path, cwd=str(root))
    finally:
        pwfile.unlink(missing_ok=True)

    settings = {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": "",
        "max_connections": "200",
        "shared_buffers": "64MB",
    }
    if not durable:
        settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")

    def launch(port: int) -> PgServer:
        argv = [str(PG_BIN / "postgres"), "-D", str(data_dir), "-p", str(port)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                _spawn_argv(argv, ids=as_user, deathsig="QUIT"), stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(root),
            )
        return PgServer(
            host="127.0.0.1", port=port, base_dir=Path(base_dir), process=process,
            log_path=log_path, admin_password=admin_password,
            _stop_signals=(signal.SIGINT, signal.SIGQUIT),
        )

    server = _launch("postgresql", launch, lambda srv: srv._admin_connect().close(), timeout)
    try:
        _pg_bootstrap(server)
    except Exception as err:
        server.stop()
        raise ServerStartError(
            "postgresql", f"creating the {APP_USER!r} role failed: {type(err).__name__}"
        ) from None
    return server


def _pg_bootstrap(server: PgServer) -> None:
    """Create the APP_USER login role on a fresh PostgreSQL server."""
    from psycopg import sql

    with server._admin_connect() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                sql.Identifier(APP_USER), sql.Literal(SECRET_PASSWORD)
            )
        )


def _sql_string(value: str) -> str:
    """Return ``value`` as a MariaDB string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def start_mariadb(
    base_dir: Path, durable: bool = False, timeout: float = START_TIMEOUT
) -> MariaDbServer:
    """Initialise and start a MariaDB server under ``base_dir / "mariadb"``.

    Runs with ``--no-defaults`` (no /etc/mysql config), utf8mb4, bound to
    127.0.0.1. ``durable=False`` relaxes InnoDB flushing and the doublewrite
    buffer; ``durable=True`` keeps the safe defaults. Creates ``root``@127.0.0.1
    with a random password and APP_USER@'%' (password SECRET_PASSWORD, all
    privileges on all databases, no GRANT OPTION).

    Returns the running MariaDbServer. Raises ServerStartError when the binaries
    are missing, ``mariadb-install-db`` fails, or the server does not come up
    within ``timeout``.
    """
    sbin = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
    mariadbd = _find_binary(["mariadbd", "mysqld"], sbin)
    install_db = _find_binary(["mariadb-install-db", "mysql_install_db"], sbin)
    if mariadbd is None or install_db is None:
        raise ServerStartError(
            "mariadb", "mariadbd / mariadb-install-db not found: install the "
            "mariadb-server package (make system-deps)",
        )
    root = Path(base_dir).resolve() / "mariadb"
    root.mkdir(parents=True, exist_ok=True)
    data_dir = root / "data"
    log_path = root / "server.log"
    socket_path = root / "mariadb.sock"
    if len(str(socket_path)) > 100:  # AF_UNIX path limit is 108 bytes
        socket_path = Path(_short_tmpdir()) / "mariadb.sock"
    user_args = ["--user=root"] if os.geteuid() == 0 else []
    _run_checked(
        "mariadb",
        [str(install_db), "--no-defaults", f"--datadir={data_dir}", *user_args,
         "--auth-root-authentication-method=normal", "--skip-test-db",
         "--skip-name-resolve"],
        log_path,
        cwd=str(root),
    )
    admin_password = secrets.token_hex(16)
    init_file = root / "init.sql"
    init_file.write_text(
        f"CREATE OR REPLACE USER 'root'@'127.0.0.1' IDENTIFIED BY {_sql_string(admin_password)};\n"
        "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n"
        f"CREATE OR REPLACE USER '{APP_USER}'@'%' IDENTIFIED BY {_sql_string(SECRET_PASSWORD)};\n"
        f"GRANT ALL PRIVILEGES ON *.* TO '{APP_USER}'@'%';\n"
        "FLUSH PRIVILEGES;\n"
    )
    os.chmod(init_file, 0o600)
    tuning = [] if durable else [
        "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
        "--innodb-flush-method=nosync",
    ]

    def launch(port: int) -> MariaDbServer:
        argv = [
            str(mariadbd), "--no-defaults", f"--datadir={data_dir}", *user_args,
            f"--socket={socket_path}", f"--port={port}", "--bind-address=127.0.0.1",
            "--skip-networking=0", "--skip-name-resolve", f"--pid-file={root / 'mariadb.pid'}",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
            "--innodb-buffer-pool-size=128M", "--max-connections=300",
            f"--init-file={init_file}", f"--log-error={log_path}", *tuning,
        ]
        process = subprocess.Popen(
            _spawn_argv(argv, deathsig="KILL"), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=str(root),
        )
        return MariaDbServer(
            host="127.0.0.1", port=port, base_dir=Path(base_dir), process=process,
            log_path=log_path, admin_password=admin_password,
            _stop_signals=(signal.SIGTERM,), socket_path=socket_path,
        )

    def probe(server: MariaDbServer) -> None:
        import pymysql

        pymysql.connect(
            host=server.host, port=server.port, user=server.admin_user,
            password=server.admin_password, connect_timeout=2,
        ).close()

    server = _launch("mariadb", launch, probe, timeout)
    init_file.write_text("")  # the password out; an empty file for a restart (crash_and_restart)
    return server


def _short_tmpdir() -> str:
    """Return a new short temporary directory (for unix sockets), removed at exit."""
    import tempfile

    path = tempfile.mkdtemp(prefix="pm-sock-", dir="/tmp")
    atexit.register(shutil.rmtree, path, True)
    return path
