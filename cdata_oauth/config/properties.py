"""Connection properties: the registry of known names, the connection-string reader,
and the frozen, validated property set a connection carries.

Names are case-insensitive everywhere; the canonical spelling is the one in the registry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from cdata_oauth.conversions import BOOL_WORDS, PLAIN_TYPES, SCALAR_NAMES, parse_bool, plain_scalar
from cdata_oauth.exceptions import DataError, ProgrammingError
from cdata_oauth.lazy import resolve
from cdata_oauth.names import did_you_mean
from cdata_oauth.redaction import is_secret_name, mask, mask_url

__all__ = [
    "REGISTRY",
    "ConnectionProperties",
    "DefaultingMapping",
    "PropertySpec",
    "lookup_property",
    "parse_connection_string",
]

WILDCARD_PREFIXES = ("OAuthParam:",)
LOAD_PROFILE = "cdata_oauth.config.profiles:load_profile"
"""Reads a profile (and the TOML reader): loaded only by a connection that names one."""


class PropertySpec(NamedTuple):
    """One known property: how it is spelled, typed, defaulted and shown.

    A named tuple rather than a dataclass: ``cdata-oauth token`` reads the registry on
    every call, and importing ``dataclasses`` (with ``inspect``) would double its cost."""

    name: str
    description: str
    kind: str = "string"  # string | int | bool | enum
    default: Any = None
    allowed: tuple[str, ...] = ()
    secret: bool = False

    def convert(self, value: Any, label: str = "Connection property {name}") -> Any:
        """The value in this property's type; ProgrammingError names the property."""
        if value is None:
            return None
        if type(value) not in PLAIN_TYPES:
            value = self._plain(value, label)
        if self.kind == "int":
            if isinstance(value, bool):
                raise _bad_value(self, value, "a whole number", label)
            if isinstance(value, int):
                return value
            try:
                return int(str(value).strip())
            except ValueError:
                raise _bad_value(self, value, "a whole number", label) from None
        if self.kind == "bool":
            flag = parse_bool(value)
            if flag is None:
                raise _bad_value(self, value, BOOL_WORDS + " (any case)", label)
            return flag
        text = str(value)
        if self.kind == "enum":
            folded = text.strip().upper()
            for allowed in self.allowed:
                if allowed.upper() == folded:
                    return allowed
            raise _bad_value(self, value, "one of " + ", ".join(self.allowed), label)
        return text

    def _plain(self, value: Any, label: str) -> Any:
        """A bytes, Decimal or subclass value made plain; a list, dict or object refused
        (it would reach the provider as its repr)."""
        try:
            return plain_scalar(value)
        except UnicodeDecodeError:
            raise DataError(f"{label.format(name=self.name)} is bytes that are not UTF-8 "
                            "text; pass a str.") from None
        except TypeError:
            raise ProgrammingError(
                f"{label.format(name=self.name)} is of type {type(value).__name__!r}; pass "
                f"one of {SCALAR_NAMES}.") from None


def _bad_value(spec: PropertySpec, value: Any, wanted: str, label: str) -> ProgrammingError:
    shown = mask(value) if spec.secret else repr(value)
    return ProgrammingError(f"{label.format(name=spec.name)} is {shown}; it must be {wanted}.")


def _p(name: str, description: str, **kw: Any) -> PropertySpec:
    kw.setdefault("secret", is_secret_name(name))
    return PropertySpec(name, description, **kw)


