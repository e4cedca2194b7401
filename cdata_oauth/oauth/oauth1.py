"""The OAuth 1.0a flow (RFC 5849) behind ``oauthGetAccessToken`` and
``oauthGetUserAuthorizationURL`` when ``OAuthVersion=1.0``.

Three legs: a signed request for a request token, the user's authorization in a browser,
and a signed exchange of the request token and its verifier for the token credentials.
oauthlib's oauth1 ``Client`` builds every signature (base string, nonce, header); RSA-SHA1
signs through it with the key of the ``Cert`` PFX file, using ``cryptography`` for the RSA
step so that PyJWT (which oauthlib's own RSA code imports) is not needed.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from oauthlib.common import add_params_to_uri, extract_params
from oauthlib.oauth1 import Client

from cdata_oauth.config.options import Options
from cdata_oauth.conversions import text_or_none
from cdata_oauth.exceptions import NotSupportedError, OAuthError, OperationalError, ProgrammingError
from cdata_oauth.keys import load_signing_key
from cdata_oauth.logguard import in_use
from cdata_oauth.oauth.flow import Flow
from cdata_oauth.oauth.responses import redirect_message, retry_note
from cdata_oauth.oauth.urls import callback_params, check_callback_url
from cdata_oauth.redaction import MASK, is_secret_name, scrub

if TYPE_CHECKING:
    import requests
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    from cdata_oauth.oauth.operations import Invocation

__all__ = ["DEFAULT_APP_CALLBACK", "SIGN_METHODS", "Signer", "authorization_url",
           "get_access_token"]

SIGN_METHODS = ("HMAC-SHA1", "HMAC-SHA256", "PLAINTEXT", "RSA-SHA1")

#: Where APP mode listens when no CallbackURL is given: any free loopback port.
DEFAULT_APP_CALLBACK = "http://127.0.0.1:0/"

FORM = "application/x-www-form-urlencoded"
EXCERPT_CHARS = 200


#: Parameters the protocol sets itself; an OAuthParam of the same name is refused.
_RESERVED = frozenset({"oauth_consumer_key", "oauth_token", "oauth_signature",
                       "oauth_signature_method", "oauth_timestamp", "oauth_nonce",
                       "oauth_version", "oauth_callback", "oauth_verifier", "oauth_body_hash"})
_USE_INSTEAD = {"oauth_consumer_key": "OAuthClientId", "oauth_token": "OAuthAccessToken",
                "oauth_signature_method": "SignMethod", "oauth_callback": "CallbackURL",
                "oauth_verifier": "Verifier"}


# -- signing ---------------------------------------------------------------------------

def _sign_rsa_sha1(base_string: str | bytes, client: Any) -> str:
    """RSASSA-PKCS1-v1_5 with SHA-1 over the base string (RFC 5849 section 3.4.3)."""

    key: RSAPrivateKey | None = getattr(client, "private_key", None)
    if key is None:
        raise ValueError("RSA-SHA1 needs a private key")
    data = base_string.encode("ascii") if isinstance(base_string, str) else base_string
    signature = key.sign(data, padding.PKCS1v15(), hashes.SHA1())  # SHA-1: RFC 5849 says so
    return base64.b64encode(signature).decode("ascii")


@lru_cache(maxsize=1)
def _client_class() -> type[Any]:
    """oauthlib's Client with RSA-SHA1 signed by ``cryptography`` and oauth_version
    optional; a subclass, so oauthlib's process-wide method table stays untouched."""

    class _Client(Client):  # type: ignore[misc]
        SIGNATURE_METHODS = {**Client.SIGNATURE_METHODS, "RSA-SHA1": _sign_rsa_sha1}
        send_version = True
        private_key: Any = None

        def get_oauth_params(self, request: Any) -> list[tuple[str, str]]:
            params: list[tuple[str, str]] = super().get_oauth_params(request)
            if self.send_version:
                return params
            return [p for p in params if p[0] != "oauth_version"]

    return _Client


