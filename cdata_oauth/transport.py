"""HTTP for the operations: one ``requests.Session`` per transport settings, and every
failure of the network turned into an ``OperationalError`` that names the host.

The flows know nothing of proxies or TLS; they call ``Transport.request``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .exceptions import OperationalError

if TYPE_CHECKING:
    import requests

__all__ = ["TRANSPORT_KEYS", "Transport", "TransportSettings"]

TRANSPORT_KEYS = (
    "Timeout", "LogFile", "Proxy_Auto", "Proxy_Server", "Proxy_Port", "Proxy_User",
    "Proxy_Password", "Proxy_AuthScheme", "Proxy_AuthToken", "Proxy_SSLType",
    "Firewall_Type", "Firewall_Server", "Firewall_Port", "Firewall_User", "Firewall_Password",
    "SSLServerCert", "SSLClientCert", "SSLClientCertPassword",
)


@dataclass(frozen=True)
class TransportSettings:
    """The inputs that shape HTTP, as one hashable value (a key for session reuse)."""

    values: tuple[tuple[str, Any], ...]

    @classmethod
    def from_inputs(cls, inputs: Mapping[str, Any]) -> TransportSettings:
        return cls(tuple((key, inputs.get(key)) for key in TRANSPORT_KEYS))

    def get(self, key: str) -> Any:
        return dict(self.values).get(key)

    @property
    def timeout(self) -> float | None:
        seconds = self.get("Timeout")
        return None if seconds in (None, 0) else float(seconds)


class Transport:
    """A configured session; ``request`` raises only PEP 249 exceptions."""

    def __init__(self, settings: TransportSettings) -> None:
        import requests

        self.settings = settings
        self.session = requests.Session()
        self.session.trust_env = bool(settings.get("Proxy_Auto"))
        self.session.headers["User-Agent"] = "cdata_oauth"

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send one request; network failures become OperationalError naming the host."""
        import requests

        kwargs.setdefault("timeout", self.settings.timeout)
        kwargs.setdefault("allow_redirects", False)
        host = urlsplit(url).hostname or url
        try:
            return self.session.request(method, url, **kwargs)
        except requests.exceptions.Timeout as exc:
            raise OperationalError(
                f"{method} to {host} timed out after {self.settings.timeout:g} seconds "
                "(Timeout); raise Timeout or check that the server answers.") from exc
        except requests.exceptions.ConnectionError as exc:
            raise OperationalError(
                f"Cannot connect to {host}: {_reason(exc)}. Check the URL, the network and "
                "any proxy settings.") from exc
        except requests.exceptions.RequestException as exc:
            raise OperationalError(f"{method} to {host} failed: {_reason(exc)}.") from exc

    def close(self) -> None:
        self.session.close()


def _reason(exc: BaseException) -> str:
    """The innermost cause's words, without the URL (which may carry secrets)."""
    inner: BaseException = exc
    while inner.__cause__ is not None or inner.__context__ is not None:
        nxt = inner.__cause__ or inner.__context__
        if nxt is None or nxt is inner:
            break
        inner = nxt
    text = str(getattr(inner, "reason", None) or inner)
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "the host name cannot be resolved"
    return type(inner).__name__