_SPECS = (
    # OAuth: what to run
    _p("OAuthVersion", "The OAuth version: 1.0 or 2.0.", kind="enum", default="1.0",
       allowed=("1.0", "2.0")),
    _p("AuthMode", "APP opens a browser and listens on CallbackURL; WEB takes a Verifier.",
       kind="enum", default="APP", allowed=("APP", "WEB")),
    _p("GrantType", "OAuth 2.0 grant: CODE, PASSWORD, CLIENT, REFRESH, DEVICE (RFC 8628), JWT "
       "(a signed assertion, RFC 7523) or TOKENEXCHANGE (RFC 8693).", kind="enum",
       default="CODE",
       allowed=("CODE", "PASSWORD", "CLIENT", "REFRESH", "DEVICE", "JWT", "TOKENEXCHANGE")),
    _p("OAuthClientId", "The client id (consumer key) of the registered app."),
    _p("OAuthClientSecret", "The client secret (consumer secret) of the registered app."),
    _p("OAuthRequestTokenURL", "Where the request token is obtained (OAuth 1.0)."),
    _p("OAuthAuthorizationURL", "Where the user logs in and grants access."),
    _p("OAuthAccessTokenURL", "Where the access token is requested."),
    _p("OAuthRefreshTokenURL", "Where refresh requests go, when not OAuthAccessTokenURL."),
    _p("OAuthIssuer", "The authorization server's issuer URL (OAuth 2.0): its metadata "
       "(/.well-known/openid-configuration, else RFC 8414) supplies every endpoint URL "
       "not set explicitly, and authorization responses must name this issuer (RFC 9207)."),
    _p("OAuthRevocationURL", "Where RevokeOAuthToken sends tokens to revoke (RFC 7009)."),
    _p("OAuthIntrospectionURL", "Where IntrospectOAuthToken asks about a token (RFC 7662)."),
    _p("OAuthDeviceAuthorizationURL", "The device authorization endpoint (RFC 8628), where "
       "GrantType=DEVICE asks for a device code and user code."),
    _p("CallbackURL", "The redirect URL registered with the app."),
    _p("Scope", "Space-separated scopes to request."),
    _p("OAuthAccessToken", "The access token (OAuth 1.0: the request token)."),
    _p("OAuthAccessTokenSecret", "The token secret (OAuth 1.0)."),
    _p("OAuthRefreshToken", "The refresh token used to obtain a new access token."),
    _p("Verifier", "The code (OAuth 2.0) or oauth_verifier (OAuth 1.0), or the callback URL."),
    _p("State", "The state value the authorization URL carried (WEB mode, second step)."),
    _p("PKCEVerifier", "The PKCE code verifier from GetOAuthAuthorizationURL (WEB mode)."),
    _p("User", "The resource owner's user name (PASSWORD grant)."),
    _p("Password", "The resource owner's password (PASSWORD grant)."),
    _p("SignMethod", "OAuth 1.0 signature method.", kind="enum", default="HMAC-SHA1",
       allowed=("HMAC-SHA1", "HMAC-SHA256", "PLAINTEXT", "RSA-SHA1")),
    _p("Cert", "Path of the PFX file whose private key signs RSA-SHA1 requests (OAuth 1.0)."),
    _p("CertPassword", "Password of the PFX file named by Cert."),
    # Service accounts: signed assertions (RFC 7523) and token exchange (RFC 8693)
    _p("OAuthJWTCert", "Path of the key file that signs JWT assertions (GrantType=JWT, "
       "ClientAuth=PRIVATE_KEY_JWT)."),
    _p("OAuthJWTCertType", "What OAuthJWTCert holds: PEMKEY_FILE (a PEM private key), "
       "PFXFILE (PKCS#12) or GOOGLEJSON (a Google service-account key file); by default "
       "GOOGLEJSON for a .json file, else PEM or PFX as the file shows.", kind="enum",
       allowed=("PEMKEY_FILE", "PFXFILE", "GOOGLEJSON")),
    _p("OAuthJWTCertPassword", "Password of an encrypted OAuthJWTCert."),
    _p("OAuthJWTIssuer", "The iss claim of the assertion; by default OAuthClientId (the "
       "client_email for GOOGLEJSON)."),
    _p("OAuthJWTSubject", "The sub claim: the user the service acts for; by default the "
       "issuer (none for GOOGLEJSON)."),
    _p("OAuthJWTAudience", "The aud claim; by default the token URL."),
    _p("OAuthJWTValidityTime", "Seconds the assertion is valid (at most 3600 for "
       "GOOGLEJSON; client assertions at most 300).", kind="int", default=3600),
    _p("OAuthJWTAlgorithm", "The signing algorithm: RS256 (the default for RSA keys), "
       "RS384, RS512, PS256, ES256 or ES384 (the default for EC keys by curve).",
       kind="enum", allowed=("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")),
    _p("OAuthJWTPublicKeyId", "The kid header of the assertion; by default the key file's "
       "own id (GOOGLEJSON's private_key_id)."),
    _p("OAuthClientAssertion", "A JWT issued by someone else (e.g. a workload identity "
       "token) sent as client_assertion instead of a secret: the JWT, file:PATH (read "
       "afresh for each request) or env:NAME."),
    _p("SubjectToken", "TOKENEXCHANGE: the token to exchange: the token, file:PATH or "
       "env:NAME."),
    _p("SubjectTokenType", "TOKENEXCHANGE: the type of SubjectToken.",
       default="urn:ietf:params:oauth:token-type:jwt"),
    _p("ActorToken", "TOKENEXCHANGE: a token of the party acting for the subject: the "
       "token, file:PATH or env:NAME."),
    _p("ActorTokenType", "TOKENEXCHANGE: the type of ActorToken (needed with it)."),
    _p("RequestedTokenType", "TOKENEXCHANGE: the type of token to issue."),
    _p("Audience", "TOKENEXCHANGE: where the issued token will be used (logical name)."),
    _p("Resource", "TOKENEXCHANGE: where the issued token will be used (URI)."),
    _p("OtherOptions", "Advanced options as Name=Value;... (see the README)."),
    _p("PostData", "A request body sent verbatim instead of the built one."),
    # Transport
    _p("Timeout", "Seconds each request may take; 0 means no limit.", kind="int", default=60),
    _p("LogFile", "A file to which each request and response is appended, secrets masked."),
    _p("Proxy_Auto", "Take the proxy from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY).",
       kind="bool", default=False),
    _p("Proxy_Server", "Host name or address of the HTTP proxy."),
    _p("Proxy_Port", "Port of the HTTP proxy.", kind="int"),
    _p("Proxy_User", "User name for the HTTP proxy."),
    _p("Proxy_Password", "Password for the HTTP proxy."),
    _p("Proxy_AuthScheme", "How to authenticate to the proxy.", kind="enum", default="BASIC",
       allowed=("BASIC", "DIGEST", "PROPRIETARY", "NONE", "NTLM")),
    _p("Proxy_AuthToken", "The Proxy-Authorization value for Proxy_AuthScheme=PROPRIETARY.",
       secret=True),
    _p("Proxy_SSLType", "How TLS is used with the proxy.", kind="enum", default="AUTO",
       allowed=("AUTO", "ALWAYS", "NEVER", "TUNNEL")),
    _p("Firewall_Type", "A firewall to pass through.", kind="enum", default="NONE",
       allowed=("NONE", "TUNNEL", "SOCKS4", "SOCKS5")),
    _p("Firewall_Server", "Host name or address of the firewall."),
    _p("Firewall_Port", "Port of the firewall.", kind="int"),
    _p("Firewall_User", "User name for the firewall."),
    _p("Firewall_Password", "Password for the firewall."),
    _p("SSLServerCert", "PEM file of certificates to trust, or * to accept any."),
    _p("SSLClientCert", "Client certificate (PEM or PKCS#12) for mutual TLS."),
    _p("SSLClientCertPassword", "Password of SSLClientCert."),
    # Catalog
    _p("Location", "A folder of your own API Script files (*.rsb, *.api)."),
    # Token lifecycle
    _p("InitiateOAuth", "OFF, GETANDREFRESH or REFRESH: how the connection keeps a token.",
       kind="enum", default="OFF", allowed=("OFF", "GETANDREFRESH", "REFRESH")),
    _p("OAuthSettingsLocation", "Where tokens are stored: a file path, memory://<id>, "
       "redis://[user:password@]host:port/db or postgresql://user:password@host:port/db "
       "(optional ?key=NAME; PostgreSQL also table=NAME)."),
    _p("OAuthSettingsEncryptionKey", "Encrypts every stored token entry (file, Redis, "
       "PostgreSQL) with AES-GCM: a passphrase, env:NAME or file:PATH.", secret=True),
    _p("OAuthExpiresIn", "Lifetime in seconds of the given access token.", kind="int"),
    _p("OAuthTokenTimestamp", "When the given access token was issued (Unix ms).", kind="int"),
    _p("OAuthVerifier", "A verifier exchanged once for tokens on a headless machine."),
    # Profiles
    _p("Profile", "A table [NAME] of the profiles file ($CDATA_OAUTH_PROFILES, else "
       "profiles.toml in the config folder) whose properties this connection takes; "
       "properties given explicitly win."),
)

