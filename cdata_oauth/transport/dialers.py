"""Opening one TCP stream to ``host:port``: directly, through a SOCKS firewall (pysocks),
or through an HTTP CONNECT tunnel, each hop able to ride on the one before it.

urllib3 gets the finished socket, exactly as its own SOCKS support does, so TLS to the
origin (and hostname checks) stay urllib3's job. Failures of a hop are OperationalErrors
that name that proxy or firewall and the cause.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import socks

from cdata_oauth.exceptions import OperationalError
from cdata_oauth.transport.proxyauth import ProxyAuth

__all__ = ["Dialer", "DirectDialer", "Hop", "SocksDialer", "TunnelDialer", "authority"]


class Dialer(Protocol):
    def connect(self, host: str, port: int, timeout: float | None) -> socket.socket: ...


def authority(host: str, port: int) -> str:
    """``host:port`` with IPv6 literals bracketed, as CONNECT and Host want."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


@dataclass(frozen=True)
class Hop:
    """A proxy or firewall as users name it in messages: role, kind and address."""

    role: str  # "proxy" | "firewall"
    kind: str  # e.g. "HTTP", "SOCKS5"
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.kind} {self.role} {authority(self.host, self.port)}"

    def unreachable(self, exc: BaseException, timeout: float | None) -> OperationalError:
        if isinstance(exc, TimeoutError | socket.timeout):
            cause = f"no answer within {timeout:g} seconds" if timeout else "timed out"
        elif isinstance(exc, ConnectionRefusedError):
            cause = "connection refused"
        elif isinstance(exc, socket.gaierror):
            cause = "the host name cannot be resolved"
        elif isinstance(exc, ssl.SSLError):
            cause = f"TLS with the {self.role} failed ({exc.reason or type(exc).__name__})"
        else:
            cause = type(exc).__name__
        setting = "Proxy_Server and Proxy_Port" if self.role == "proxy" else \
            "Firewall_Server and Firewall_Port"
        return OperationalError(f"Cannot reach the {self} ({cause}); check {setting}.")


