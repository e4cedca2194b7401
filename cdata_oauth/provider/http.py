"""The embedded provider's HTTP face: a threaded stdlib server whose handler hands
each request to oauthlib's endpoints and writes back what they answer.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from oauthlib.common import Request
from oauthlib.oauth2 import AccessDeniedError, FatalClientError, OAuth2Error, Server

from cdata_oauth.provider.device import (
    DEVICE_AUTHORIZATION_PATH,
    DEVICE_GRANT,
    VERIFICATION_PATH,
    DeviceEndpoints,
)
from cdata_oauth.provider.store import Store
from cdata_oauth.provider.validator import presented_auth_method

__all__ = ["AUTHORIZE_PATH", "TOKEN_PATH", "USERINFO_PATH", "ProviderHTTPServer", "RecordedRequest",
           "serve"]

AUTHORIZE_PATH = "/authorize"
TOKEN_PATH = "/token"
USERINFO_PATH = "/userinfo"
MAX_BODY = 1 << 20
_DESCRIPTIONS = {
    "invalid_client": "Client authentication failed: unknown client, wrong secret, or not the "
                      "one method (Basic header, POST body, or none for a public client) the "
                      "client is registered with.",
    "invalid_grant": "The authorization code, refresh token or user credentials are invalid, "
                     "expired, already used, or were issued to another client or redirect_uri.",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One token request as it reached the provider, and what the provider answered."""

    headers: dict[str, str]
    form: dict[str, str]
    auth_method: str | None  # client_secret_basic | client_secret_post | none | None
    status: int
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def grant_type(self) -> str | None:
        return self.form.get("grant_type")

    @property
    def error(self) -> str | None:
        value = self.response.get("error")
        return str(value) if value is not None else None


class ProviderState(Protocol):
    """What the HTTP face reads of its provider (``EmbeddedProvider`` is one)."""

    approve: bool
    device: DeviceEndpoints
    oauth_server: Server
    store: Store
    user: str

    @property
    def base_url(self) -> str: ...

    def record(self, request: RecordedRequest) -> None: ...