@dataclass(frozen=True)
class Signer:
    """The client credentials and signature settings of one statement."""

    client_key: str
    client_secret: str | None
    method: str = "HMAC-SHA1"
    private_key: RSAPrivateKey | None = field(default=None, repr=False)
    realm: str | None = None
    send_version: bool = True

    def __repr__(self) -> str:  # never the secret or the key
        return f"Signer(client_key={self.client_key!r}, method={self.method!r})"

    def sign(self, method: str, url: str, *, body: str | None = None,
             headers: Mapping[str, str] | None = None, token: str | None = None,
             token_secret: str | None = None, callback: str | None = None,
             verifier: str | None = None, nonce: str | None = None,
             timestamp: str | None = None) -> tuple[str, dict[str, str], str | None]:
        """The signed (url, headers, body); nonce and timestamp are fixed only in tests."""
        client = _client_class()(
            self.client_key, client_secret=self.client_secret or "",
            resource_owner_key=token, resource_owner_secret=token_secret or "",
            callback_uri=callback, signature_method=self.method, verifier=verifier,
            realm=self.realm, nonce=nonce, timestamp=timestamp)
        client.private_key = self.private_key
        client.send_version = self.send_version
        try:
            signed_url, signed_headers, signed_body = client.sign(
                url, method, body=body, headers=dict(headers or {}))
        except (ValueError, TypeError) as exc:
            raise ProgrammingError(f"The request cannot be signed with {self.method}: "
                                   f"{exc}.") from exc
        return str(signed_url), {str(k): str(v) for k, v in signed_headers.items()}, \
            None if signed_body is None else str(signed_body)


def _signer(inputs: Any, options: Options) -> Signer:
    client_key = text_or_none(inputs.get("OAuthClientId"))
    if client_key is None:
        raise ProgrammingError(
            "OAuth 1.0a needs OAuthClientId (the consumer key of your app). For an OAuth 2.0 "
            "provider set OAuthVersion=2.0 (the default is 1.0).")
    method = text_or_none(inputs.get("SignMethod")) or "HMAC-SHA1"
    cert = text_or_none(inputs.get("Cert"))
    if cert is not None and not inputs.given("SignMethod"):
        method = "RSA-SHA1"  # a Cert with no explicit SignMethod means RSA signing
    secret = text_or_none(inputs.get("OAuthClientSecret"))
    key = None
    if method == "RSA-SHA1":
        if cert is None:
            raise ProgrammingError(
                "SignMethod=RSA-SHA1 needs Cert: the path of the PFX (PKCS#12) file that "
                "holds your RSA private key (and CertPassword when it has one).")

        key = load_signing_key(cert, text_or_none(inputs.get("CertPassword")))
    elif secret is None:
        raise ProgrammingError(
            f"SignMethod={method} needs OAuthClientSecret (the consumer secret of your app); "
            "or use SignMethod=RSA-SHA1 with Cert.")
    return Signer(client_key, secret, method, key, options["Realm"],
                  bool(options["SendOAuthVersion"]))


# -- the flow ----------------------------------------------------------------------------

@dataclass(kw_only=True)
class _Flow(Flow):
    """What every OAuth 1.0a request of one statement needs, read and checked once."""

    signer: Signer
    extras: dict[str, str] = field(default_factory=dict)

    missing_hint: ClassVar[str] = (" For an OAuth 2.0 provider set OAuthVersion=2.0 (the "
                                   "default is 1.0).")
    reserved_params: ClassVar[frozenset[str]] = _RESERVED
    use_instead: ClassVar[Mapping[str, str]] = _USE_INSTEAD

    @classmethod
    def of(cls, invocation: Invocation) -> _Flow:
        base = cls.base_of(invocation)
        flow = cls(**base, signer=_signer(invocation.inputs, base["options"]))
        scope = text_or_none(invocation.inputs.get("Scope"))
        flow.extras = ({"scope": scope} if scope is not None else {}) | flow.extra_params()
        return flow

    def post(self, url: str, what: str, *, post_data: str | None = None,
             **credentials: str | None) -> dict[str, str]:
        """Sign and send one POST; the provider's form-encoded answer as a dict."""
        headers: dict[str, str] = {}
        body: str | None = None
        if post_data:
            body = post_data
            headers["Content-Type"] = _content_type(post_data)
            if self.extras:
                url = add_params_to_uri(url, list(self.extras.items()))
        elif self.extras:
            body = urlencode(self.extras)
            headers["Content-Type"] = FORM
        signed_url, signed_headers, signed_body = self.signer.sign(
            "POST", url, body=body, headers=headers, **credentials)
        response = self.send(
            "POST", signed_url, headers=signed_headers,
            data=None if signed_body is None else signed_body.encode("utf-8"))
        return _answer(response, what, self.secrets)

    def request_token(self, callback: str) -> tuple[str, str]:
        check_callback_url(callback, oob=True)
        url = self.url("OAuthRequestTokenURL", "(where the request token is obtained)")
        fields = self.post(url, "The request token endpoint", callback=callback)
        if fields.get("oauth_callback_confirmed", "true").lower() != "true":
            raise OAuthError(
                "The request token endpoint did not accept the callback "
                f"(oauth_callback_confirmed={fields['oauth_callback_confirmed']}); check "
                "CallbackURL against the one registered for your app.",
                error="callback_not_confirmed")
        token, secret = fields["oauth_token"], fields["oauth_token_secret"]
        self.secrets += [token, secret]
        self.invocation.context.request_tokens.remember(token, secret)
        return token, secret

    def authorize_url(self, token: str) -> str:
        url = self.url("OAuthAuthorizationURL", "(where the user grants access)")
        return str(add_params_to_uri(url, [("oauth_token", token), *self.extras.items()]))

    def access_token(self, token: str, secret: str | None, verifier: str) -> dict[str, Any]:
        url = self.url("OAuthAccessTokenURL", "(where the request token is exchanged)")
        self.secrets += [token, secret, verifier]
        fields = self.post(url, "The access token endpoint",
                           post_data=text_or_none(self.get("PostData")), token=token,
                           token_secret=secret, verifier=verifier)
        self.invocation.context.request_tokens.forget(token)
        return _outputs(fields)