REGISTRY: Mapping[str, PropertySpec] = {spec.name.lower(): spec for spec in _SPECS}


def lookup_property(name: str) -> PropertySpec:
    """The spec of a property, by any spelling; wildcard names get an ad hoc spec."""
    key = name.strip().lower()
    spec = REGISTRY.get(key)
    if spec is not None:
        return spec
    for prefix in WILDCARD_PREFIXES:
        if key.startswith(prefix.lower()) and len(key) > len(prefix):
            field = name.strip()[len(prefix):]
            return PropertySpec(prefix + field, "An extra OAuth parameter.",
                                secret=is_secret_name(field))
    hint = did_you_mean(key, (spec.name for spec in REGISTRY.values()), most=3)
    raise ProgrammingError(f"Unknown connection property {name.strip()!r}.{hint} Correct its "
                           "spelling or remove it; names are case-insensitive.")


def parse_connection_string(text: str) -> list[tuple[str, str]]:
    """Split ``Name=Value;...`` into pairs, as the commercial product's connection string.

    Values may be quoted with ' or " to hold ; and =; a doubled quote inside is literal.
    """
    pairs: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and (text[i].isspace() or text[i] == ";"):
            i += 1
        if i >= n:
            break
        eq = text.find("=", i)
        semi = text.find(";", i)
        if eq < 0 or (0 <= semi < eq):
            end = semi if semi >= 0 else n
            raise ProgrammingError(
                f"Malformed connection string: {text[i:end].strip()!r} has no '='; "
                "write Name=Value pairs separated by ';'.")
        name = text[i:eq].strip()
        if not name:
            raise ProgrammingError(
                f"Malformed connection string: a value at position {eq} has no property name; "
                "write Name=Value.")
        i = eq + 1
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] in "'\"":
            quote = text[i]
            i += 1
            chars: list[str] = []
            while True:
                if i >= n:
                    raise ProgrammingError(
                        f"Malformed connection string: the value of {name} opens a {quote} "
                        "quote that is never closed; close it, and double any quote inside "
                        "the value.")
                if text[i] == quote:
                    if i + 1 < n and text[i + 1] == quote:
                        chars.append(quote)
                        i += 2
                        continue
                    i += 1
                    break
                chars.append(text[i])
                i += 1
            value = "".join(chars)
            while i < n and text[i].isspace():
                i += 1
            if i < n and text[i] != ";":
                raise ProgrammingError(
                    f"Malformed connection string: unexpected text after the quoted value "
                    f"of {name}; end it with ';'.")
        else:
            end = text.find(";", i)
            end = n if end < 0 else end
            value = text[i:end].strip()
            i = end
        pairs.append((name, value))
    return pairs


