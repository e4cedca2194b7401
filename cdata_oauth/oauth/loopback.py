"""The loopback redirect of RFC 8252: a one-shot HTTP listener on 127.0.0.1 that waits for
the browser to come back with the authorization answer, and a browser opener that never
blocks it. Shared by the OAuth 2.0 and OAuth 1.0a interactive (AuthMode=APP) flows.
"""

from __future__ import annotations

import html
import http.server
import ipaddress
import socket
import socketserver
import sys
import threading
import time
import webbrowser
from collections.abc import Callable
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from cdata_oauth.exceptions import OperationalError, ProgrammingError
from cdata_oauth.oauth.urls import check_callback_url, is_loopback_host
from cdata_oauth.redaction import mask_url

__all__ = ["CallbackListener", "open_browser"]

_DONE_PAGE = ("<!doctype html><html><head><meta charset=\"utf-8\"><title>Authorization complete"
              "</title></head><body><h1>Authorization complete</h1><p>You may close this window"
              " and return to the application.</p></body></html>")
_ERROR_PAGE = ("<!doctype html><html><head><meta charset=\"utf-8\"><title>Authorization failed"
               "</title></head><body><h1>Authorization failed</h1><p>{message}</p>"
               "<p>You may close this window.</p></body></html>")
_NOT_FOUND_PAGE = "<!doctype html><html><body><p>Not found.</p></body></html>"





def _bind_address(host: str) -> tuple[str, socket.AddressFamily]:
    """The loopback address to listen on: a literal loopback address as given (the
    browser will connect to exactly that one), 127.0.0.1 for localhost names."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "127.0.0.1", socket.AF_INET
    return str(address), socket.AF_INET6 if address.version == 6 else socket.AF_INET


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """Carries the one answer it waits for; a thread per request, so a browser's idle
    preconnect socket cannot hold up the real callback."""

    # The port must be free again at once after a flow, though its closed connections
    # linger in TIME_WAIT; SO_REUSEADDR allows that on POSIX (never two listeners). On
    # Windows it would let another program bind the same port, so it stays off there.
    allow_reuse_address = sys.platform != "win32"
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily,
                 callback_path: str) -> None:
        self.address_family = family
        super().__init__(address, _Handler, bind_and_activate=False)
        self.callback_path = callback_path
        self.accept_params: Callable[[dict[str, str]], str | None] = lambda _params: None
        self.result: dict[str, str] | None = None
        self.done = threading.Event()
        self.decide = threading.Lock()  # one answer per flow, even from parallel requests
        self.claimed = False  # set under ``decide`` by the one request whose answer is used

    def handle_error(self, request: object, client_address: object) -> None:
        """Silent: junk sent to the port (or a client that hangs up) is not our failure,
        and a traceback would show the request line, which carries the code."""


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers GET requests; only the callback path ends the wait."""

    server: _Server
    timeout = 10  # seconds a silent connection may hold its thread

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if (parts.path or "/") != self.server.callback_path:
            self._answer(404, _NOT_FOUND_PAGE)
            return
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self.server.decide:
            if self.server.claimed:
                problem: str | None = ("This sign-in is already complete; its answer was "
                                       "used once and this one is ignored.")
            else:
                try:
                    problem = self.server.accept_params(params)
                except Exception as exc:  # an accept bug must not hang the browser
                    problem = f"The answer could not be checked ({type(exc).__name__})."
                self.server.claimed = problem is None
        if problem is not None:
            self._answer(400, _ERROR_PAGE.format(message=html.escape(problem)))
            return
        try:  # the page first, so the browser shows it before the application moves on
            if params.get("error"):
                message = "The provider answered: " + params["error"] + "."
                self._answer(200, _ERROR_PAGE.format(message=html.escape(message)))
            else:
                self._answer(200, _DONE_PAGE)
        finally:
            self.server.result = params
            self.server.done.set()

    def _answer(self, status: int, page: str) -> None:
        body = page.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: request lines carry codes and verifiers."""


class CallbackListener:
    """Binds the loopback callback address at once, serves until the browser returns.

    Use as a context manager; the port is closed on exit in every case.
    """

    def __init__(self, callback_url: str, timeout: float | None) -> None:
        check_callback_url(callback_url or "")  # malformed: a ProgrammingError saying why
        parts = urlsplit(callback_url or "")
        if parts.scheme.lower() != "http" or not is_loopback_host(parts.hostname):
            raise ProgrammingError(
                f"CallbackURL {mask_url(callback_url)!r} cannot be served by this process: "
                "AuthMode=APP listens on a loopback http URL such as "
                "http://127.0.0.1:33333/callback. Use "
                "such a CallbackURL, or AuthMode=WEB to exchange a code your own web "
                "application received.")
        try:
            port = parts.port or 0
        except ValueError as exc:
            raise ProgrammingError(
                f"CallbackURL {mask_url(callback_url)!r} has an invalid port.") from exc
        host = (parts.hostname or "").strip("[]")
        bind_host, family = _bind_address(host)
        self.timeout = None if timeout in (None, 0) else float(timeout)
        self._server = _Server((bind_host, port), family, parts.path or "/")
        try:
            self._server.server_bind()
            self._server.server_activate()
        except OSError as exc:
            self._server.server_close()
            raise OperationalError(
                f"Cannot listen on {bind_host} port {port} for the CallbackURL: "
                f"{exc.strerror or type(exc).__name__}. Another program may be using port "
                f"{port}; close it or choose another port in CallbackURL (port 0 picks a "
                "free one when the provider allows any loopback port).") from exc
        bound_port = self._server.server_address[1]
        netloc = f"[{host}]" if ":" in host else host
        self.redirect_uri = urlunsplit(
            (parts.scheme, f"{netloc}:{bound_port}", parts.path or "/", parts.query, ""))
        self.port = bound_port
        self._closed = False

    def wait(self, accept: Callable[[dict[str, str]], str | None]) -> dict[str, str]:
        """Serve until the callback path is hit with parameters ``accept`` approves."""
        if self._closed:
            raise OperationalError("The callback listener is already closed.")
        server = self._server
        server.accept_params = accept
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while not server.done.is_set():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise OperationalError(
                    f"Authorization timed out waiting for the browser after {self.timeout:g} "
                    f"seconds (Timeout) on {mask_url(self.redirect_uri)}; complete the sign-in "
                    "in the browser sooner, or raise Timeout.")
            server.timeout = 0.5 if remaining is None else min(0.5, remaining)
            server.handle_request()
        assert server.result is not None
        return server.result

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._server.server_close()

    def __enter__(self) -> CallbackListener:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _print_url(url: str) -> None:
    print("Open this URL in a browser to authorize the application:", file=sys.stderr)
    print(url, file=sys.stderr, flush=True)


def _open(url: str) -> None:
    try:
        opened = webbrowser.open(url)
    except (webbrowser.Error, OSError):
        opened = False
    if not opened:
        _print_url(url)


def open_browser(url: str) -> None:
    """Open ``url`` in the system browser without blocking the caller.

    ``webbrowser`` honours BROWSER, whose command it runs and waits for, so the call runs in
    a daemon thread; when no browser can be opened the URL is printed to stderr instead.
    """
    threading.Thread(target=_open, args=(url,), name="cdata_oauth-browser", daemon=True).start()