def authorization_url(invocation: Invocation) -> Mapping[str, Any]:
    """``GetOAuthAuthorizationURL``: a request token and the URL that authorizes it."""
    flow = _Flow.of(invocation)
    with in_use(flow.secrets):
        token, secret = flow.request_token(text_or_none(flow.get("CallbackURL")) or "oob")
        url = flow.authorize_url(token)
    return {"URL": url, "OAuthAccessToken": token, "OAuthTokenSecret": secret,
            "State": None, "PKCEVerifier": None}


def get_access_token(invocation: Invocation) -> Mapping[str, Any]:
    """``GetOAuthAccessToken``: WEB exchanges a verifier, APP runs all three legs here."""
    grant = invocation.inputs.get("GrantType")
    if grant == "REFRESH":
        raise NotSupportedError(
            "OAuth 1.0a has no refresh grant: its access tokens do not expire by protocol. "
            "Run GetOAuthAccessToken again to get a new token, or set OAuthVersion=2.0 if "
            "your provider uses OAuth 2.0.")
    if grant in ("PASSWORD", "CLIENT") and invocation.inputs.given("GrantType"):
        raise NotSupportedError(
            f"GrantType={grant} is an OAuth 2.0 grant; OAuth 1.0a has only the three-legged "
            "flow. Set OAuthVersion=2.0, or leave GrantType unset.")
    flow = _Flow.of(invocation)
    with in_use(flow.secrets):
        return _web(flow) if invocation.inputs.get("AuthMode") == "WEB" else _app(flow)


def _web(flow: _Flow) -> dict[str, Any]:
    given = text_or_none(flow.get("Verifier")) or text_or_none(flow.get("OAuthVerifier"))
    if given is None:
        raise ProgrammingError(
            "AuthMode=WEB needs Verifier: the oauth_verifier the provider gave after the user "
            "authorized the request token (or the whole callback URL). Get the URL with "
            "GetOAuthAuthorizationURL first, or use AuthMode=APP to do it all here.")
    flow.secrets.append(given)
    verifier, callback_token = _from_verifier(given, flow.secrets)
    token, secret = _request_token(flow, callback_token)
    return flow.access_token(token, secret, verifier)


def _app(flow: _Flow) -> dict[str, Any]:
    callback = text_or_none(flow.get("CallbackURL")) or DEFAULT_APP_CALLBACK
    with flow.listener(callback, flow.get("Timeout")) as listener:
        token, secret = flow.request_token(listener.redirect_uri)
        flow.open_browser(flow.authorize_url(token))

        def accept(params: dict[str, str]) -> str | None:
            if any(k in params for k in ("denied", "error", "oauth_problem")):
                return None  # the provider's refusal: ends the wait, raised below
            if params.get("oauth_token") != token:
                return ("This answer is for another authorization request (its oauth_token "
                        "does not match); finish the sign-in in the window that was opened.")
            return None

        params = listener.wait(accept)
    verifier, _ = _from_params(params, flow.secrets)
    return flow.access_token(token, secret, verifier)


