"""The inputs that shape HTTP (timeout, LogFile, proxy, firewall, TLS) as one hashable
value: what a connection keys its transports by, cheap to build and to import."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.redaction import mask

__all__ = ["SECRET_KEYS", "TRANSPORT_KEYS", "TransportSettings"]

TRANSPORT_KEYS = (
    "Timeout", "LogFile", "Proxy_Auto", "Proxy_Server", "Proxy_Port", "Proxy_User",
    "Proxy_Password", "Proxy_AuthScheme", "Proxy_AuthToken", "Proxy_SSLType",
    "Firewall_Type", "Firewall_Server", "Firewall_Port", "Firewall_User", "Firewall_Password",
    "SSLServerCert", "SSLClientCert", "SSLClientCertPassword",
)
SECRET_KEYS = ("Proxy_Password", "Proxy_AuthToken", "Firewall_Password",
               "SSLClientCertPassword")


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
        if seconds is None or seconds == 0:
            return None
        try:
            value = float(seconds)
        except (TypeError, ValueError):
            raise ProgrammingError(f"Timeout is {seconds!r}; it must be a number of seconds "
                                   "(0 means no limit).") from None
        if value < 0:
            raise ProgrammingError(f"Timeout is {seconds!r}; it must be 0 (no limit) or more.")
        return value

    def secrets(self) -> list[Any]:
        return [self.get(k) for k in SECRET_KEYS if self.get(k) not in (None, "")]

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={mask(v) if k in SECRET_KEYS else repr(v)}"
                          for k, v in self.values if v is not None)
        return f"TransportSettings({shown})"
