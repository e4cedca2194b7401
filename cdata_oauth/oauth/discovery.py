"""Authorization server metadata from one issuer URL: OpenID Connect Discovery 1.0
(``<issuer>/.well-known/openid-configuration``), else RFC 8414
(``/.well-known/oauth-authorization-server``, inserted before the issuer's path).

The metadata is fetched through the statement's transport (proxies, SOCKS, TLS, LogFile),
once per process per issuer: a lock per issuer makes the fetch single flight, so sixteen
threads starting together send one request. It is kept for the ``Cache-Control: max-age``
the server gave (an hour when it gave none); a failed fetch leaves nothing behind.

Metadata never overrides the user: an endpoint URL given explicitly always wins (see
``Flow.url``), and every discovered one passes the same URL policy as a typed one.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from cdata_oauth.exceptions import Error, OperationalError, ProgrammingError
from cdata_oauth.oauth.urls import is_loopback_host
from cdata_oauth.redaction import mask_url

__all__ = ["DEFAULT_MAX_AGE", "ENDPOINTS", "ServerMetadata", "clear_cache", "discover",
           "well_known_urls"]

DEFAULT_MAX_AGE = 3600.0
"""Seconds metadata is kept when the server sent no ``Cache-Control: max-age``."""

ENDPOINTS: Mapping[str, str] = {
    "OAuthAuthorizationURL": "authorization_endpoint",
    "OAuthAccessTokenURL": "token_endpoint",
    "OAuthDeviceAuthorizationURL": "device_authorization_endpoint",
    "OAuthRevocationURL": "revocation_endpoint",
    "OAuthIntrospectionURL": "introspection_endpoint",
}
"""Property -> the metadata field that supplies it when the property is not set."""

OIDC_PATH = "/.well-known/openid-configuration"
RFC8414_PATH = "/.well-known/oauth-authorization-server"


class Answer(Protocol):
    """What discovery reads of an HTTP answer (a ``requests.Response`` is one)."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


Fetch = Callable[[str], Answer]
"""GET one URL through the statement's transport."""


@dataclass(frozen=True)
class ServerMetadata:
    """One server's metadata: its fields in the order the server sent them."""

    issuer: str
    fields: Mapping[str, Any]
    url: str
    """Where it was read from."""

    def get(self, field: str) -> Any:
        return self.fields.get(field)

    def endpoint(self, prop: str) -> str | None:
        """The URL the metadata gives for a property of ``ENDPOINTS``, else None."""
        value = self.fields.get(ENDPOINTS[prop])
        return value if isinstance(value, str) and value.strip() else None

    @property
    def iss_parameter_supported(self) -> bool:
        """RFC 9207: the server puts ``iss`` in every authorization response."""
        return self.fields.get("authorization_response_iss_parameter_supported") is True

    def rows(self) -> list[dict[str, Any]]:
        """Name/Value rows, in the server's order: strings as they are, other JSON values
        as compact JSON."""
        return [{"Name": name, "Value": value if isinstance(value, str)
                 else json.dumps(value, separators=(",", ":"))}
                for name, value in self.fields.items()]


def check_issuer(issuer: str) -> str:
    """An issuer is an absolute https URL (plain http only to a loopback host) without
    query or fragment (RFC 8414 section 2); else ProgrammingError."""
    from_user = issuer.strip()
    try:
        parts = urlsplit(from_user)
        parts.port  # noqa: B018  (raises for a port out of range)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname \
            or re.search(r"[\s\\]", from_user):
        raise ProgrammingError(
            f"OAuthIssuer {mask_url(from_user)!r} is not an absolute https URL; give the "
            "authorization server's issuer, e.g. https://login.example.com (its metadata is "
            "read from <issuer>/.well-known/openid-configuration).")
    if parts.scheme.lower() == "http" and not is_loopback_host(parts.hostname):
        raise ProgrammingError(
            f"OAuthIssuer uses plain http to {parts.hostname}: an issuer must be https "
            "(plain http is allowed only to localhost and loopback addresses).")
    if parts.query or parts.fragment:
        raise ProgrammingError(
            f"OAuthIssuer {mask_url(from_user)!r} has a query or fragment, which an issuer "
            "may not have (RFC 8414); give the issuer URL alone.")
    return from_user