def _request_token(flow: _Flow, callback_token: str | None) -> tuple[str, str | None]:
    """The request token and secret for the exchange: the EXEC's, else the callback URL's,
    else the one GetOAuthAuthorizationURL obtained on this connection, else the
    connection properties'."""
    inputs = flow.invocation.inputs
    properties = flow.invocation.context.properties
    pending = flow.invocation.context.request_tokens

    def from_exec(name: str) -> str | None:
        value = text_or_none(inputs.get(name))
        if value is not None and properties.explicit(name) and \
                text_or_none(properties.get(name)) == value:
            return None  # the connection property, which ranks last
        return value

    token = from_exec("OAuthAccessToken")
    if token is not None and callback_token is not None and token != callback_token:
        raise ProgrammingError(
            "The callback URL in Verifier is for another request token than the "
            "OAuthAccessToken given; pass the token and secret from the same "
            "GetOAuthAuthorizationURL run as the URL the user opened.")
    newest = pending.newest()
    token = token or callback_token or (newest[0] if newest else None) or \
        text_or_none(properties.get("OAuthAccessToken"))
    if token is None:
        raise ProgrammingError(
            "The exchange needs the request token: give OAuthAccessToken and "
            "OAuthAccessTokenSecret (the OAuthAccessToken and OAuthTokenSecret outputs of "
            "GetOAuthAuthorizationURL), or run GetOAuthAuthorizationURL on this connection "
            "first.")
    secret = from_exec("OAuthAccessTokenSecret") or pending.get(token) or \
        text_or_none(properties.get("OAuthAccessTokenSecret"))
    if secret is None and flow.signer.method != "RSA-SHA1":
        raise ProgrammingError(
            "The exchange needs the request token secret: give OAuthAccessTokenSecret (the "
            "OAuthTokenSecret output of GetOAuthAuthorizationURL).")
    flow.secrets += [token, secret]
    return token, secret


# -- what comes back ---------------------------------------------------------------------

def _from_verifier(given: str, secrets: list[object]) -> tuple[str, str | None]:
    """(oauth_verifier, oauth_token or None) from a bare verifier or a callback URL."""
    params = callback_params(given, "oauth_verifier", "oauth_verifier value")
    if params is None:
        return given, None
    return _from_params(params, secrets)


def _from_params(params: Mapping[str, str], secrets: list[object]) -> tuple[str, str | None]:
    """The verifier of a callback's parameters, or the provider's refusal as OAuthError."""
    if "denied" in params:
        raise OAuthError("The user denied access at the provider (denied); run the "
                         "authorization again and approve it.", error="access_denied")
    problem = params.get("oauth_problem") or params.get("error")
    if problem:
        detail = params.get("oauth_problem_advice") or params.get("error_description")
        raise OAuthError(
            f"The provider refused the authorization: {problem}"
            + (f" ({scrub(detail, secrets)})" if detail else "") + ".",
            error=problem, description=detail)
    verifier = text_or_none(params.get("oauth_verifier"))
    if verifier is None:
        raise ProgrammingError(
            "The callback carries no oauth_verifier; pass the oauth_verifier value or the "
            "whole URL the browser was sent back to.")
    return verifier, text_or_none(params.get("oauth_token"))


def _answer(response: requests.Response, what: str, secrets: list[object]) -> dict[str, str]:
    """The fields of a form-encoded provider answer; anything else raises, masked."""

    status = response.status_code
    if 300 <= status < 400:
        raise OperationalError(redirect_message(what, status, response.headers))
    content_type = response.headers.get("Content-Type")
    fields = _form_fields(response.text, content_type)
    if fields is not None:
        secrets = secrets + [v for k, v in fields.items() if is_secret_name(k)]
    problem = _problem(fields or {}, response.headers.get("WWW-Authenticate"))
    if problem is not None:
        error, detail = problem
        raise OAuthError(
            f"{what} refused the request (HTTP {status}): {error}"
            + (f" ({scrub(detail, secrets)})" if detail else "") + _hint(error),
            error=error, description=detail, status=status)
    if not 200 <= status < 300:
        raise OperationalError(
            f"{what} answered HTTP {status} {response.reason or ''}".rstrip()
            + f": {_excerpt(response.text, fields, secrets)}" + retry_note(response.headers))
    if fields is None:
        raise OperationalError(
            f"{what} answered HTTP {status} with a body that is not form-encoded "
            f"(Content-Type {content_type or 'none'}): {_excerpt(response.text, None, secrets)}"
            ". An OAuth 1.0a provider answers oauth_token=...&oauth_token_secret=...; check "
            "the URL.")
    missing = [k for k in ("oauth_token", "oauth_token_secret") if not fields.get(k)]
    if missing:
        received = ", ".join(sorted(fields)) or "nothing"
        raise OperationalError(
            f"{what} answered HTTP {status} without {' and '.join(missing)} (it sent: "
            f"{received}); check the URL and the provider's documentation.")
    return fields


