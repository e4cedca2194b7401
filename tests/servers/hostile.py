"""A token endpoint on 127.0.0.1 that misbehaves at the socket level, one way per path:
resets, stalls before or inside an answer, floods, throttles and redirects. It speaks raw
HTTP/1.1 over sockets so that it can break the protocol where a framework would not.

Every request is recorded (path, headers, body) before the misbehaviour, so tests can
prove what reached it; a second instance plays "another host" for redirects.
"""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

MiB = 1024 * 1024


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(30)
        try:
            received = _read_request(sock)
        except (OSError, ValueError):
            return
        if received is None:
            return
        owner = self.server.owner
        with owner.lock:
            owner.received.append(received)
        route = getattr(self, "route_" + received.path.strip("/").split("?")[0]
                        .replace("-", "_"), None)
        try:
            if route is None:
                self.send(404, b'{"error": "not_found"}')
            else:
                route()
        except OSError:
            pass  # the client gave up, as it should for most of these paths

    # helpers
    def send(self, status: int, body: bytes, content_type: str = "application/json",
             extra: dict[str, str] | None = None, reason: str = "Whatever") -> None:
        head = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}",
                f"Content-Length: {len(body)}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in (extra or {}).items()]
        self.request.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    def reset(self) -> None:
        """Close with RST instead of FIN (SO_LINGER 0)."""
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.request.close()

    # the misbehaviours
    def route_reset_mid_response(self) -> None:
        body = json.dumps({"access_token": "never-complete-" + "x" * 200}).encode()
        head = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.request.sendall(head + body[:20])
        time.sleep(0.2)
        self.reset()

    def route_reset_before_answer(self) -> None:
        self.reset()

    def route_slow_headers(self) -> None:
        self._sleep(self.server.owner.stall_seconds)
        self.send(200, b'{"access_token": "too-late"}')

    def route_drip(self) -> None:
        """Headers at once, then one byte per second: every read succeeds, slowly."""
        body = json.dumps({"access_token": "dripped", "pad": "p" * 400}).encode()
        head = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.request.sendall(head)
        for index in range(len(body)):
            if self.server.owner.stopping.is_set():
                return
            self.request.sendall(body[index:index + 1])
            time.sleep(1.0)

    def route_drip_headers(self) -> None:
        """The status line and headers one byte per second (each read gets a byte)."""
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: " + b"p" * 300
        for index in range(len(head)):
            if self.server.owner.stopping.is_set():
                return
            self.request.sendall(head[index:index + 1])
            time.sleep(1.0)

    def route_stall_body(self) -> None:
        """Headers and a few bytes at once, then silence."""
        self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 100\r\n\r\n{\"access_token\": ")
        self._sleep(self.server.owner.stall_seconds)

    def route_huge_declared(self) -> None:
        self._huge(declared=True)

    def route_huge_undeclared(self) -> None:
        self._huge(declared=False)

    def _huge(self, declared: bool) -> None:
        size = 3 * MiB
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += f"Content-Length: {size}\r\n" if declared else "Connection: close\r\n"
        self.request.sendall((head + "\r\n").encode())
        chunk = b'{"access_token": "' + b"a" * (64 * 1024 - 18)
        sent = 0
        while sent < size:
            piece = chunk[:size - sent] if sent else chunk
            self.request.sendall(piece)
            sent += len(piece)
            chunk = b"a" * (64 * 1024)

    def route_throttle_429(self) -> None:
        self.send(429, b'{"message": "too many requests"}', extra={"Retry-After": "120"},
                  reason="Too Many Requests")

    def route_unavailable_503(self) -> None:
        self.send(503, b"<html><body>Maintenance</body></html>", "text/html",
                  extra={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"},
                  reason="Service Unavailable")

    def route_slow_down_429(self) -> None:
        self.send(429, b'{"error": "slow_down", "error_description": "wait a bit"}',
                  extra={"Retry-After": "30"}, reason="Too Many Requests")

    def route_html_500(self) -> None:
        self.send(500, b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title>"
                       b"</head><body><h1>Oops</h1></body></html>", "text/html")

    def route_invalid_json(self) -> None:
        self.send(200, b'{"access_token": "abc", ')

    def route_no_access_token(self) -> None:
        self.send(200, b'{"token_type": "Bearer", "expires_in": 3600}')

    def route_redirect(self) -> None:
        target = self.server.owner.redirect_to or "http://localhost:9/token"
        self.send(307, b"", "text/plain", extra={"Location": target},
                  reason="Temporary Redirect")

    def route_token(self) -> None:
        """A well-behaved answer (the redirect target uses it)."""
        self.send(200, b'{"access_token": "from-the-other-host", "token_type": "Bearer"}')

    def _sleep(self, seconds: float) -> None:
        self.server.owner.stopping.wait(seconds)


def _read_request(sock: socket.socket) -> Received | None:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            return None
        data += piece
        if len(data) > MiB:
            raise ValueError("headers too large")
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length") or 0)
    while len(rest) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        rest += piece
    return Received(parts[1] if len(parts) > 1 else "", headers,
                    rest.decode("utf-8", "replace"))


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    owner: HostileServer


@dataclass
class HostileServer:
    """One listening socket; ``url(path)`` for each misbehaviour above."""

    host: str = "127.0.0.1"
    stall_seconds: float = 30.0
    redirect_to: str | None = None
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    _server: _Server | None = field(default=None, repr=False)

    def start(self) -> HostileServer:
        self._server = _Server((self.host, 0), _Handler)
        self._server.owner = self
        threading.Thread(target=self._server.serve_forever, args=(0.05,),
                         name="hostile-server", daemon=True).start()
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def requests_to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path.split("?")[0] == path]

    def clear(self) -> None:
        with self.lock:
            self.received.clear()

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture(scope="session")
def hostile_server() -> Iterator[HostileServer]:
    """The misbehaving endpoint, shared by the session (tests filter by path)."""
    server = HostileServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def other_host() -> Iterator[HostileServer]:
    """A second, well-behaved endpoint reached as ``localhost`` (another host name than
    127.0.0.1): the target of redirects, recording whatever reaches it."""
    server = HostileServer().start()
    try:
        yield server
    finally:
        server.stop()


