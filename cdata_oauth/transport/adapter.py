"""The requests adapter that sends each request along its route (see proxies.Router).

Origin connections get their socket from the route's dialer (direct, SOCKS, CONNECT);
forwarded requests go to a pool of connections to the proxy with an absolute URL and a
Proxy-Authorization header. TLS trust comes only from our SSLContext, never from
requests' ``verify`` or the environment.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import weakref
from typing import Any
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from requests.exceptions import SSLError
from requests.models import PreparedRequest, Response
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from cdata_oauth.exceptions import OperationalError
from cdata_oauth.transport.dialers import Dialer, authority, refused
from cdata_oauth.transport.neterrors import tls_reason
from cdata_oauth.transport.routing import ForwardProxy, Route, Router

__all__ = ["RoutedAdapter"]


def _dial(conn: HTTPConnection, dialer: Dialer) -> socket.socket:
    """Like urllib3's own _new_conn, with the socket from a dialer."""
    timeout = conn.timeout if isinstance(conn.timeout, int | float) else None
    try:
        return dialer.connect(conn.host, conn.port, timeout)
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    except TimeoutError as exc:
        raise ConnectTimeoutError(
            conn, f"Connection to {conn.host} timed out. (connect timeout={timeout})") from exc
    except OSError as exc:
        raise NewConnectionError(conn, f"Failed to establish a new connection: {exc}") from exc


def _pool_manager(dialer_for: Any, context: ssl.SSLContext, size: int,
                  track: Any = None) -> PoolManager:
    """A PoolManager whose connections get their sockets from ``dialer_for(scheme, host,
    port)``; its pool classes are made for this one manager."""

    class Conn(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            if track is not None:
                track(self)
            return _dial(self, dialer_for("http", self.host, self.port))

    class TlsConn(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            if track is not None:
                track(self)
            return _dial(self, dialer_for("https", self.host, self.port))

    class Pool(HTTPConnectionPool):
        ConnectionCls = Conn

    class TlsPool(HTTPSConnectionPool):
        ConnectionCls = TlsConn

    verify = context.verify_mode != ssl.CERT_NONE
    manager = PoolManager(num_pools=size, maxsize=size, ssl_context=context,
                          cert_reqs="CERT_REQUIRED" if verify else "CERT_NONE")
    manager.pool_classes_by_scheme = {"http": Pool, "https": TlsPool}
    return manager


class RoutedAdapter(HTTPAdapter):
    """HTTPAdapter whose connections follow ``router`` and trust ``context``."""

    def __init__(self, router: Router, context: ssl.SSLContext, size: int = 10) -> None:
        self.router = router
        self.context = context
        self._size = size
        self.connections: weakref.WeakSet[HTTPConnection] = weakref.WeakSet()
        """Every connection made, for ``abort`` (weak: pools decide how long they live)."""
        super().__init__(max_retries=0)

    def abort(self) -> None:
        """Shut down the sockets of every connection now (from another thread): a read
        blocked on them ends at once. Used when a request's whole deadline has passed."""
        for conn in list(self.connections):
            sock = getattr(conn, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the fd, also under TLS

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False,
                         **pool_kwargs: Any) -> None:
        self._pool_connections, self._pool_maxsize, self._pool_block = connections, maxsize, block
        self.poolmanager = _pool_manager(self._origin_dialer, self.context, self._size,
                                         self.connections.add)
        self.proxy_pools = _pool_manager(
            lambda scheme, host, port: self.router.forward_dialer(host, port),
            self.context, self._size, self.connections.add)

    def _origin_dialer(self, scheme: str, host: str, port: int) -> Dialer:
        return self.router.route(f"{scheme}://{authority(host, port)}/").dialer

    def get_connection_with_tls_context(self, request: PreparedRequest, verify: Any,
                                        proxies: Any = None, cert: Any = None
                                        ) -> HTTPConnectionPool:
        url = request.url or ""
        route = self.router.route(url)
        if route.forward is not None:
            scheme = "https" if route.forward.tls else "http"
            pool: HTTPConnectionPool = self.proxy_pools.connection_from_host(
                route.forward.hop.host, route.forward.hop.port, scheme=scheme)
            return pool
        parts = urlsplit(url)
        origin: HTTPConnectionPool = self.poolmanager.connection_from_host(
            parts.hostname or "", parts.port, scheme=parts.scheme.lower())
        return origin

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Trust is set in our SSLContext; requests' verify/cert are not used."""

    def request_url(self, request: PreparedRequest, proxies: Any) -> str:
        if self.router.route(request.url or "").forward is not None:
            return request.url or ""
        return request.path_url

    def send(self, request: PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> Response:
        route: Route = self.router.route(request.url or "")
        forward = route.forward
        if forward is None:
            return super().send(request, stream, timeout, verify, cert, proxies)
        method, url = request.method or "GET", request.url or ""
        if forward.auth.ntlm:
            return self._forward_ntlm(forward, request, stream, timeout)
        header = forward.auth.preemptive(method, url)
        if header:
            request.headers["Proxy-Authorization"] = header
        response = self._forward(forward, request, stream, timeout)
        if response.status_code != 407:
            return response
        challenges = response.raw.headers.getlist("Proxy-Authenticate") \
            if response.raw is not None else []
        retry = forward.auth.answer(method, url, challenges, header)
        response.close()
        if retry is not None:
            request.headers["Proxy-Authorization"] = retry
            response = self._forward(forward, request, stream, timeout)
            if response.status_code != 407:
                return response
            response.close()
        raise refused(forward.hop, bool(header or retry))

    def _forward_ntlm(self, forward: ForwardProxy, request: PreparedRequest, stream: bool,
                      timeout: Any) -> Response:
        """NTLM authenticates a connection: the answer to the challenge must go on the same
        one, which the pool hands out again because the 407 was read to its end."""
        handshake = forward.auth.ntlm_handshake(forward.hop.host)
        request.headers["Proxy-Authorization"] = handshake.first()
        response = self._forward(forward, request, stream, timeout)
        if response.status_code != 407:
            return response
        challenges = response.raw.headers.getlist("Proxy-Authenticate") \
            if response.raw is not None else []
        _ = response.content  # read to the end: the connection goes back to the pool
        answer = handshake.second(challenges)
        if answer is None:
            raise refused(forward.hop, True)
        request.headers["Proxy-Authorization"] = answer
        response = self._forward(forward, request, stream, timeout)
        if response.status_code == 407:
            response.close()
            raise refused(forward.hop, True)
        return response

    def _forward(self, forward: ForwardProxy, request: PreparedRequest, stream: bool,
                 timeout: Any) -> Response:
        """One forwarded request; TLS failures are the proxy's (Proxy_SSLType=ALWAYS)."""
        try:
            return super().send(request, stream, timeout)
        except SSLError as exc:
            raise OperationalError(
                f"TLS with the {forward.hop} failed: {tls_reason(exc)}.") from exc

    def close(self) -> None:
        """Closes every pooled socket now (urllib3 2's clear() leaves that to the GC, which
        would keep CONNECT tunnels open and unlogged at the proxy)."""
        for manager in (self.poolmanager, self.proxy_pools):
            for key in list(manager.pools.keys()):
                pool = manager.pools.get(key)
                if pool is not None:
                    pool.close()
            manager.clear()
