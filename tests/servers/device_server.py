"""A device authorization server of ours on 127.0.0.1 (RFC 8628) that answers what a test
tells it to: ``slow_down``, ``access_denied``, ``expired_token``, 502/503/504, connection
resets and bad JSON, in the order given.

``device_answer`` is what POST /device_authorization returns (a good answer by default);
``polls`` lists what each POST /token answers, in turn; once it runs out the server says
``authorization_pending``. Every request is logged with its headers, form and, when the
test gives a ``clock``, the time it arrived on that clock.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest

from .loopback_http import LoopbackHTTPServer, QuietHandler, serving

ACCESS_TOKEN = "device-access-token-8Hq2"
REFRESH_TOKEN = "device-refresh-token-Zp4W"
DEVICE_CODE = "device-code-secret-5Jr7Kq"
USER_CODE = "WDJB-MJHT"

POLL_ANSWERS: dict[str, tuple[int, str, bytes]] = {
    "pending": (400, "application/json", b'{"error": "authorization_pending"}'),
    "slow_down": (400, "application/json", b'{"error": "slow_down"}'),
    "denied": (400, "application/json",
               b'{"error": "access_denied", "error_description": "The user said no"}'),
    "expired": (400, "application/json", b'{"error": "expired_token"}'),
    "invalid_grant": (400, "application/json", b'{"error": "invalid_grant"}'),
    "502": (502, "text/html", b"<html><body>Bad Gateway</body></html>"),
    "503": (503, "text/html", b"<html><body>Service Unavailable</body></html>"),
    "504": (504, "text/plain", b"Gateway Timeout"),
    "500": (500, "text/plain", b"Internal Server Error"),
    "badjson": (200, "application/json", b'{"access_token": "half'),
    "tokens": (200, "application/json", json.dumps({
        "access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN, "token_type": "Bearer",
        "expires_in": 3600, "scope": "read"}).encode()),
}


def good_device_answer(**changes: Any) -> dict[str, Any]:
    """A device authorization answer; ``changes`` replace fields (None removes one)."""
    answer: dict[str, Any] = {
        "device_code": DEVICE_CODE, "user_code": USER_CODE,
        "verification_uri": "http://127.0.0.1/device",
        "verification_uri_complete": f"http://127.0.0.1/device?user_code={USER_CODE}",
        "expires_in": 600, "interval": 2}
    for name, value in changes.items():
        if value is None:
            answer.pop(name, None)
        else:
            answer[name] = value
    return answer


class _Handler(QuietHandler):
    server: DeviceServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body in separate writes: no 40 ms stall

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        path = self.path.split("?", 1)[0]
        entry = {"path": path, "headers": dict(self.headers), "body": raw,
                 "form": dict(parse_qsl(raw, keep_blank_values=True)),
                 "at": self.server.clock() if self.server.clock else None}
        with self.server.lock:
            self.server.log.append(entry)
            if path == "/device_authorization":
                answer = self.server.device_answer
                what = "device"
            else:
                what = self.server.polls.pop(0) if self.server.polls else "pending"
        if what == "reset":
            self._reset()
            return
        if what == "device":
            if isinstance(answer, tuple):
                status, content_type, body = answer
            else:
                status, content_type, body = 200, "application/json", json.dumps(answer).encode()
        else:
            status, content_type, body = POLL_ANSWERS[what]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0), as a crashing proxy does."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().finish()


class DeviceServer(LoopbackHTTPServer):
    def __init__(self) -> None:
        super().__init__(_Handler)
        self.lock = threading.Lock()
        self.log: list[dict[str, Any]] = []
        self.polls: list[str] = []
        self.device_answer: dict[str, Any] | tuple[int, str, bytes] = good_device_answer()
        self.clock: Callable[[], float] | None = None

    def handle_error(self, request: object, client_address: object) -> None:
        """Silent: the reset answers end connections on purpose."""

    @property
    def device_authorization_url(self) -> str:
        return self.base_url + "/device_authorization"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    def poll_log(self) -> list[dict[str, Any]]:
        return [entry for entry in self.log if entry["path"] == "/token"]

    def properties(self, **extra: Any) -> dict[str, Any]:
        """Connection properties for a confidential client of this server."""
        properties: dict[str, Any] = {
            "OAuthVersion": "2.0", "OAuthClientId": "device-client",
            "OAuthClientSecret": "device-client-secret-Qm3x",
            "OAuthDeviceAuthorizationURL": self.device_authorization_url,
            "OAuthAccessTokenURL": self.token_url, "Timeout": 60}
        for name, value in extra.items():
            properties.pop(name, None)
            if value is not None:
                properties[name] = value
        return properties


@pytest.fixture
def device_server() -> Iterator[DeviceServer]:
    with serving(DeviceServer(), "device-server", poll_interval=0.05) as server:
        yield server