def refused_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- an in-process browser for AuthMode=APP ----------------------------------------------

class ScriptedBrowser:
    """Registered with ``webbrowser`` so that the connector's own ``open_browser`` drives
    it: ``script(url)`` runs for each URL the connector opens (in the connector's browser
    thread), playing the user, or an attacker, against the loopback listener."""

    def __init__(self) -> None:
        self.script: Callable[[str], None] = self.sign_in
        self.opened: list[str] = []
        self.errors: list[BaseException] = []
        self.landings: list[str] = []

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.opened.append(url)
        try:
            self.script(url)
        except BaseException as exc:  # shown by the test, never swallowed silently
            self.errors.append(exc)
        return True

    def open_new(self, url: str) -> bool:
        return self.open(url, 1)

    def open_new_tab(self, url: str) -> bool:
        return self.open(url, 2)

    @staticmethod
    def landing(url: str) -> str:
        """Where the provider sends the browser back: the callback URL with the answer."""
        import requests

        answer = requests.get(url, allow_redirects=False, timeout=10)
        location = answer.headers.get("Location")
        assert location, f"the provider did not redirect ({answer.status_code})"
        return location

    def sign_in(self, url: str) -> None:
        import requests

        landing = self.landing(url)
        self.landings.append(landing)
        requests.get(landing, timeout=10)


@pytest.fixture
def scripted_browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedBrowser]:
    """The only browser ``webbrowser`` knows for this test: a ScriptedBrowser."""
    import webbrowser

    monkeypatch.setattr(webbrowser, "_tryorder", [], raising=False)
    monkeypatch.setattr(webbrowser, "_browsers", {}, raising=False)
    monkeypatch.setattr(webbrowser, "_os_preferred_browser", None, raising=False)
    for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    browser = ScriptedBrowser()
    webbrowser.register("cdata-scripted", None, browser, preferred=True)  # type: ignore[arg-type]
    yield browser
