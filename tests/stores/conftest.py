"""Fixtures for the store tests: SQLite files and a throwaway PostgreSQL server.

PostgreSQL: ``LEADROUTE_TEST_POSTGRES`` (a DSN of a database whose user may
create databases) points the tests at an existing server; otherwise a
throwaway cluster is created with the Debian server binaries (as the
``postgres`` user when running as root) on a free local port and removed
afterwards. Without a server binary the PostgreSQL tests skip locally and
fail when ``CI=true``.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from leadroute.stores import MemoryStore, PostgresStore, SQLiteStore, Store

_COUNTER = itertools.count(1)


def _bindir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return str(Path(found[-1]).parent)
    initdb = shutil.which("initdb")
    return None if initdb is None else str(Path(initdb).parent)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    print(f"skipping PostgreSQL store tests: {reason}")
    pytest.skip(reason)


class Cluster:
    """A throwaway PostgreSQL cluster started with the server binaries (as ``postgres`` if root)."""

    def __init__(self, bindir: str) -> None:
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="leadroute-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "server.log"
        self.port = _free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]

    @property
    def dsn(self) -> str:
        """The admin DSN (database ``postgres``)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.prefix, f"{self.bindir}/pg_ctl", "-D", str(self.data), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        """initdb (first time) and start the server; waits until it accepts connections."""
        if not self.data.exists():
            subprocess.run(
                [
                    *self.prefix,
                    f"{self.bindir}/initdb",
                    "-D",
                    str(self.data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
        opts = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
        )
        self._ctl("-o", opts, "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate`` is a crash stop)."""
        self._ctl("-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop the server if it runs and delete its files."""
        subprocess.run(
            [*self.prefix, f"{self.bindir}/pg_ctl", "-D", str(self.data), "-m", "immediate",
             "-w", "stop"],
            capture_output=True,
            timeout=120,
            check=False,
        )  # fmt: skip
        shutil.rmtree(self.base, ignore_errors=True)


def start_cluster() -> Cluster:
    """A started throwaway cluster (skips, or fails under ``CI=true``, when none can start)."""
    bindir = _bindir()
    if bindir is None:
        _unavailable("no PostgreSQL server binaries (initdb) found")
        raise AssertionError  # unreachable: _unavailable skips or fails
    cluster = Cluster(bindir)
    try:
        cluster.start()
    except (subprocess.SubprocessError, OSError) as exc:
        detail = cluster.log.read_text() if cluster.log.exists() else ""
        cluster.remove()
        _unavailable(f"could not start a throwaway cluster: {exc} {detail}")
    return cluster


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The DSN of a PostgreSQL server's ``postgres`` database (admin connection)."""
    pytest.importorskip("psycopg")
    given = os.environ.get("LEADROUTE_TEST_POSTGRES")
    if given:
        yield given
        return
    cluster = start_cluster()
    try:
        yield cluster.dsn
    finally:
        cluster.remove()


@pytest.fixture
def pg_url(postgres_server: str) -> str:
    """The DSN of a fresh, empty database on the test server."""
    import psycopg

    name = f"leadroute_t{os.getpid()}_{next(_COUNTER)}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    head, _sep, _db = postgres_server.rpartition("/")
    query = ""
    if "?" in _db:
        query = "?" + _db.split("?", 1)[1]
    return f"{head}/{name}{query}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'pool.db'}"


Factory = Callable[[], Store]


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """A factory of connections to one fresh store of each backend."""
    opened: list[Store] = []
    if request.param == "memory":
        shared = MemoryStore()

        def make() -> Store:
            return shared

    elif request.param == "sqlite":
        path = tmp_path / "pool.db"

        def make() -> Store:
            s = SQLiteStore(path)
            opened.append(s)
            return s

    else:
        dsn = request.getfixturevalue("pg_url")

        def make() -> Store:
            s = PostgresStore(dsn)
            opened.append(s)
            return s

    yield make
    for s in opened:
        s.disconnect()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The URL of a fresh database store of each backend."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))
