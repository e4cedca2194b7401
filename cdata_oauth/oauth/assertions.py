"""Signed JWT assertions (RFC 7523): the grant assertion of GrantType=JWT (section 2.1) and
the client assertions of ClientAuth=PRIVATE_KEY_JWT and CLIENT_SECRET_JWT (section 2.2);
and the values given as the JWT itself, ``file:PATH`` or ``env:NAME``.

PyJWT (the ``jwt`` extra) signs: it takes the ``cryptography`` key objects that the one
key loader (``cdata_oauth.keys``) returns, so a key is never re-serialised to be signed
with, and nothing here hand-writes a signature. The claims are ours: each assertion has a
fresh ``jti`` and an ``exp`` bounded by OAuthJWTValidityTime (by 3600 s for Google, by
300 s for a client assertion).
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from cdata_oauth.conversions import text_or_none
from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.keys import KeyFile, load_google_json, load_key
from cdata_oauth.lazy import optional_module

__all__ = ["CLIENT_ASSERTION_TYPE", "JWT_BEARER", "JWT_KEY", "SigningKey", "client_assertion",
           "grant_assertion", "read_value", "signing_key"]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_KEY = KeyFile("OAuthJWTCert", "OAuthJWTCertPassword")
CLIENT_ASSERTION_SECONDS = 300
"""A client assertion lives at most five minutes: it proves one request, not a session."""
GOOGLE_MAX_SECONDS = 3600
"""Google refuses assertions that live longer than an hour."""

_RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256")
_EC_ALGORITHMS = {"ES256": "secp256r1", "ES384": "secp384r1"}


class Source(Protocol):
    """What an assertion reads of a flow: its inputs, and the secrets to mask."""

    secrets: list[object]

    def get(self, name: str) -> Any: ...


def read_value(source: Source, name: str) -> str | None:
    """The value of input ``name``: the text itself, or the content of ``file:PATH`` (read
    now, as these files rotate) or of the environment variable of ``env:NAME``; the value
    read joins the secrets. None when the input is not set."""
    given = text_or_none(source.get(name))
    if given is None:
        return None
    scheme, _, rest = given.partition(":")
    if scheme.lower() == "file" and rest:
        value = _read_file(name, rest.strip())
    elif scheme.lower() == "env" and rest:
        variable = rest.strip()
        value = os.environ.get(variable, "").strip()
        if not value:
            raise ProgrammingError(
                f"{name} names the environment variable {variable}, which is not set (or "
                "empty); set it, or give the value itself or file:PATH.")
    else:
        value = given
    source.secrets.append(value)
    return value


def _read_file(name: str, location: str) -> str:
    path = Path(location).expanduser()
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ProgrammingError(
            f"{name} names the file {location!r}, which does not exist; check the path (a "
            "projected token is mounted where the platform says).") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else \
            type(exc).__name__
        raise ProgrammingError(
            f"{name} names the file {location!r}, which cannot be read ({reason}); check "
            "its permissions.") from None
    if not value:
        raise ProgrammingError(
            f"{name} names the file {location!r}, which is empty; the platform has not "
            "written the token yet, or the path is wrong.")
    return value


@dataclass(frozen=True)
class SigningKey:
    """The OAuthJWTCert key and what its file says about its use."""

    key: PrivateKeyTypes = field(repr=False)
    key_id: str | None = None
    issuer: str | None = None  # GOOGLEJSON's client_email
    token_url: str | None = None  # GOOGLEJSON's token_uri
    google: bool = False


def signing_key(source: Source) -> SigningKey:
    """The key that OAuthJWTCert names, read as OAuthJWTCertType says (a .json file is
    taken as GOOGLEJSON, any other file as PEM or PFX, whichever it is)."""
    location = text_or_none(source.get("OAuthJWTCert"))
    if location is None:
        raise ProgrammingError(
            "A signed assertion needs OAuthJWTCert: set it to the path of the private key "
            "file (PEM or PFX), or of a Google service-account JSON key with "
            "OAuthJWTCertType=GOOGLEJSON.")
    kind = text_or_none(source.get("OAuthJWTCertType"))
    kind = kind.upper() if kind else ("GOOGLEJSON" if location.lower().endswith(".json")
                                      else None)
    if kind == "GOOGLEJSON":
        account = load_google_json(location, JWT_KEY)
        source.secrets.append(account.private_key_pem)
        return SigningKey(account.key, account.private_key_id, account.client_email,
                          account.token_uri, google=True)
    password = text_or_none(source.get("OAuthJWTCertPassword"))
    wanted = {"PEMKEY_FILE": "PEM", "PFXFILE": "PFX"}.get(kind or "")
    return SigningKey(load_key(location, password, JWT_KEY, wanted).key)


def algorithm_for(key: PrivateKeyTypes, chosen: str | None) -> str:
    """OAuthJWTAlgorithm, checked against the key; by default what the key signs with."""
    if isinstance(key, rsa.RSAPrivateKey):
        if chosen is None:
            return "RS256"
        if chosen in _RSA_ALGORITHMS:
            return chosen
        raise _misfit(chosen, "an RSA key", "RS256, RS384, RS512 or PS256")
    if isinstance(key, ec.EllipticCurvePrivateKey):
        by_curve = {curve: alg for alg, curve in _EC_ALGORITHMS.items()}
        fitting = by_curve.get(key.curve.name)
        if fitting is None:
            raise ProgrammingError(
                f"OAuthJWTCert holds an EC key on {key.curve.name}; assertions are signed "
                "with P-256 (ES256) or P-384 (ES384) keys, or RSA keys.")
        if chosen in (None, fitting):
            return fitting
        raise _misfit(chosen, f"an EC key on {key.curve.name}", fitting)
    raise ProgrammingError(
        f"OAuthJWTCert holds a {type(key).__name__.removeprefix('_')} key; assertions are "
        "signed with RSA or EC (P-256, P-384) keys.")


def _misfit(chosen: str, holds: str, fits: str) -> ProgrammingError:
    return ProgrammingError(
        f"OAuthJWTAlgorithm={chosen} does not fit OAuthJWTCert, which holds {holds}; set "
        f"OAuthJWTAlgorithm to {fits}, or give a key of the kind {chosen} needs.")


def grant_assertion(source: Source, key: SigningKey, token_url: str,
                    client_id: str | None, scope: str | None) -> str:
    """RFC 7523 2.1: the assertion that is the grant (iss, sub, aud, iat, exp, jti; Google
    takes the scope among the claims)."""
    issuer = text_or_none(source.get("OAuthJWTIssuer")) or key.issuer or client_id
    if issuer is None:
        raise ProgrammingError(
            "GrantType=JWT needs an issuer for the assertion: set OAuthJWTIssuer (or "
            "OAuthClientId, which it defaults to).")
    subject = text_or_none(source.get("OAuthJWTSubject")) or (None if key.google else issuer)
    validity = _validity(source, GOOGLE_MAX_SECONDS if key.google else None)
    claims: dict[str, Any] = {
        "iss": issuer, "aud": text_or_none(source.get("OAuthJWTAudience")) or token_url}
    if subject is not None:
        claims["sub"] = subject
    if key.google and scope:
        claims["scope"] = scope
    return _sign(source, claims, validity, key.key,
                 algorithm_for(key.key, text_or_none(source.get("OAuthJWTAlgorithm"))),
                 text_or_none(source.get("OAuthJWTPublicKeyId")) or key.key_id)


def client_assertion(source: Source, method: str, client_id: str, endpoint_url: str,
                     client_secret: str | None) -> str:
    """RFC 7523 2.2: a fresh assertion that authenticates the client to one endpoint;
    PRIVATE_KEY_JWT signs with OAuthJWTCert, CLIENT_SECRET_JWT with the client secret."""
    claims = {"iss": client_id, "sub": client_id,
              "aud": text_or_none(source.get("OAuthJWTAudience")) or endpoint_url}
    validity = min(_validity(source, None), CLIENT_ASSERTION_SECONDS)
    if method == "CLIENT_SECRET_JWT":
        if not client_secret:
            raise ProgrammingError(
                "OtherOptions ClientAuth=CLIENT_SECRET_JWT signs with OAuthClientSecret; "
                "set it.")
        return _sign(source, claims, validity, client_secret, "HS256", None)
    key = signing_key(source)
    return _sign(source, claims, validity, key.key,
                 algorithm_for(key.key, text_or_none(source.get("OAuthJWTAlgorithm"))),
                 text_or_none(source.get("OAuthJWTPublicKeyId")) or key.key_id)


def _validity(source: Source, cap: int | None) -> int:
    seconds = source.get("OAuthJWTValidityTime")
    seconds = 3600 if seconds in (None, "") else int(seconds)
    if seconds <= 0:
        raise ProgrammingError(
            f"OAuthJWTValidityTime is {seconds}; give the assertion's lifetime in seconds "
            "(e.g. 3600).")
    return min(seconds, cap) if cap else seconds


def _sign(source: Source, claims: dict[str, Any], validity: int, key: Any, algorithm: str,
          key_id: str | None) -> str:
    """The signed compact JWT, with iat, exp and a fresh jti; it joins the secrets."""
    jwt = _pyjwt()
    issued = int(time.time())
    payload = {**claims, "iat": issued, "exp": issued + validity,
               "jti": secrets.token_urlsafe(24)}
    try:
        token = str(jwt.encode(payload, key, algorithm=algorithm,
                               headers={"kid": key_id} if key_id else None))
    except Exception as exc:  # PyJWT refuses a key (too short, wrong kind)
        raise ProgrammingError(
            f"The assertion cannot be signed with {algorithm}: {type(exc).__name__}; check "
            "OAuthJWTCert and OAuthJWTAlgorithm.") from None
    source.secrets.append(token)
    return token


def _pyjwt() -> Any:
    module = optional_module("jwt")
    if module is None:
        raise ProgrammingError(
            "Signed assertions need PyJWT, which is not installed; install the jwt extra: "
            "pip install 'cdata_oauth[jwt]'.")
    return module
