"""Debian dante (danted) on loopback: one server for SOCKS4 and SOCKS5 without
authentication, one for SOCKS5 with user name and password.

'socksmethod: username' checks system accounts, so the fixture creates a throwaway
system user with a password (useradd, chpasswd) and deletes it afterwards. Both servers
log each connection (client, target) to a file the tests read.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .squid import LogTail, free_port, need_binary, stop, wait_for_ports


@dataclass
class Dante(LogTail):
    """A running danted; ``user``/``password`` are set when it requires them."""

    folder: Path
    port: int
    user: str | None = None
    password: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log(self) -> Path:
        return self.folder / "danted.log"

    @property
    def log_file(self) -> Path:
        return self.log


def _config(folder: Path, port: int, method: str) -> str:
    return f"""
logoutput: {folder}/danted.log
internal: 127.0.0.1 port = {port}
external: 127.0.0.1
clientmethod: none
socksmethod: {method}
user.privileged: root
user.unprivileged: nobody
client pass {{
    from: 127.0.0.0/8 to: 0.0.0.0/0
    log: error connect disconnect
}}
socks pass {{
    from: 127.0.0.0/8 to: 127.0.0.0/8
    command: connect
    log: error connect disconnect
}}
socks block {{
    from: 0.0.0.0/0 to: 0.0.0.0/0
    log: error connect
}}
"""


def _start(method: str, user: str | None = None, password: str | None = None) -> Dante:
    binary = need_binary("danted", "dante-server")
    folder = Path(tempfile.mkdtemp(prefix="cdata-dante-"))
    os.chmod(folder, 0o755)
    server = Dante(folder, free_port(), user, password)
    conf = folder / "danted.conf"
    conf.write_text(_config(folder, server.port, method))
    process = subprocess.Popen([binary, "-f", str(conf), "-p", str(folder / "danted.pid"),
                                "-N", "1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server.process = process
    wait_for_ports(process, [server.port], "danted", server.log)
    return server


def _finish(server: Dante) -> None:
    if server.process is not None:
        stop(server.process)
    shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def dante() -> Iterator[Dante]:
    """danted without authentication: SOCKS4 (any user id) and SOCKS5."""
    server = _start("none")
    try:
        yield server
    finally:
        _finish(server)


@pytest.fixture(scope="session")
def dante_auth() -> Iterator[Dante]:
    """danted requiring SOCKS5 user name/password, checked against a throwaway system user."""
    if os.geteuid() != 0:
        raise RuntimeError("dante_auth creates a system user and must run as root.")
    useradd = need_binary("useradd", "passwd")
    chpasswd = need_binary("chpasswd", "passwd")
    userdel = need_binary("userdel", "passwd")
    user = "cdsocks" + secrets.token_hex(3)
    password = secrets.token_urlsafe(12)
    subprocess.run([useradd, "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                   check=True, capture_output=True)
    server: Dante | None = None
    try:
        subprocess.run([chpasswd], input=f"{user}:{password}\n".encode(), check=True,
                       capture_output=True)
        server = _start("username", user, password)
        yield server
    finally:
        if server is not None:
            _finish(server)
        subprocess.run([userdel, user], check=False, capture_output=True)