class _Handler(BaseHTTPRequestHandler):
    """Routes /authorize, /token and /userinfo to oauthlib; anything else is a 404."""

    provider: ProviderState
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms stall
    server_version = "cdata-oauth-embedded-provider"

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines carry codes and states, and the demo's output stays clean."""

    def _uri(self) -> str:
        return self.provider.base_url + self.path

    def _body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, MAX_BODY)).decode("utf-8", "replace")

    def _reply(self, status: int, headers: dict[str, str], body: str | None) -> None:
        data = (body or "").encode("utf-8")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if body and not any(n.lower() == "content-type" for n in headers):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str) -> Callable[[], tuple[int, dict[str, str], str | None]] | None:
        path = urlsplit(self.path).path
        routes = {("GET", AUTHORIZE_PATH): self._authorize, ("POST", TOKEN_PATH): self._token,
                  ("GET", USERINFO_PATH): self._userinfo,
                  ("POST", DEVICE_AUTHORIZATION_PATH): self._device_authorization,
                  ("GET", VERIFICATION_PATH): self._verify, ("POST", VERIFICATION_PATH):
                  self._verify}
        return routes.get((method, path))

    def _dispatch(self, method: str) -> None:
        route = self._route(method)
        if route is None:
            self._reply(404, {}, json.dumps({"error": "not_found", "error_description":
                                             f"{method} {urlsplit(self.path).path} is not "
                                             "an endpoint of this provider"}))
            return
        try:
            status, headers, body = route()
        except Exception as exc:  # a bug here must answer, not hang the client
            status, headers = 500, {}
            body = json.dumps({"error": "server_error", "error_description": type(exc).__name__})
        self._reply(status, headers, body)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _authorize(self) -> tuple[int, dict[str, str], str | None]:
        """Approves at once as the provider's user (or denies, when told to)."""
        server, uri, headers = self.provider.oauth_server, self._uri(), dict(self.headers)
        try:
            with self.provider.store.lock:
                scopes, credentials = server.validate_authorization_request(uri, "GET", None,
                                                                            headers)
                if not self.provider.approve:
                    denied = AccessDeniedError(state=credentials.get("state"))
                    return 302, {"Location": denied.in_uri(credentials["redirect_uri"])}, None
                out_headers, body, status = server.create_authorization_response(
                    uri, "GET", None, headers, scopes=scopes,
                    credentials={"user": self.provider.user})
        except FatalClientError as exc:  # no trusted redirect_uri: tell the user here
            return exc.status_code, {}, exc.json
        except OAuth2Error as exc:
            return 302, {"Location": exc.in_uri(exc.redirect_uri)}, None
        return int(status), dict(out_headers), body

    def _device_authorization(self) -> tuple[int, dict[str, str], str | None]:
        return self.provider.device.authorize(self._uri(), self._body(), dict(self.headers))

    def _verify(self) -> tuple[int, dict[str, str], str | None]:
        """The person's page: ?user_code= (a link), or the form's POSTed user_code."""
        query = dict(parse_qsl(urlsplit(self.path).query))
        if self.command == "POST":
            query.update(parse_qsl(self._body()))
        return self.provider.device.verify(query.get("user_code"))

    def _token(self) -> tuple[int, dict[str, str], str | None]:
        body, headers = self._body(), dict(self.headers)
        if dict(parse_qsl(body)).get("grant_type") == DEVICE_GRANT:
            status, out_headers, answer = self.provider.device.token(self._uri(), body, headers)
            self._record(headers, body, status, answer)
            return status, out_headers, answer
        with self.provider.store.lock:
            out_headers, out_body, status = self.provider.oauth_server.create_token_response(
                self._uri(), "POST", body, headers)
        out_body = self._describe(out_body)
        self._record(headers, body, int(status), out_body)
        return int(status), dict(out_headers), out_body

    def _describe(self, out_body: str | None) -> str | None:
        """Add an error_description where oauthlib gives none, so users learn what failed."""
        try:
            answer = json.loads(out_body or "{}")
        except ValueError:
            return out_body
        error = answer.get("error") if isinstance(answer, dict) else None
        if error in _DESCRIPTIONS and not answer.get("error_description"):
            answer["error_description"] = _DESCRIPTIONS[error]
            return json.dumps(answer)
        return out_body

    def _userinfo(self) -> tuple[int, dict[str, str], str | None]:
        """A protected resource: proves an access token is (still) valid."""
        valid, request = self.provider.oauth_server.verify_request(
            self._uri(), "GET", None, dict(self.headers), scopes=[])
        if not valid:
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, json.dumps(
                {"error": "invalid_token", "error_description": "unknown or expired token"})
        return 200, {}, json.dumps({"sub": request.user, "client_id": request.client_id,
                                    "scope": " ".join(request.scopes or [])})

    def _record(self, headers: dict[str, str], body: str, status: int,
                out_body: str | None) -> None:
        form = dict(parse_qsl(body, keep_blank_values=True))
        method = presented_auth_method(Request(self._uri(), "POST", body, headers))[0]
        try:
            response = json.loads(out_body or "{}")
        except ValueError:
            response = {}
        self.provider.record(RecordedRequest(headers, form, method, status, response))


class ProviderHTTPServer(ThreadingHTTPServer):
    """A thread per connection; ``close_connections`` ends kept-alive ones on stop, so a
    stopped provider answers nobody, even on a connection a client kept open."""

    daemon_threads = True
    request_queue_size = 128  # many clients at once (threads, benchmarks): not socketserver's 5

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def serve(provider: ProviderState, host: str, port: int) -> ProviderHTTPServer:
    """A bound server whose handler talks to ``provider``; call serve_forever to run it."""
    handler = type("EmbeddedProviderHandler", (_Handler,), {"provider": provider})
    return ProviderHTTPServer((host, port), handler)
