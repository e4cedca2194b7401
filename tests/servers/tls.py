"""Small local OAuth 2.0 token endpoints over HTTP and HTTPS (a trustme test CA), one of
them requiring a client certificate, plus paths that answer badly on purpose (slow,
dripping, huge) for the transport's limits.

The token endpoint is deliberately tiny: client_credentials and refresh_token grants,
client authentication by HTTP Basic or form fields. The full providers live elsewhere.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import socket
import ssl
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import trustme

from cdata_oauth.transport.routing import pump


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: TokenServer

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        context = self.owner.ssl_context
        if context is not None:  # handshake in the handler thread, not the accept loop
            sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Refused handshakes are what several tests provoke; the client reports them."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()  # headers and body go out in two writes: do not let Nagle wait
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        owner = self.server.owner
        path = urlsplit(self.path).path
        owner.seen.append(("GET", self.path, dict(self.headers)))
        if path == "/slow":  # headers only after a long pause
            time.sleep(owner.slow_seconds)
            self._send(200, {"slow": True})
        elif path == "/drip":  # headers at once, then one byte every 0.2 s, forever-ish
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(100000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                return
        elif path == "/big":  # more than a MiB, without Content-Length
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for _ in range(2 * 1024):
                    self.wfile.write(b"y" * 1024)
            except OSError:
                return
            self.close_connection = True
        else:
            self._send(200, {"path": path, "client_cert": owner.peer_subject(self)})

    def do_POST(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length", "0"))
        form = dict(parse_qsl(self.rfile.read(length).decode()))
        owner.seen.append(("POST", self.path, dict(self.headers)))
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(header[6:]).decode().partition(":")
        if (client_id, client_secret) != (owner.client_id, owner.client_secret):
            self._send(401, {"error": "invalid_client"})
            return
        grant = form.get("grant_type")
        if grant == "refresh_token" and form.get("refresh_token") not in owner.refresh_tokens:
            self._send(400, {"error": "invalid_grant"})
            return
        if grant not in ("client_credentials", "refresh_token"):
            self._send(400, {"error": "unsupported_grant_type"})
            return
        owner.grant_counts[grant] += 1
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        owner.access_tokens.append(access)
        owner.refresh_tokens.append(refresh)
        self._send(200, {"access_token": access, "token_type": "Bearer", "expires_in": 3600,
                         "refresh_token": refresh, "scope": form.get("scope", "")})


@dataclass
class TokenServer:
    """One endpoint on 127.0.0.1; ``token_url`` takes client_credentials/refresh_token."""

    ssl_context: ssl.SSLContext | None = None
    client_id: str = "transport-client"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    slow_seconds: float = 3.0
    grant_counts: Counter[str] = field(default_factory=Counter)
    access_tokens: list[str] = field(default_factory=list)
    refresh_tokens: list[str] = field(default_factory=list)
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    _server: _Server | None = field(default=None, repr=False)

    def start(self) -> TokenServer:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True,
                         name="token-server").start()
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    def peer_subject(self, handler: BaseHTTPRequestHandler) -> str | None:
        getpeercert = getattr(handler.connection, "getpeercert", None)
        cert = getpeercert() if getpeercert else None
        if not cert:
            return None
        return ",".join(f"{k}={v}" for rdn in cert.get("subject", ()) for k, v in rdn)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@dataclass
class TestPKI:
    """A trustme CA and files made from it: the CA PEM, client cert as PEM and PKCS#12."""

    __test__ = False
    ca: trustme.CA
    folder: Path
    ca_pem: Path
    client_pem: Path
    client_p12: Path
    client_p12_password: str
    client_encrypted_pem: Path
    client_pem_password: str


@pytest.fixture(scope="session")
def test_pki() -> Iterator[TestPKI]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    ca = trustme.CA()
    with tempfile.TemporaryDirectory(prefix="cdata-pki-") as name:
        folder = Path(name)
        ca.cert_pem.write_to_path(str(folder / "ca.pem"))
        client = ca.issue_cert("client@transport.test", common_name="transport-client")
        client.private_key_and_cert_chain_pem.write_to_path(str(folder / "client.pem"))
        key = serialization.load_pem_private_key(client.private_key_pem.bytes(), None)
        cert = x509.load_pem_x509_certificate(client.cert_chain_pems[0].bytes())
        p12_password, pem_password = secrets.token_urlsafe(10), secrets.token_urlsafe(10)
        (folder / "client.p12").write_bytes(pkcs12.serialize_key_and_certificates(
            b"client", key, cert, None,  # type: ignore[arg-type]
            serialization.BestAvailableEncryption(p12_password.encode())))
        encrypted = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(pem_password.encode()))
        (folder / "client-encrypted.pem").write_bytes(
            encrypted + cert.public_bytes(serialization.Encoding.PEM))
        yield TestPKI(ca, folder, folder / "ca.pem", folder / "client.pem",
                      folder / "client.p12", p12_password, folder / "client-encrypted.pem",
                      pem_password)


def _server_context(pki: TestPKI, require_client_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    pki.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        pki.ca.configure_trust(context)
    return context


@pytest.fixture(scope="session")
def http_token_server() -> Iterator[TokenServer]:
    """A plain-HTTP token endpoint (and /slow, /drip, /big) on 127.0.0.1."""
    server = TokenServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tls_token_server(test_pki: TestPKI) -> Iterator[TokenServer]:
    """An HTTPS token endpoint whose certificate comes from the test CA."""
    server = TokenServer(_server_context(test_pki, False)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mtls_token_server(test_pki: TestPKI) -> Iterator[TokenServer]:
    """An HTTPS token endpoint that requires a client certificate from the test CA."""
    server = TokenServer(_server_context(test_pki, True)).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class TlsFront:
    """A TLS terminator on 127.0.0.1 relaying to a plain TCP port (e.g. squid), so that a
    client can speak TLS to the proxy itself (Proxy_SSLType=ALWAYS)."""

    port: int
    target: int
    connections: int = 0


@pytest.fixture
def tls_front() -> Iterator[Any]:
    """Call it with (pki, target_port) to get a started TlsFront; stopped afterwards."""

    stoppers: list[Any] = []

    def start(pki: TestPKI, target: int) -> TlsFront:
        context = _server_context(pki, False)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.2)
        front = TlsFront(int(listener.getsockname()[1]), target)
        stop = threading.Event()

        def serve(raw: Any) -> None:
            try:
                tls = context.wrap_socket(raw, server_side=True)
            except OSError:
                raw.close()
                return
            upstream = socket.create_connection(("127.0.0.1", target))
            front.connections += 1
            threading.Thread(target=pump, args=(upstream, tls), daemon=True).start()
            pump(tls, upstream)

        def accept() -> None:
            while not stop.is_set():
                try:
                    raw, _ = listener.accept()
                except OSError:
                    continue
                raw.settimeout(None)
                threading.Thread(target=serve, args=(raw,), daemon=True).start()
            listener.close()

        threading.Thread(target=accept, daemon=True).start()
        stoppers.append(stop.set)
        return front

    yield start
    for stop_one in stoppers:
        stop_one()
