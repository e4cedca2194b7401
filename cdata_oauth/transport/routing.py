"""From the Proxy_* and Firewall_* settings to a route per URL: direct, CONNECT tunnel,
or plain forwarding to an HTTP proxy, each possibly through a firewall.

Malformed settings are refused here, before any request. The firewall is always the
first hop, so a proxy and a firewall together work: the proxy is reached through it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import getproxies_environment

from requests.utils import get_environ_proxies, select_proxy

from cdata_oauth.exceptions import NotSupportedError, OperationalError, ProgrammingError
from cdata_oauth.redaction import mask_url
from cdata_oauth.transport.dialers import (
    Dialer,
    DirectDialer,
    Hop,
    HopDialer,
    SocksDialer,
    TunnelDialer,
)
from cdata_oauth.transport.proxyauth import ProxyAuth

__all__ = ["Route", "Router"]

FIREWALL_PORTS = {"TUNNEL": 80, "SOCKS4": 1080, "SOCKS5": 1080}
TlsWrap = Callable[[socket.socket, str], socket.socket]


@dataclass(frozen=True)
class ProxySpec:
    host: str
    port: int
    user: str | None
    password: str | None
    scheme: str
    token: str | None
    ssl_type: str
    kind: str = "HTTP"  # HTTP | SOCKS4 | SOCKS5 (the latter only from the environment)


@dataclass(frozen=True)
class Route:
    """How one URL is reached. ``forward`` is set for plain forwarding to a proxy."""

    dialer: Dialer
    forward: ForwardProxy | None = None


@dataclass(frozen=True)
class ForwardProxy:
    """A proxy that receives absolute-URL requests; ``tls`` means HTTPS to the proxy."""

    hop: Hop
    dialer: HopDialer
    auth: ProxyAuth
    tls: bool


class Router:
    """Validated network settings; ``route(url)`` picks the path for one request."""

    def __init__(self, get: Callable[[str], Any], tls_wrap: TlsWrap) -> None:
        self._tls_wrap = tls_wrap
        self._base = self._firewall(get)
        self._auto = bool(get("Proxy_Auto"))
        self._static = self._proxy_from_settings(get)
        self._defaults = (get("Proxy_User"), get("Proxy_Password"),
                          get("Proxy_AuthScheme") or "BASIC", get("Proxy_AuthToken"))
        self._built: dict[ProxySpec, tuple[Dialer, Dialer, ForwardProxy | None]] = {}
        self._lock = threading.Lock()

    # -- settings -----------------------------------------------------------------
    def _firewall(self, get: Callable[[str], Any]) -> Dialer:
        kind = (get("Firewall_Type") or "NONE").upper()
        server = _text(get("Firewall_Server"))
        if kind == "NONE":
            if server:
                raise ProgrammingError(
                    f"Firewall_Server is {mask_url(server)!r} but Firewall_Type is NONE; set "
                    "Firewall_Type to TUNNEL, SOCKS4 or SOCKS5, or remove Firewall_Server.")
            return DirectDialer()
        if not server:
            raise ProgrammingError(f"Firewall_Type={kind} needs Firewall_Server (the host name "
                                   "or address of the firewall).")
        _check_host("Firewall_Server", server)
        port = _port("Firewall_Port", get("Firewall_Port"), FIREWALL_PORTS[kind])
        user, password = _text(get("Firewall_User")), _text(get("Firewall_Password"))
        if password and not user and kind != "SOCKS4":
            raise ProgrammingError("Firewall_Password is set but Firewall_User is not; set both.")
        hop = Hop("firewall", "HTTP tunnel" if kind == "TUNNEL" else kind, server, port)
        if kind == "TUNNEL":
            auth = ProxyAuth("BASIC", user, password, None, str(hop))
            return TunnelDialer(HopDialer(hop, DirectDialer()), auth)
        return SocksDialer(hop, user, password if kind == "SOCKS5" else None)

    def _proxy_from_settings(self, get: Callable[[str], Any]) -> ProxySpec | None:
        server = _text(get("Proxy_Server"))
        port = get("Proxy_Port")
        scheme = (get("Proxy_AuthScheme") or "BASIC").upper()
        if not server:
            if port is not None and not get("Proxy_Auto"):
                raise ProgrammingError(
                    "Proxy_Port is set but Proxy_Server is not; set Proxy_Server to the proxy's "
                    "host name or address.")
            missing = _ntlm_missing() if scheme == "NTLM" and get("Proxy_Auto") else None
            if missing is not None:
                raise missing
            return None
        _check_host("Proxy_Server", server)
        if port is None:
            raise ProgrammingError(
                f"Proxy_Server is {server!r} but Proxy_Port is not set; set Proxy_Port to the "
                "port the proxy listens on (often 3128 or 8080).")
        spec = ProxySpec(server, _port("Proxy_Port", port, None), _text(get("Proxy_User")),
                         _text(get("Proxy_Password")), scheme, _text(get("Proxy_AuthToken")),
                         (get("Proxy_SSLType") or "AUTO").upper())
        _check_auth(spec)
        return spec

    # -- routing ------------------------------------------------------------------
    def route(self, url: str) -> Route:
        """The route of one URL: the origin dialer, and the forward proxy if any."""
        parts = urlsplit(url)
        spec = self._proxy_for(url)
        if spec is None:
            return Route(self._base)
        plain, tunnel, forward = self._build(spec)
        if spec.kind != "HTTP":
            return Route(plain)
        if parts.scheme == "https" or spec.ssl_type == "TUNNEL":
            return Route(tunnel)
        return Route(plain, forward)

    def _proxy_for(self, url: str) -> ProxySpec | None:
        if self._auto:
            found = _environment_proxy(url, self._defaults)
            if found is _BYPASS:
                return None
            if found is not None:
                return found
        return self._static

    def forward_dialer(self, host: str, port: int) -> Dialer:
        """The dialer of connections to a forward proxy (through the firewall, if any)."""
        with self._lock:
            for _, _, forward in self._built.values():
                if forward is not None and (forward.hop.host, forward.hop.port) == (host, port):
                    return forward.dialer
        raise OperationalError(f"No proxy {host}:{port} is configured.")  # pragma: no cover

    def _build(self, spec: ProxySpec) -> tuple[Dialer, Dialer, ForwardProxy | None]:
        with self._lock:
            built = self._built.get(spec)
            if built is not None:
                return built
            if spec.kind in ("SOCKS4", "SOCKS5"):
                socks = SocksDialer(Hop("proxy", spec.kind, spec.host, spec.port),
                                    spec.user, spec.password)
                built = (socks, socks, None)
            else:
                hop = Hop("proxy", "HTTPS" if spec.ssl_type == "ALWAYS" else "HTTP",
                          spec.host, spec.port)
                auth = ProxyAuth(spec.scheme, spec.user, spec.password, spec.token, str(hop))
                tls_wrap = self._tls_wrap if spec.ssl_type == "ALWAYS" else None
                tunnel_hop = HopDialer(hop, self._base, tls_wrap)
                tunnel: Dialer = TunnelDialer(tunnel_hop, auth)
                if tls_wrap is not None:
                    tunnel = RelayDialer(tunnel)
                forward = ForwardProxy(hop, HopDialer(hop, self._base), auth,
                                       spec.ssl_type == "ALWAYS")
                built = (self._base, tunnel, forward)
            self._built[spec] = built
            return built


def pump(src: socket.socket, dst: socket.socket) -> None:
    """Copy bytes from ``src`` to ``dst`` until either side closes, then shut both down."""
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for end in (src, dst):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


class RelayDialer:
    """Hands urllib3 a plain socket pair end, relaying to a TLS-to-proxy tunnel, so that
    TLS to the origin can run inside it (urllib3 cannot wrap an SSLSocket again)."""

    def __init__(self, inner: Dialer) -> None:
        self.inner = inner

    def connect(self, host: str, port: int, timeout: float | None) -> socket.socket:
        outer = self.inner.connect(host, port, timeout)
        outer.settimeout(None)
        mine, theirs = socket.socketpair()
        for src, dst in ((outer, theirs), (theirs, outer)):
            threading.Thread(target=pump, args=(src, dst), daemon=True,
                             name="cdata_oauth-relay").start()
        return mine


_BYPASS = ProxySpec("", 0, None, None, "NONE", None, "AUTO")


def _environment_proxy(url: str, defaults: tuple[Any, ...]) -> ProxySpec | None:
    """HTTP(S)_PROXY / NO_PROXY for this URL; ``_BYPASS`` when NO_PROXY exempts it."""

    if not getproxies_environment():
        return None
    proxies = get_environ_proxies(url)
    if not proxies:
        return _BYPASS
    chosen = select_proxy(url, proxies)
    if not chosen:
        return None
    if "://" not in chosen:
        chosen = "http://" + chosen
    parts = urlsplit(chosen)
    scheme = parts.scheme.lower()
    kinds = {"http": ("HTTP", 80), "https": ("HTTP", 443), "socks4": ("SOCKS4", 1080),
             "socks4a": ("SOCKS4", 1080), "socks5": ("SOCKS5", 1080),
             "socks5h": ("SOCKS5", 1080)}
    if scheme not in kinds or not parts.hostname:
        raise ProgrammingError(
            f"The environment proxy for {parts.scheme or 'this'} URLs is not a proxy URL "
            "like http://host:port (Proxy_Auto=TRUE reads HTTP_PROXY and HTTPS_PROXY).")
    kind, default_port = kinds[scheme]
    user, password, auth_scheme, token = defaults
    if parts.username:
        user, password = unquote(parts.username), unquote(parts.password or "")
    try:
        port = parts.port or default_port
    except ValueError:
        raise ProgrammingError("The environment proxy URL has a port that is not a number "
                               "from 1 to 65535.") from None
    spec = ProxySpec(parts.hostname, port, user, password, str(auth_scheme).upper(), token,
                     "ALWAYS" if scheme == "https" else "AUTO", kind)
    _check_auth(spec)
    return spec


def _check_auth(spec: ProxySpec) -> None:
    if spec.scheme == "NTLM":
        missing = _ntlm_missing()
        if missing is not None:
            raise missing
        if not spec.user:
            raise ProgrammingError("Proxy_AuthScheme=NTLM needs Proxy_User (DOMAIN\\user or "
                                   "user) and Proxy_Password.")
    if spec.scheme == "PROPRIETARY" and not spec.token:
        raise ProgrammingError("Proxy_AuthScheme=PROPRIETARY needs Proxy_AuthToken (the "
                               "Proxy-Authorization value to send).")
    if spec.scheme in ("BASIC", "DIGEST") and spec.password and not spec.user:
        raise ProgrammingError("Proxy_Password is set but Proxy_User is not; set both.")


def _ntlm_missing() -> NotSupportedError | None:
    """None when NTLM can be done (the pyspnego package is installed)."""

    if importlib.util.find_spec("spnego") is not None:
        return None
    return NotSupportedError(
        "Proxy_AuthScheme=NTLM needs the Python package pyspnego, which is not installed: "
        "pip install pyspnego. Or use BASIC or DIGEST, or PROPRIETARY with a "
        "Proxy-Authorization value you obtain yourself.")


def _text(value: Any) -> str | None:
    text = None if value is None else str(value).strip()
    return text or None


def _check_host(name: str, host: str) -> None:
    if "://" in host or "/" in host or any(c.isspace() for c in host) or "@" in host \
            or "\\" in host or any(ord(c) < 32 or ord(c) == 127 for c in host) \
            or not _brackets_ok(host):
        raise ProgrammingError(
            f"{name} is {mask_url(host)!r}; give only a host name or address (no scheme, "
            "path, user or spaces), and the port separately.")


def _brackets_ok(host: str) -> bool:
    """Square brackets only around a whole IPv6 address, e.g. [::1]."""
    if "[" not in host and "]" not in host:
        return True

    if not (host.startswith("[") and host.endswith("]")):
        return False
    try:
        return ipaddress.ip_address(host[1:-1]).version == 6
    except ValueError:
        return False


def _port(name: str, value: Any, default: int | None) -> int:
    if value is None:
        if default is None:
            raise ProgrammingError(f"{name} is required.")
        return default
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ProgrammingError(f"{name} is {value!r}; it must be a port number.") from None
    if not 0 < port < 65536:
        raise ProgrammingError(f"{name} is {port}; it must be a port number from 1 to 65535.")
    return port
