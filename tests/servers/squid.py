"""Debian squid on four loopback ports: open, Basic auth, Digest auth, NTLM (fake helper).

The whole configuration is written here (the stock one refuses loopback targets and
CONNECT to ports other than 443). squid drops privileges to 'proxy' when started as
root, so its folder is handed to that user. Its access log records the local port and
the user name of each request, which tests read to prove a request went through it.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .missing import missing

HELPERS = ("/usr/lib/squid", "/usr/lib64/squid", "/usr/libexec/squid")
DIGEST_REALM = "cdata-test-digest"
# Digest users whose names only a sound quoted-string carries: a comma, spaces, '=', ';',
# an apostrophe, and letters outside Latin-1 (sent as UTF-8). No '"' or backslash: squid 5's
# quoted-string parser drops an escaped one (an escaped '"' even ends the string there).
ODD_DIGEST_USERS = ("o'neil, ops=1; x", "jürgen-łódź")


def free_port() -> int:
    """A port free on 127.0.0.1 right now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_ports(process: subprocess.Popen[bytes], ports: list[int], what: str,
                   log: Path | None, limit: float = 30.0) -> None:
    """Until every port accepts a connection; fails loudly with the server's log."""
    deadline = time.monotonic() + limit
    pending = list(ports)
    while pending:
        if process.poll() is not None or time.monotonic() > deadline:
            text = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            out = process.stdout.read().decode(errors="replace")[-3000:] \
                if process.stdout and process.poll() is not None else ""
            process.kill()
            raise RuntimeError(f"{what} did not start listening on {pending} "
                               f"(exit code {process.poll()}).\n{text}\n{out}")
        try:
            with socket.create_connection(("127.0.0.1", pending[0]), timeout=0.5):
                pending.pop(0)
        except OSError:
            time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def need_binary(name: str, package: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin")
    if not found:
        missing(name, f"install the Debian package {package}")
    return found


def hand_to(folder: Path, user: str) -> None:
    """Give a folder (and what is in it) to a service user when we run as root."""
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(user)
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)


class LogTail:
    """A server's log as it grows: ``mark`` a point, then read or wait for what follows."""

    @property
    def log_file(self) -> Path:
        raise NotImplementedError

    def log_lines(self) -> list[str]:
        path = self.log_file
        return path.read_text("utf-8", "replace").splitlines() if path.exists() else []

    def mark(self) -> int:
        """Number of log lines so far; pass it to ``lines_since``."""
        return len(self.log_lines())

    def lines_since(self, mark: int, wait_for: str | None = None,
                    limit: float = 5.0) -> list[str]:
        """Lines after ``mark``; waits (up to ``limit`` s) until one contains ``wait_for``."""
        deadline = time.monotonic() + limit
        while True:
            lines = self.log_lines()[mark:]
            if wait_for is None or any(wait_for in line for line in lines) \
                    or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)


@dataclass
class Squid(LogTail):
    """A running squid; ``ports`` by name: open, basic, digest."""

    folder: Path
    ports: dict[str, int]
    basic_user: str
    basic_password: str
    digest_user: str
    digest_password: str
    odd_digest_users: dict[str, str] = field(default_factory=dict)  # name -> password
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def access_log(self) -> Path:
        return self.folder / "access.log"

    @property
    def log_file(self) -> Path:
        return self.access_log


def _config(folder: Path, ports: dict[str, int], helpers: str, squid: Squid) -> str:
    return f"""
visible_hostname cdata-test-squid
http_port 127.0.0.1:{ports['open']} name=open
http_port 127.0.0.1:{ports['basic']} name=basic
http_port 127.0.0.1:{ports['digest']} name=digest
http_port 127.0.0.1:{ports['ntlm']} name=ntlm

auth_param basic program {helpers}/basic_ncsa_auth {folder}/basic.passwd
auth_param basic children 2 startup=1
auth_param basic realm cdata-test-basic
auth_param digest program {helpers}/digest_file_auth -c {folder}/digest.passwd
auth_param digest children 2 startup=1
auth_param digest realm {DIGEST_REALM}
# accepts any NTLM user: enough to prove the handshake itself
auth_param ntlm program {helpers}/ntlm_fake_auth
auth_param ntlm children 2 startup=1
auth_param ntlm keep_alive on

acl port_open myportname open
acl port_basic myportname basic
acl port_digest myportname digest
acl port_ntlm myportname ntlm
acl any_user proxy_auth REQUIRED
acl basic_users proxy_auth {squid.basic_user}
acl digest_users proxy_auth "{folder}/digest.users"
http_access allow port_open
http_access allow port_basic basic_users
http_access allow port_digest digest_users
http_access allow port_ntlm any_user
http_access deny all

cache deny all
cache_mem 8 MB
pid_filename {folder}/squid.pid
cache_log {folder}/cache.log
logformat cdata %ts.%03tu %>a port=%>lp user=%un %rm %ru %>Hs %Ss
access_log stdio:{folder}/access.log cdata
buffered_logs off
coredump_dir {folder}
netdb_filename none
pinger_enable off
icp_port 0
htcp_port 0
shutdown_lifetime 0 seconds
cache_effective_user proxy
max_filedescriptors 1024
"""


def write_digest_users(htdigest: str, folder: Path, users: dict[str, str]) -> None:
    """digest.passwd by htdigest (user:realm:HA1, hashed independently of our code) and
    digest.users, the ACL's list of names: a file keeps names with spaces whole."""
    passwd = folder / "digest.passwd"
    for name, password in users.items():
        create = [] if passwd.exists() else ["-c"]
        # htdigest reads the password (twice) from stdin when that is not a terminal
        subprocess.run([htdigest, *create, str(passwd), DIGEST_REALM, name],
                       input=f"{password}\n{password}\n".encode(), check=True,
                       capture_output=True)
    (folder / "digest.users").write_text("".join(f"{name}\n" for name in users),
                                         encoding="utf-8")


@pytest.fixture(scope="session")
def squid() -> Iterator[Squid]:
    """squid on 127.0.0.1: ports['open'] (no auth), ['basic'], ['digest'], ['ntlm'] (any
    user: ntlm_fake_auth checks only that the NTLM handshake is well formed)."""
    binary = need_binary("squid", "squid")
    htpasswd = need_binary("htpasswd", "apache2-utils")
    htdigest = need_binary("htdigest", "apache2-utils")
    helpers = next((h for h in HELPERS if Path(h, "basic_ncsa_auth").exists()), None)
    if helpers is None:
        missing("squid's auth helpers (basic_ncsa_auth, digest_file_auth)",
                "install the Debian package squid")
    folder = Path(tempfile.mkdtemp(prefix="cdata-squid-"))
    ports = {"open": free_port(), "basic": free_port(), "digest": free_port(),
             "ntlm": free_port()}
    server = Squid(folder, ports, "basicuser", secrets.token_urlsafe(12),
                   "digestuser", secrets.token_urlsafe(12),
                   {name: secrets.token_urlsafe(12) for name in ODD_DIGEST_USERS})
    subprocess.run([htpasswd, "-b", "-c", "-m", str(folder / "basic.passwd"),
                    server.basic_user, server.basic_password], check=True, capture_output=True)
    write_digest_users(htdigest, folder,
                       {server.digest_user: server.digest_password, **server.odd_digest_users})
    conf = folder / "squid.conf"
    conf.write_text(_config(folder, ports, helpers, server))
    hand_to(folder, "proxy")
    process = subprocess.Popen([binary, "-N", "-f", str(conf)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    server.process = process
    try:
        wait_for_ports(process, list(ports.values()), "squid", folder / "cache.log")
        yield server
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)
