"""Debian redis-server on a free 127.0.0.1 port, as an unprivileged process (``nobody``
when the tests run as root), with a password, no persistence, stopped at the end.

``RedisServer`` can also be stopped and started again on the same port, frozen with
SIGSTOP and thawed, for the engine-fault tests, and counts the commands it has run
(``INFO commandstats``) for the round-trip check.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from .squid import free_port, need_binary, stop, wait_for_ports

INSTALL = "install the Debian package redis-server"
_COUNTING = frozenset({"cmdstat_info", "cmdstat_auth", "cmdstat_client|setinfo",
                       "cmdstat_hello"})


@dataclass
class RedisServer:
    folder: Path
    port: int
    password: str = field(repr=False)
    tls: tuple[Path, Path] | None = None  # (certificate chain, key): TLS only, on port
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def url(self, db: int = 0, scheme: str = "redis", **query: str) -> str:
        tail = f"?{urlencode(query)}" if query else ""
        return f"{scheme}://default:{self.password}@127.0.0.1:{self.port}/{db}{tail}"

    def start(self) -> RedisServer:
        binary = need_binary("redis-server", "redis-server")
        kwargs: dict[str, Any] = {}
        if os.geteuid() == 0:
            kwargs["user"] = "nobody"
        ports = ["--port", str(self.port)] if self.tls is None else [
            "--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(self.tls[0]),
            "--tls-key-file", str(self.tls[1]), "--tls-auth-clients", "no"]
        self.process = subprocess.Popen(
            [binary, *ports, "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder), "--requirepass", self.password,
             "--logfile", str(self.folder / "redis.log"), "--protected-mode", "yes"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            **kwargs)
        wait_for_ports(self.process, [self.port], "redis-server", self.folder / "redis.log")
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.thaw()
            stop(self.process)
            self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGCONT)

    def client(self) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password,
                           socket_timeout=10)

    def command_count(self) -> int:
        """Commands the server has run, all clients, less the counting's own (the INFO
        asking, and the AUTH and CLIENT SETINFO of the client that asks)."""
        stats = self.client().info("commandstats")
        return sum(int(v["calls"]) for k, v in stats.items() if k not in _COUNTING)


def start_redis(ca: Any = None) -> RedisServer:
    """A server; with a trustme ``ca``, one that speaks TLS only, with a certificate for
    127.0.0.1 issued by it."""
    need_binary("redis-server", "redis-server")
    folder = Path(tempfile.mkdtemp(prefix="cdata-redis-"))
    tls = None
    if ca is not None:
        issued = ca.issue_cert("127.0.0.1")
        tls = (folder / "cert.pem", folder / "key.pem")
        issued.cert_chain_pems[0].write_to_path(str(tls[0]))
        for extra in issued.cert_chain_pems[1:]:
            extra.write_to_path(str(tls[0]), append=True)
        issued.private_key_pem.write_to_path(str(tls[1]))
    if os.geteuid() == 0:
        entry = pwd.getpwnam("nobody")
        for path in [folder, *folder.iterdir()]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
    return RedisServer(folder, free_port(), secrets.token_urlsafe(12), tls).start()


def finish_redis(server: RedisServer) -> None:
    server.stop()
    shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the session; tests use keys of their own."""
    server = start_redis()
    try:
        yield server
    finally:
        finish_redis(server)


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, which it may stop, restart or freeze."""
    server = start_redis()
    try:
        yield server
    finally:
        finish_redis(server)
