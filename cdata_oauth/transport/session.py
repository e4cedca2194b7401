"""HTTP for the operations: one ``requests.Session`` per transport settings, routed through
the configured proxy and firewall, trusting what SSLServerCert says, logged to LogFile,
and every failure turned into a PEP 249 exception that names the host.

The flows know nothing of proxies or TLS; they call ``Transport.request``. The whole
answer is read here, within Timeout and up to ``max_response_bytes``, so a slow or huge
answer cannot hold a statement forever.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error

from cdata_oauth.exceptions import Error, OperationalError, ProgrammingError
from cdata_oauth.logguard import in_use
from cdata_oauth.redaction import mask_url
from cdata_oauth.transport.adapter import RoutedAdapter
from cdata_oauth.transport.deadlines import schedule
from cdata_oauth.transport.httplog import HttpLog
from cdata_oauth.transport.neterrors import caused_by, masked_cause, reason, tls_reason
from cdata_oauth.transport.routing import Router
from cdata_oauth.transport.settings import TransportSettings
from cdata_oauth.transport.tls import build_context

__all__ = ["MAX_RESPONSE_BYTES", "Transport"]

MAX_RESPONSE_BYTES = 1024 * 1024
_CHUNK = 16 * 1024
_GRACE = 0.5  # seconds a body may still arrive in when headers came at the very deadline
_SEND_KEYS = frozenset({"timeout", "allow_redirects", "proxies", "verify", "cert", "stream"})


class Transport:
    """A configured session; ``request`` raises only PEP 249 exceptions."""

    def __init__(self, settings: TransportSettings) -> None:
        self.settings = settings
        self.max_response_bytes = MAX_RESPONSE_BYTES
        timeout = settings.timeout  # validates Timeout before any request
        self._timeout = timeout
        self.log = HttpLog(settings.get("LogFile"), settings.secrets())
        self.context = build_context(settings.get("SSLServerCert"),
                                     settings.get("SSLClientCert"),
                                     settings.get("SSLClientCertPassword"))
        self.router = Router(settings.get, self._wrap_tls)
        self.session = requests.Session()
        self.session.trust_env = False  # Proxy_Auto reads the environment itself
        self.session.headers["User-Agent"] = "cdata_oauth"
        adapter = RoutedAdapter(self.router, self.context)
        self._adapter = adapter
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def _wrap_tls(self, sock: socket.socket, hostname: str) -> socket.socket:
        """TLS to a proxy itself (Proxy_SSLType=ALWAYS), with the same trust as origins."""
        return self.context.wrap_socket(sock, server_hostname=hostname)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send one request and read its whole answer; failures are PEP 249 exceptions.

        ``secrets=[...]``: the statement's secret values, masked in the log wherever they
        appear (a server may echo them in its answer), and, with the transport's own
        secrets, in the records urllib3 and the others make meanwhile (``logguard``)."""

        secrets = list(kwargs.pop("secrets", ()))
        with self.log.masking(secrets), in_use([*secrets, *self.log.secrets]):
            if not self._timeout:
                return self._request(method, url, **kwargs)
            # Socket timeouts bound each read; this alarm bounds the whole request (a
            # server dripping its status line or headers a byte at a time meets every one).
            alarm = schedule(self._timeout + _GRACE, self._adapter.abort)
            try:
                return self._request(method, url, **kwargs)
            except Error as exc:
                if alarm.fired and "timed out" not in str(exc):
                    raise self._timed_out(method.upper(), urlsplit(url).hostname or
                                          "the server") from exc
                raise
            finally:
                alarm.cancel()

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        timeout = self._timeout
        kwargs.setdefault("timeout", (timeout, timeout) if timeout else None)
        kwargs.setdefault("allow_redirects", False)
        send = {k: kwargs.pop(k) for k in list(kwargs) if k in _SEND_KEYS}
        send["stream"] = True
        method = method.upper()
        host = urlsplit(url).hostname or "the server"
        start = time.monotonic()
        try:
            prepared = self.session.prepare_request(requests.Request(method, url, **kwargs))
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema, ValueError) as exc:
            raise ProgrammingError(f"The URL {mask_url(url)!r} cannot be used: "
                                   f"{type(exc).__name__}.") from None
        try:
            response = self.session.send(prepared, **send)
            body = self._read_body(response, method, host, start)
        except Error as exc:
            self._log_request(method, url, prepared)
            self.log.failure(method, url, str(exc))
            raise
        except requests.exceptions.RequestException as exc:
            error = self._translate(exc, method, host)
            self._log_request(method, url, prepared)
            self.log.failure(method, url, str(error))
            raise error from masked_cause(exc, prepared.url or url)
        for earlier in response.history:  # redirects, when the caller allowed them
            self._log_request(method, earlier.url, earlier.request)
            self._log_response(method, earlier, earlier.content, start)
        self._log_request(method, url, response.request)
        self._log_response(method, response, body, start)
        return response

    def _log_request(self, method: str, url: str, sent: requests.PreparedRequest) -> None:
        """Logged once it was sent, so headers the adapter added (Proxy-Authorization)
        show up, masked."""
        self.log.request(sent.method or method, sent.url or url, sent.headers, sent.body)

    def _log_response(self, method: str, response: requests.Response, body: bytes | None,
                      start: float) -> None:
        self.log.response(method, response.url, response.status_code, response.reason or "",
                          response.headers, body, time.monotonic() - start)

    def _read_body(self, response: requests.Response, method: str, host: str,
                   start: float) -> bytes:
        """The whole body within the deadline and the size cap; kept as response.content.

        ``read1`` does at most one socket read per call, each bounded by what is left of
        the deadline, so a server that drips a byte at a time cannot stretch Timeout (a
        plain ``read(n)`` would wait for n bytes, one short timeout per byte)."""

        limit = self.max_response_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            response.close()
            raise self._too_big(host, method, int(declared))
        deadline = start + self._timeout if self._timeout else None
        chunks: list[bytes] = []
        total = 0
        raw = response.raw
        try:
            while getattr(raw, "length_remaining", None) != 0:
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining < -_GRACE:
                        response.close()
                        raise self._timed_out(method, host)
                    _set_read_timeout(response, max(remaining, 0.05))
                chunk = raw.read1(_CHUNK, decode_content=True)
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    response.close()
                    raise self._too_big(host, method, None)
                chunks.append(chunk)
        except (Urllib3Error, OSError) as exc:
            response.close()
            raise self._translate(exc, method, host) from exc
        body = b"".join(chunks)
        # The connection is back in its pool; drop the reader's hold on the socket so that
        # closing the transport really closes it (and a proxy logs the ended tunnel).
        with contextlib.suppress(Exception):
            response.raw.close()
        response._content = body
        response._content_consumed = True  # type: ignore[attr-defined]
        return body

    def _too_big(self, host: str, method: str, declared: int | None) -> OperationalError:
        size = f" ({declared} bytes)" if declared is not None else ""
        limit = self.max_response_bytes
        shown = f"{limit / 1048576:g} MiB" if limit >= 1048576 else f"{limit} bytes"
        return OperationalError(
            f"The answer of {host} to {method} is larger than {shown}{size}; a token "
            "endpoint never sends that much. Check the URL.")

    def _timed_out(self, method: str, host: str) -> OperationalError:
        return OperationalError(
            f"{method} to {host} timed out: no complete answer within {self._timeout:g} "
            "seconds (Timeout); raise Timeout or check that the server answers.")

    def _translate(self, exc: BaseException, method: str, host: str) -> Error:
        if isinstance(exc, requests.exceptions.Timeout) or caused_by(exc, ReadTimeoutError) \
                or caused_by(exc, TimeoutError):
            if self._timeout is None:
                return OperationalError(f"{method} to {host} timed out.")
            return self._timed_out(method, host)
        if isinstance(exc, requests.exceptions.SSLError) or caused_by(exc, ssl.SSLError):
            return OperationalError(f"TLS with {host} failed: {tls_reason(exc)}.")
        if isinstance(exc, requests.exceptions.ChunkedEncodingError |  # ProtocolError and
                      requests.exceptions.ContentDecodingError |  # DecodeError: urllib3's,
                      ProtocolError | DecodeError):  # raised while reading the body
            return OperationalError(f"The answer of {host} to {method} was cut off or "
                                    f"malformed ({type(exc).__name__}).")
        if isinstance(exc, requests.exceptions.ConnectionError):
            return OperationalError(
                f"Cannot connect to {host}: {reason(exc)}. Check the URL, the network and "
                "any proxy settings.")
        if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema |
                      requests.exceptions.MissingSchema):
            return ProgrammingError(f"The URL for {host} cannot be used: {type(exc).__name__}.")
        return OperationalError(f"{method} to {host} failed: {reason(exc)}.")

    def close(self) -> None:
        self.session.close()


def _set_read_timeout(response: requests.Response, seconds: float) -> None:
    """Shrinks the socket's read timeout to what is left of the deadline."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(seconds)
