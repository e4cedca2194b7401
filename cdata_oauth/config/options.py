"""``OtherOptions``: advanced switches given as ``Name=Value;...``.

Every option lives in one registry with its documentation, so an unknown or misspelt
name is rejected with a suggestion instead of being silently ignored. Other flows (OAuth
1.0a) add their own options with ``register_option``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from cdata_oauth.config.properties import PropertySpec, parse_connection_string
from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.names import did_you_mean

__all__ = ["OPTIONS", "Options", "parse_other_options", "register_option"]

_lock = threading.Lock()
_registry: dict[str, PropertySpec] = {}

#: The registry, read-only: lower-case name -> spec (name, description, type, default).
OPTIONS: Mapping[str, PropertySpec] = _registry


def register_option(spec: PropertySpec) -> None:
    """Add one option to the registry (idempotent for an identical spec)."""
    with _lock:
        existing = _registry.get(spec.name.lower())
        if existing is not None and existing != spec:
            raise ValueError(f"OtherOptions option {spec.name} is already registered.")
        _registry[spec.name.lower()] = spec


for _spec in (
    PropertySpec(
        "ClientAuth",
        "How the client authenticates to the token endpoint (OAuth 2.0). BASIC: client id "
        "and secret in an HTTP Basic Authorization header (the default when a client secret "
        "is set). POST: client_id and client_secret in the request body. NONE: a public "
        "client; only client_id is sent, in the body (the default without a secret). "
        "PRIVATE_KEY_JWT: a client assertion (RFC 7523 2.2) signed with the OAuthJWTCert "
        "key. CLIENT_SECRET_JWT: a client assertion signed with OAuthClientSecret (HS256). "
        "With OAuthClientAssertion set, that assertion is sent (the default then).",
        kind="enum", default=None,
        allowed=("BASIC", "POST", "NONE", "PRIVATE_KEY_JWT", "CLIENT_SECRET_JWT")),
    PropertySpec(
        "PKCE",
        "Proof Key for Code Exchange (RFC 7636) for the CODE grant (OAuth 2.0). S256: a "
        "SHA-256 challenge (the default). PLAIN: the verifier itself as the challenge, for "
        "providers without S256. OFF: no PKCE.",
        kind="enum", default="S256", allowed=("S256", "PLAIN", "OFF")),
    PropertySpec(
        "AllowInsecureHTTP",
        "TRUE allows plain http:// provider URLs on hosts other than loopback ones (e.g. a "
        "test server on the local network). By default http is allowed only to localhost, "
        "127.0.0.0/8 and ::1; every other URL must be https.",
        kind="bool", default=False),
    PropertySpec(
        "Realm",
        "OAuth 1.0a: the realm put in the Authorization header of each signed request "
        "(not signed, RFC 5849 section 3.5.1), for providers that ask for one, e.g. an "
        "account id.",
        kind="string", default=None),
    PropertySpec(
        "SendOAuthVersion",
        "OAuth 1.0a: TRUE (the default) sends oauth_version=1.0 in each signed request; "
        "FALSE leaves it out (it is optional in RFC 5849) for providers that refuse it.",
        kind="bool", default=True),
):
    register_option(_spec)


class Options(Mapping[str, Any]):
    """Parsed options, by case-insensitive name; unset options give their default."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._values = {k.lower(): v for k, v in (values or {}).items()}

    def __getitem__(self, name: str) -> Any:
        key = name.lower()
        if key in self._values:
            return self._values[key]
        spec = _registry.get(key)
        if spec is None:
            raise KeyError(name)
        return spec.default

    def __iter__(self) -> Iterator[str]:
        return iter(_registry[key].name for key in self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __repr__(self) -> str:
        return "Options(" + ", ".join(f"{k}={self[k]!r}" for k in self) + ")"


_NO_OPTIONS = Options()


@lru_cache(maxsize=64)
def parse_other_options(text: str | None) -> Options:
    """Parse and validate an ``OtherOptions`` string; ProgrammingError names the problem.
    (Options never change, and an unset option reads the registry when asked, so one parse
    serves every statement with the same text, also after register_option.)"""
    if not text or not str(text).strip():
        return _NO_OPTIONS
    try:
        pairs = parse_connection_string(str(text))
    except ProgrammingError as exc:
        raise ProgrammingError(
            "OtherOptions is malformed: " + str(exc).replace("connection string", "text")
            .removeprefix("Malformed text: ")) from None
    values: dict[str, Any] = {}
    for name, value in pairs:
        spec = _registry.get(name.lower())
        if spec is None:
            raise ProgrammingError(_unknown(name))
        if spec.name.lower() in values:
            raise ProgrammingError(f"OtherOptions gives {spec.name} twice.")
        values[spec.name.lower()] = spec.convert(value, label="OtherOptions option {name}")
    return Options(values)


def _unknown(name: str) -> str:
    known = sorted(spec.name for spec in _registry.values())
    hint = did_you_mean(name, (spec.name for spec in _registry.values()), most=3)
    return (f"Unknown OtherOptions option {name!r}.{hint} Known options: "
            f"{', '.join(known)}.")
