"""A private PostgreSQL server for tests: initdb in a temporary folder, a free port, kill/restart.

``PostgresServer.in_temp_folder().start()`` runs Debian's server binaries (``initdb``,
``postgres``; found by ``find_bindir``) on 127.0.0.1 and a free port, with its unix socket in
its own folder: it never touches the machine's PostgreSQL on 5432. ``kill()`` sends SIGKILL to
the postmaster and all its children (a crash: the next ``start()`` runs crash recovery), ``stop()``
a fast shutdown (SIGINT), ``remove()`` stops it and deletes the folder.

initdb and postgres refuse to run as root, and CI runs the tests as root: then both run as the
``postgres`` system user (``Popen(user=...)``, like ``runuser -u postgres``), and the folder,
made with mkdtemp directly in the system temp directory (pytest's own tmp folders are mode 0700
under /tmp/pytest-of-root, which that user cannot enter), is chowned to it.

Test-only settings, for speed: ``trust`` authentication (the server listens on loopback only),
``fsync=off`` and ``full_page_writes=off``. A killed server loses no committed transaction (its
writes are in the kernel's page cache, and ``synchronous_commit`` stays on), but a crash of the
machine could corrupt the cluster, which is thrown away after the run anyway.

Used from one thread (the test's); ``shared_server()`` is the one server a whole pytest session
uses (tests/infra/conftest.py), stopped at the end of the session and, failing that, at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from tests.infra.ports import free_port, wait_port_closed

SERVER_BINARIES = ("initdb", "postgres")
RUN_AS_WHEN_ROOT = "postgres"
SUPERUSER = "postgres"
_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresNotFound(RuntimeError):
    """The PostgreSQL server binaries (or the user to run them as) are missing."""


def _has_server(bindir: Path) -> bool:
    return all((bindir / name).is_file() for name in SERVER_BINARIES)


def find_bindir() -> Path:
    """The folder with ``initdb`` and ``postgres``: ``pg_config --bindir`` when that has
    them (libpq-dev's pg_config may point elsewhere), else the newest
    /usr/lib/postgresql/*/bin. Raises PostgresNotFound naming the package to install."""
    looked: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        candidate = Path(result.stdout.strip())
        if result.returncode == 0 and _has_server(candidate):
            return candidate
        looked.append(f"{candidate} (pg_config --bindir)")

    def version(path: str) -> tuple[int, ...]:
        digits = Path(path).parent.name
        return tuple(int(p) for p in digits.split(".") if p.isdigit())

    for path in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if _has_server(Path(path)):
            return Path(path)
        looked.append(path)
    where = ", ".join(looked) or "no pg_config, no /usr/lib/postgresql/*/bin"
    raise PostgresNotFound(
        f"PostgreSQL server binaries (initdb, postgres) not found ({where}). Install the "
        "Debian package 'postgresql' (provisioning/install-deps.sh installs it)."
    )


def child_pids(parent: int) -> list[int]:
    """Pids whose parent is ``parent``, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited while we looked
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def wait_gone(pids: list[int], timeout: float) -> None:
    """Return once none of ``pids`` exists (they need not be our children)."""
    deadline = time.monotonic() + timeout
    while any(Path(f"/proc/{pid}").exists() for pid in pids):
        if time.monotonic() > deadline:
            raise TimeoutError(f"processes {pids} still exist after {timeout} s")
        time.sleep(0.01)


def default_run_as() -> str | None:
    """``postgres`` when running as root (initdb refuses root), else None (the current user)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(RUN_AS_WHEN_ROOT)
    except KeyError:
        raise PostgresNotFound(
            f"running as root, but there is no '{RUN_AS_WHEN_ROOT}' system user to run the "
            "PostgreSQL server as. Install the Debian package 'postgresql', which creates it."
        ) from None
    return RUN_AS_WHEN_ROOT


@dataclass
class PostgresServer:
    folder: Path
    port: int = field(default_factory=free_port)
    bindir: Path = field(default_factory=find_bindir)
    run_as: str | None = field(default_factory=default_run_as)
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def in_temp_folder(cls) -> PostgresServer:
        """A server in a fresh folder under the system temp directory, owned by ``run_as``."""
        run_as = default_run_as()
        folder = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
        if run_as is not None:
            shutil.chown(folder, run_as, run_as)
        return cls(folder, run_as=run_as)

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log_path(self) -> Path:
        return self.folder / "postgres.log"

    def _popen(self, args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        user = {} if self.run_as is None else {"user": self.run_as, "group": self.run_as}
        with self.log_path.open("ab") as log:
            return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "LC_ALL": "C", "TZ": "UTC"},
                **({"extra_groups": []} if user else {}),
                **user,
                **kwargs,
            )

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except FileNotFoundError:
            return "(no log)"

    def initdb(self, timeout: float = 120.0) -> None:
        """Create the cluster (once): superuser ``postgres``, trust auth, UTF-8, C locale."""
        if (self.data_dir / "PG_VERSION").exists():
            return
        command = [
            str(self.bindir / "initdb"),
            f"--pgdata={self.data_dir}",
            f"--username={SUPERUSER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ]
        code = self._popen(command).wait(timeout)
        if code != 0:
            raise RuntimeError(f"initdb failed ({code}) in {self.folder}: {self._log_tail()}")

    def start(self, timeout: float = 60.0) -> PostgresServer:
        if self.running:
            raise RuntimeError(f"the PostgreSQL server on port {self.port} is already running")
        self.initdb()
        self.process = self._popen(
            [
                str(self.bindir / "postgres"),
                "-D", str(self.data_dir),
                "-p", str(self.port),
                "-k", str(self.folder),
                "-c", "listen_addresses=127.0.0.1",
                "-c", "fsync=off",
                "-c", "full_page_writes=off",
                "-c", "max_connections=200",
            ],
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError(f"postgres exited on port {self.port}: {self._log_tail()}")
            try:
                with psycopg.connect(self.dsn(), connect_timeout=2):
                    return self
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(
                        f"postgres did not accept connections on {self.port} in {timeout} s: "
                        f"{self._log_tail()}"
                    ) from None
                time.sleep(0.05)

    def children(self) -> list[int]:
        """The postmaster's child processes (backends, checkpointer, ...). Each calls setsid,
        so they are not in the postmaster's process group."""
        if self.process is None:
            return []
        return child_pids(self.process.pid)

    def kill(self, timeout: float = 30.0) -> None:
        """SIGKILL to the postmaster and all its children at once: a crash."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            doomed = [process.pid, *self.children()]
            for pid in doomed:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.wait(timeout)
            wait_gone(doomed[1:], timeout)
        self.process = None
        wait_port_closed(self.port, timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT): open transactions roll back, clients are disconnected;
        the postmaster exits after all its children."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout)
        self.process = None
        wait_port_closed(self.port, timeout)

    def restart(self) -> PostgresServer:
        self.stop()
        return self.start()

    def remove(self) -> None:
        """Stop the server (kill it if it does not stop) and delete its folder."""
        try:
            self.stop()
        except (subprocess.TimeoutExpired, TimeoutError):
            self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # --------------------------------------------------------------------------- databases
    def dsn(self, database: str = "postgres") -> str:
        """A libpq connection string for psycopg."""
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"

    def url(self, database: str = "postgres") -> str:
        """An SQLAlchemy URL (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its SQLAlchemy URL."""
        if not _DB_NAME.fullmatch(name):
            raise ValueError(f"database name {name!r} must be lowercase letters, digits, '_'")
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, disconnecting whoever is still connected to it."""
        if not _DB_NAME.fullmatch(name):
            raise ValueError(f"database name {name!r} must be lowercase letters, digits, '_'")
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# ------------------------------------------------------------------ the session's one server
_shared: dict[str, PostgresServer] = {}
_names = itertools.count(1)


def shared_server() -> PostgresServer:
    """The process's one test server, started on first use and removed at exit (or earlier
    by ``remove_shared_server``, which the session fixture calls)."""
    if "server" not in _shared:
        server = PostgresServer.in_temp_folder()
        atexit.register(server.remove)
        server.start()
        _shared["server"] = server
    return _shared["server"]


def remove_shared_server() -> None:
    server = _shared.pop("server", None)
    if server is not None:
        server.remove()


def new_database_name() -> str:
    return f"test_{os.getpid()}_{next(_names)}"