def _form_fields(text: str, content_type: str | None) -> dict[str, str] | None:
    """The fields of a form-encoded body, or None when the body is something else."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind and kind not in (FORM, "text/plain", "application/octet-stream"):
        return None
    stripped = text.strip()
    if not stripped:
        return {}
    try:
        pairs = parse_qsl(stripped, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    if any(not k or not re.fullmatch(r"[\w.\-:\[\]]+", k) for k, _ in pairs):
        return None
    return dict(pairs)


def _problem(fields: Mapping[str, str], authenticate: str | None) -> tuple[str, str | None] | None:
    """An OAuth Problem Reporting answer (oauth_problem, in the body or WWW-Authenticate),
    or an RFC 6749-style error field: (error, detail)."""
    if fields.get("oauth_problem"):
        return fields["oauth_problem"], fields.get("oauth_problem_advice")
    if fields.get("error"):
        return fields["error"], fields.get("error_description")
    if authenticate:
        found = re.search(r'oauth_problem="?([^",\s]+)', authenticate)
        if found:
            advice = re.search(r'oauth_problem_advice="([^"]*)"', authenticate)
            return found.group(1), advice.group(1) if advice else None
    return None


def _hint(error: str) -> str:
    hints = {
        "signature_invalid": "; check OAuthClientSecret, the token secret and SignMethod",
        "invalid_signature": "; check OAuthClientSecret, the token secret and SignMethod",
        "consumer_key_unknown": "; check OAuthClientId",
        "consumer_key_rejected": "; check OAuthClientId",
        "token_rejected": "; the token is unknown or used: run GetOAuthAuthorizationURL again",
        "token_expired": "; run GetOAuthAuthorizationURL again",
        "token_used": "; run GetOAuthAuthorizationURL again",
        "verifier_invalid": "; check Verifier, or run GetOAuthAuthorizationURL again",
        "nonce_used": "; a request was replayed",
        "timestamp_refused": "; check this machine's clock",
        "signature_method_rejected": "; choose another SignMethod",
    }
    return hints.get(error, "") + "."


def _excerpt(text: str, fields: Mapping[str, str] | None, secrets: list[object]) -> str:
    if fields:
        text = "&".join(f"{k}={MASK if is_secret_name(k) else v}" for k, v in fields.items())
    short = " ".join(text.split())
    if len(short) > EXCERPT_CHARS:
        short = short[:EXCERPT_CHARS] + "..."
    return scrub(short, secrets) or "(empty body)"


def _outputs(fields: Mapping[str, str]) -> dict[str, Any]:
    """The token credentials as outputs; every other field as OAuthParam:<field>."""
    outputs: dict[str, Any] = {
        "OAuthAccessToken": fields["oauth_token"],
        "OAuthTokenSecret": fields["oauth_token_secret"],
        "OAuthRefreshToken": None,
        "ExpiresIn": _int(fields.get("oauth_expires_in")),
    }
    for name, value in fields.items():
        if name not in ("oauth_token", "oauth_token_secret", "oauth_expires_in"):
            outputs["OAuthParam:" + name] = value
    return outputs


def _content_type(body: str) -> str:
    """The Content-Type of a PostData body: a form when it parses as one (its parameters
    are then signed), JSON when it looks like JSON, else plain text (body hash signed)."""

    stripped = body.strip()
    if stripped[:1] in ("{", "["):
        return "application/json"
    if extract_params(body) is not None:
        return FORM
    return "text/plain; charset=utf-8"


def _int(value: str | None) -> int | None:
    try:
        return None if value in (None, "") else int(float(str(value)))
    except ValueError:
        return None