def well_known_urls(issuer: str) -> tuple[str, str]:
    """(OpenID Connect URL, RFC 8414 URL) of an issuer. OpenID Connect appends its path
    to the issuer's; RFC 8414 section 3.1 inserts its own between host and path."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    oidc = urlunsplit((parts.scheme, parts.netloc, path + OIDC_PATH, "", ""))
    rfc8414 = urlunsplit((parts.scheme, parts.netloc, RFC8414_PATH + path, "", ""))
    return oidc, rfc8414


@dataclass
class _Entry:
    lock: threading.Lock
    metadata: ServerMetadata | None = None
    expires: float = 0.0


_entries: dict[str, _Entry] = {}
_guard = threading.Lock()
_MAX_ENTRIES = 256


def clear_cache() -> None:
    """Forget every issuer's metadata (tests; a process that knows a server changed)."""
    with _guard:
        _entries.clear()


def discover(issuer: str, fetch: Fetch) -> ServerMetadata:
    """The metadata of ``issuer``: the cached copy while it is fresh, else fetched once
    (other threads asking for the same issuer meanwhile wait and share the answer)."""
    issuer = check_issuer(issuer)
    with _guard:
        entry = _entries.get(issuer)
        if entry is None:
            if len(_entries) >= _MAX_ENTRIES:
                _entries.clear()
            entry = _entries[issuer] = _Entry(threading.Lock())
    with entry.lock:
        if entry.metadata is not None and time.monotonic() < entry.expires:
            return entry.metadata
        entry.metadata = None
        metadata, max_age = _fetch(issuer, fetch)
        entry.metadata, entry.expires = metadata, time.monotonic() + max_age
        return metadata


def _fetch(issuer: str, fetch: Fetch) -> tuple[ServerMetadata, float]:
    tried: list[str] = []
    for url in dict.fromkeys(well_known_urls(issuer)):
        answer = fetch(url)
        if 200 <= answer.status_code < 300:
            return _parse(issuer, url, answer), _max_age(answer.headers)
        tried.append(f"{url} (HTTP {answer.status_code})")
    raise OperationalError(
        f"No server metadata for the issuer {issuer}: tried {' and '.join(tried)}. Check "
        "OAuthIssuer, or set the endpoint URLs (OAuthAuthorizationURL, OAuthAccessTokenURL, "
        "...) yourself.")


def _parse(issuer: str, url: str, answer: Answer) -> ServerMetadata:
    try:
        fields = json.loads(answer.text)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        raise OperationalError(
            f"The server metadata of the issuer {issuer} at {url} is not a JSON object; "
            "check OAuthIssuer (it must be the server's issuer URL).")
    given = fields.get("issuer")
    if not isinstance(given, str) or not given:
        raise OperationalError(
            f"The server metadata of the issuer {issuer} at {url} lacks the field issuer; "
            "it cannot be trusted. Set the endpoint URLs yourself.")
    if given != issuer:
        raise OperationalError(
            f"The server metadata at {url} names the issuer {given!r}, not OAuthIssuer "
            f"{issuer!r}; they must be equal (RFC 8414 section 3.3). Set OAuthIssuer to the "
            "server's exact issuer.")
    return ServerMetadata(issuer, fields, url)


_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.I)
_NO_STORE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|=|$)", re.I)


def _max_age(headers: Mapping[str, str]) -> float:
    """Seconds to keep the answer: Cache-Control's max-age, 0 for no-store or no-cache,
    else DEFAULT_MAX_AGE."""
    control = next((str(v) for k, v in headers.items() if k.lower() == "cache-control"), "")
    if _NO_STORE.search(control):
        return 0.0
    found = _MAX_AGE.search(control)
    return float(found.group(1)) if found else DEFAULT_MAX_AGE


def endpoint_error(prop: str, metadata: ServerMetadata, problem: Error) -> OperationalError:
    """A discovered endpoint that the URL policy refuses: the server's fault, not the
    user's, so an OperationalError that says where the URL came from."""
    return OperationalError(
        f"The server metadata of {metadata.issuer} gives {ENDPOINTS[prop]} that cannot be "
        f"used: {problem} Set {prop} yourself to override it.")


def missing_endpoint(prop: str, metadata: ServerMetadata, why: str) -> OperationalError:
    return OperationalError(
        f"The server metadata of the issuer {metadata.issuer} lacks the field "
        f"{ENDPOINTS[prop]}, needed {why}; set {prop} yourself.")
