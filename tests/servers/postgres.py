"""Debian PostgreSQL on a free 127.0.0.1 port: a throwaway cluster made with ``initdb``
and run by ``postgres`` as an unprivileged system user (PostgreSQL refuses root: when the
tests run as root, the fixture adds a throwaway user with useradd and deletes it after),
with a password (scram-sha-256) and pg_stat_statements, removed at the end.

``PostgresServer`` can be stopped and started again on the same port, frozen with
SIGSTOP (postmaster and every backend, each a session of its own) and thawed, and counts
the statements run on the tokens table (pg_stat_statements) for the round-trip check.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psutil
import pytest

from .missing import missing
from .squid import free_port, need_binary, stop, wait_for_ports

INSTALL = "install the Debian package postgresql"
DB_USER = "cdata"
DB_NAME = "tokens"


def pg_binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    which = shutil.which(name)
    if not which:
        missing(name, INSTALL)
    return which


@dataclass
class PostgresServer:
    folder: Path
    port: int
    password: str = field(repr=False)
    system_user: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, dbname: str = DB_NAME, scheme: str = "postgresql", **query: str) -> str:
        tail = f"?{urlencode(query)}" if query else ""
        return f"{scheme}://{DB_USER}:{self.password}@127.0.0.1:{self.port}/{dbname}{tail}"

    def _as_user(self) -> dict[str, Any]:
        return {"user": self.system_user} if self.system_user else {}

    def start(self) -> PostgresServer:
        with open(self.folder / "postgres.log", "ab") as log:
            self._spawn(log)
        wait_for_ports(self.process, [self.port], "postgres", self.folder / "postgres.log")
        self._wait_ready()
        return self

    def _spawn(self, log: Any) -> None:
        self.process = subprocess.Popen(
            [pg_binary("postgres"), "-D", str(self.data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}",
             "-c", "shared_preload_libraries=pg_stat_statements", "-c", "fsync=off",
             "-c", "max_connections=200", "-c", "logging_collector=off"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **self._as_user())

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=5):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.thaw()
            stop(self.process)
            self.process = None

    def _processes(self) -> list[int]:
        """The postmaster and every backend (each backend is a session of its own)."""
        assert self.process is not None
        children = psutil.Process(self.process.pid).children(recursive=True)
        return [self.process.pid, *(child.pid for child in children)]

    def freeze(self) -> None:
        for pid in self._processes():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None and self.process.poll() is None:
            for pid in self._processes():
                os.kill(pid, signal.SIGCONT)

    def sql(self, query: str, params: Any = None, dbname: str = DB_NAME) -> list[Any]:
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True, connect_timeout=10) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def statement_calls(self, table: str) -> int:
        """Statements run against ``table`` so far (pg_stat_statements), all clients."""
        rows = self.sql("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
                        "WHERE query ILIKE %s", (f"%{table}%",))
        return int(rows[0][0])


def _make_user() -> str | None:
    if os.geteuid() != 0:
        return None
    useradd = need_binary("useradd", "passwd")
    user = "cdpg" + secrets.token_hex(3)
    subprocess.run([useradd, "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                   check=True, capture_output=True)
    return user


def start_postgres() -> PostgresServer:
    initdb = pg_binary("initdb")
    pg_binary("postgres")
    user = _make_user()
    folder = Path(tempfile.mkdtemp(prefix="cdata-postgres-"))
    server = PostgresServer(folder, free_port(), secrets.token_urlsafe(12), user)
    try:
        pwfile = folder / "pw"
        pwfile.write_text(server.password + "\n")
        if user:
            entry = pwd.getpwnam(user)
            for path in (folder, pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        subprocess.run([initdb, "-D", str(server.data), "-U", DB_USER, f"--pwfile={pwfile}",
                        "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, cwd=folder, **server._as_user())
        server.start()
        server.sql(f"CREATE DATABASE {DB_NAME}", dbname="postgres")
        server.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    except BaseException:
        finish_postgres(server)
        raise
    return server


def finish_postgres(server: PostgresServer) -> None:
    server.stop()
    shutil.rmtree(server.folder, ignore_errors=True)
    if server.system_user:
        subprocess.run([need_binary("userdel", "passwd"), server.system_user], check=False,
                       capture_output=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the session; tests use keys or tables of their own."""
    server = start_postgres()
    try:
        yield server
    finally:
        finish_postgres(server)


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A cluster of this test's own, which it may stop, restart or freeze."""
    server = start_postgres()
    try:
        yield server
    finally:
        finish_postgres(server)