class DirectDialer:
    """A plain TCP connection; errors stay OSErrors so the caller can name the origin."""

    def connect(self, host: str, port: int, timeout: float | None) -> socket.socket:
        sock = socket.create_connection((host, port), timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


class HopDialer:
    """Reaches a proxy through ``via``; every failure names the proxy (and TLS if asked)."""

    def __init__(self, hop: Hop, via: Dialer,
                 tls: Callable[[socket.socket, str], socket.socket] | None = None) -> None:
        self.hop, self.via, self.tls = hop, via, tls

    def connect(self, host: str, port: int, timeout: float | None) -> socket.socket:
        """Dialer face for pools of connections to the proxy itself (host/port are its)."""
        return self.open(timeout)

    def open(self, timeout: float | None) -> socket.socket:
        try:
            sock = self.via.connect(self.hop.host, self.hop.port, timeout)
        except OperationalError:
            raise
        except OSError as exc:
            raise self.hop.unreachable(exc, timeout) from exc
        if self.tls is None:
            return sock
        try:
            return self.tls(sock, self.hop.host)
        except OSError as exc:
            sock.close()
            raise self.hop.unreachable(exc, timeout) from exc


class SocksDialer:
    """SOCKS4 (user id) or SOCKS5 (user name/password, names resolved by the server)."""

    def __init__(self, hop: Hop, user: str | None, password: str | None) -> None:
        self.hop, self.user, self.password = hop, user, password

    def connect(self, host: str, port: int, timeout: float | None) -> socket.socket:
        version = socks.SOCKS5 if self.hop.kind == "SOCKS5" else socks.SOCKS4
        sock = socks.socksocket()
        sock.set_proxy(version, self.hop.host, self.hop.port, rdns=version == socks.SOCKS5,
                       username=self.user or None, password=self.password or None)
        sock.settimeout(timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as urllib3 does
        try:
            try:
                sock.connect((host, port))
            except socks.GeneralProxyError as wrapped:
                if isinstance(wrapped.socket_err, socks.ProxyError):  # pysocks wraps these
                    raise wrapped.socket_err from wrapped
                raise
        except socks.ProxyConnectionError as exc:
            sock.close()
            raise self.hop.unreachable(exc.socket_err or exc, timeout) from exc
        except socks.SOCKS5AuthError as exc:
            sock.close()
            raise OperationalError(
                f"The {self.hop} refused the user name or password ({exc.msg}); check "
                "Firewall_User and Firewall_Password.") from exc
        except (socks.SOCKS5Error, socks.SOCKS4Error) as exc:
            sock.close()
            hint = " (a SOCKS4 server may refuse the user id in Firewall_User)" \
                if self.hop.kind == "SOCKS4" else ""
            raise OperationalError(
                f"The {self.hop} would not connect to {authority(host, port)}: "
                f"{exc.msg}{hint}.") from exc
        except socks.GeneralProxyError as exc:
            sock.close()
            inner = exc.socket_err
            if isinstance(inner, TimeoutError | socket.timeout):
                raise self.hop.unreachable(inner, timeout) from exc
            raise OperationalError(
                f"The {self.hop} failed to connect to {authority(host, port)}: "
                f"{exc.msg}.") from exc
        except OSError as exc:
            sock.close()
            raise self.hop.unreachable(exc, timeout) from exc
        result: socket.socket = sock
        return result


class TunnelDialer:
    """HTTP CONNECT through a proxy, answering a 407 with Digest when asked."""

    def __init__(self, hop: HopDialer, auth: ProxyAuth) -> None:
        self.hop, self.auth = hop, auth

    def connect(self, host: str, port: int, timeout: float | None) -> socket.socket:
        target = authority(host, port)
        if self.auth.ntlm:
            return self._connect_ntlm(target, timeout)
        header = self.auth.preemptive("CONNECT", target)
        for _ in range(3):
            sock = self.hop.open(timeout)
            try:
                status, reason, challenges, _ = self._connect(sock, target, header, timeout)
            except BaseException:
                sock.close()
                raise
            if 200 <= status < 300:
                return sock
            sock.close()
            if status == 407:
                retry = self.auth.answer("CONNECT", target, challenges, header)
                if retry is not None:
                    header = retry
                    continue
                raise refused(self.hop.hop, header is not None)
            raise OperationalError(
                f"The {self.hop.hop} refused to open a tunnel to {target}: {status} {reason}.")
        raise refused(self.hop.hop, True)

    def _connect_ntlm(self, target: str, timeout: float | None) -> socket.socket:
        """CONNECT, 407 with the NTLM challenge, CONNECT again: all on one connection."""
        sock = self.hop.open(timeout)
        try:
            handshake = self.auth.ntlm_handshake(self.hop.hop.host)
            status, reason, challenges, kept = self._connect(sock, target, handshake.first(),
                                                             timeout, keep=True)
            if status == 407 and kept:
                answer = handshake.second(challenges)
                if answer is not None:
                    status, reason, _, _ = self._connect(sock, target, answer, timeout)
            if 200 <= status < 300:
                return sock
            if status == 407:
                raise refused(self.hop.hop, True)
            raise OperationalError(
                f"The {self.hop.hop} refused to open a tunnel to {target}: {status} {reason}.")
        except BaseException:
            sock.close()
            raise

    def _connect(self, sock: socket.socket, target: str, header: str | None,
                 timeout: float | None, keep: bool = False
                 ) -> tuple[int, str, list[str], bool]:
        """One CONNECT; with ``keep``, a refusal's body is read so the socket can go on."""
        lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}", "User-Agent: cdata_oauth"]
        if header:
            lines.append(f"Proxy-Authorization: {header}")
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            response = http.client.HTTPResponse(sock, method="CONNECT")
            response.begin()
            challenges = response.msg.get_all("Proxy-Authenticate") or []
            status, reason = response.status, response.reason
            kept = False
            if keep and not 200 <= status < 300 and not response.will_close:
                response.read()
                kept = True
            response.fp = None  # type: ignore[assignment]  # keep the socket for the tunnel
            return status, reason, challenges, kept
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, OSError):
                raise self.hop.hop.unreachable(exc, timeout) from exc
            raise OperationalError(
                f"The {self.hop.hop} sent a malformed answer to CONNECT "
                f"({type(exc).__name__}); is it an HTTP proxy?") from exc


def refused(hop: Hop, sent_credentials: bool) -> OperationalError:
    """The 407 error: credentials refused, or none given when the proxy wants some."""
    prefix = "Proxy" if hop.role == "proxy" else "Firewall"
    if sent_credentials:
        cause = "refused the credentials"
    else:
        cause = "requires authentication and none was configured"
    scheme = " and Proxy_AuthScheme" if hop.role == "proxy" else ""
    return OperationalError(
        f"The {hop} {cause} (407 Proxy Authentication Required); check {prefix}_User, "
        f"{prefix}_Password{scheme}.")