class DefaultingMapping(Mapping[str, Any]):
    """Values by case-insensitive name, listed under their canonical spelling; a known
    property nobody set reads as its registry default. Shared by the connection's
    properties and a statement's bound inputs."""

    __slots__ = ("_values",)
    _values: dict[str, tuple[str, Any]]  # folded name -> (canonical name, value)

    def __getitem__(self, name: str) -> Any:
        key = name.lower()
        if key in self._values:
            return self._values[key][1]
        spec = REGISTRY.get(key)
        if spec is not None:
            return spec.default
        raise KeyError(name)

    def get(self, name: str, default: Any = None) -> Any:
        """As Mapping.get, in one step: operations call it many times per statement."""
        key = name.lower()
        entry = self._values.get(key)
        if entry is not None:
            return entry[1]
        spec = REGISTRY.get(key)
        return spec.default if spec is not None else default

    def __iter__(self) -> Iterator[str]:
        return (canonical for canonical, _ in self._values.values())

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values


class ConnectionProperties(DefaultingMapping):
    """A frozen, validated, case-insensitive set of properties.

    Only properties that were given are stored; ``get`` falls back to registry defaults
    and ``explicit`` tells the two apart (binding needs that: a given property outranks
    a script's ``set``, a default does not).
    """

    __slots__ = ()

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._values: dict[str, tuple[str, Any]] = {}
        for name, value in (values or {}).items():
            spec = lookup_property(name)
            self._values[spec.name.lower()] = (spec.name, spec.convert(value))

    @classmethod
    def from_sources(cls, connection_string: str | None = None,
                     **kwargs: Any) -> ConnectionProperties:
        """Merge a connection string and keyword arguments (keywords win), then the
        properties of the ``Profile`` they name, which both outrank."""
        merged: dict[str, Any] = {}
        if connection_string:
            if not isinstance(connection_string, str):
                raise ProgrammingError(
                    "connect() takes a connection string such as 'OAuthClientId=abc;...' "
                    f"as its first argument, not {type(connection_string).__name__}.")
            for name, value in parse_connection_string(connection_string):
                key = lookup_property(name).name.lower()
                if key in merged:
                    raise ProgrammingError(
                        f"Connection property {lookup_property(name).name} is given twice "
                        "in the connection string; give it once.")
                merged[key] = value
        for name, value in kwargs.items():
            merged[lookup_property(name).name.lower()] = value
        profile = merged.get("profile")
        if profile not in (None, ""):
            for key, value in resolve(LOAD_PROFILE)(str(profile)).items():
                merged.setdefault(key, value)  # explicit properties win over the profile
        return cls(merged)

    def explicit(self, name: str) -> bool:
        """True when the user gave this property (as opposed to its default)."""
        return name.lower() in self._values

    def replace(self, **changes: Any) -> ConnectionProperties:
        """A copy with some properties changed (None removes one)."""
        values = {canonical: value for canonical, value in self._values.values()}
        for name, value in changes.items():
            canonical = lookup_property(name).name
            values = {k: v for k, v in values.items() if k.lower() != canonical.lower()}
            if value is not None:
                values[canonical] = value
        return ConnectionProperties(values)

    def secrets(self) -> list[Any]:
        """The values of every secret property given, and the password of any URL given
        (an OAuthSettingsLocation of redis:// or postgresql://): what must never be shown."""
        found = [value for canonical, value in self._values.values()
                 if lookup_property(canonical).secret and value not in (None, "")]
        for _, value in self._values.values():
            if isinstance(value, str) and "://" in value and "@" in value:
                password = _url_password(value)
                if password:
                    found.append(password)
        return found

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{canonical}={mask(value) if lookup_property(canonical).secret else _shown(value)}"
            for canonical, value in self._values.values())
        return f"ConnectionProperties({shown})"


def _shown(value: Any) -> str:
    """A value as a repr shows it: a URL with its user info masked."""
    return repr(mask_url(value)) if isinstance(value, str) and "://" in value else repr(value)


def _url_password(url: str) -> str | None:
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return unquote(password) if password else None
