"""The OAuth 2.0 flows behind ``oauthGetAccessToken`` and ``oauthGetUserAuthorizationURL``.

oauthlib's clients build every request (authorization URL, token request bodies); state
and PKCE verifier come from ``secrets``. This module decides which request a statement
means, authenticates the client one way only, sends it through the connection's transport
and turns the answer into outputs.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, cast
from urllib.parse import quote_plus, urlsplit

from oauthlib.oauth2 import (
    BackendApplicationClient,
    Client,
    LegacyApplicationClient,
    WebApplicationClient,
)
from oauthlib.oauth2.rfc6749.parameters import prepare_token_request

from cdata_oauth.conversions import text_or_none
from cdata_oauth.exceptions import OAuthError, OperationalError, ProgrammingError
from cdata_oauth.lazy import resolve
from cdata_oauth.logguard import in_use
from cdata_oauth.oauth.assertions import JWT_BEARER, grant_assertion, read_value, signing_key
from cdata_oauth.oauth.clientauth import (
    ClientAuthentication,
    client_auth_method,
    client_authentication,
)
from cdata_oauth.oauth.flow import Flow
from cdata_oauth.oauth.responses import oauth_error_from_fields, parse_token_response
from cdata_oauth.oauth.urls import callback_params, check_callback_url, check_url

if TYPE_CHECKING:
    from cdata_oauth.oauth.operations import Invocation

__all__ = ["DEFAULT_APP_CALLBACK", "authorization_url", "get_access_token", "server_metadata"]

DEVICE = "cdata_oauth.oauth.device:device_access_token"
"""GrantType=DEVICE (RFC 8628), which builds on this module's flow."""

#: Where APP mode listens when no CallbackURL is given: any free loopback port (RFC 8252).
DEFAULT_APP_CALLBACK = "http://127.0.0.1:0/"


_AUTH_URL_RESERVED = frozenset({"response_type", "client_id", "redirect_uri", "scope", "state",
                                "code_challenge", "code_challenge_method"})
_TOKEN_RESERVED = frozenset({"grant_type", "client_id", "client_secret", "code", "redirect_uri",
                             "code_verifier", "username", "password", "refresh_token", "scope",
                             "client_assertion", "client_assertion_type", "assertion",
                             "subject_token", "subject_token_type", "actor_token",
                             "actor_token_type", "requested_token_type"})
_USE_INSTEAD = {"client_id": "OAuthClientId", "client_secret": "OAuthClientSecret",
                "redirect_uri": "CallbackURL", "scope": "Scope", "state": "State",
                "username": "User", "password": "Password", "refresh_token": "OAuthRefreshToken",
                "code": "Verifier", "code_verifier": "PKCEVerifier", "device_code": "DeviceCode",
                "client_assertion": "OAuthClientAssertion", "assertion": "OAuthJWTCert",
                "subject_token": "SubjectToken", "subject_token_type": "SubjectTokenType",
                "actor_token": "ActorToken", "actor_token_type": "ActorTokenType",
                "requested_token_type": "RequestedTokenType"}
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


@dataclass
class _Flow(Flow):
    """What every OAuth 2.0 request of one statement needs, read and checked once."""

    client_id: str | None = None
    client_secret: str | None = None

    reserved_params: ClassVar[frozenset[str]] = _TOKEN_RESERVED
    use_instead: ClassVar[Mapping[str, str]] = _USE_INSTEAD
    discovers: ClassVar[bool] = True

    @classmethod
    def of(cls, invocation: Invocation) -> _Flow:
        inputs = invocation.inputs
        return cls(**cls.base_of(invocation),
                   client_id=text_or_none(inputs.get("OAuthClientId")),
                   client_secret=text_or_none(inputs.get("OAuthClientSecret")))

    @property
    def client_auth(self) -> str:
        """The one way the client authenticates (see ``clientauth.METHODS``): an explicit
        ClientAuth always wins; without it, a client with a secret uses the first of
        client_secret_basic and client_secret_post that OAuthIssuer's metadata lists in
        token_endpoint_auth_methods_supported, else BASIC."""
        return client_auth_method(self)

    def secret_method(self) -> str:
        """The method of a client with a secret and no ClientAuth (what discovery lists)."""
        return self._advertised_auth()

    def _advertised_auth(self) -> str:
        metadata = self.metadata()
        methods = metadata.get("token_endpoint_auth_methods_supported") if metadata else None
        if isinstance(methods, list):
            for method in methods:
                if method in _AUTH_METHODS:
                    return _AUTH_METHODS[method]
        return "BASIC"

    def client(self, kind: str) -> Client:
        classes: dict[str, type[Client]] = {
            "CODE": WebApplicationClient, "PASSWORD": LegacyApplicationClient,
            "CLIENT": BackendApplicationClient, "REFRESH": Client}
        return classes[kind](self.client_id)

    def authenticate(self, url: str) -> ClientAuthentication:
        """How the request to ``url`` authenticates the client (headers, form fields)."""
        return client_authentication(self, url)

    def token_request(self, url: str, body: str, auth: ClientAuthentication,
                      sent_refresh_token: str | None = None) -> dict[str, Any]:
        """POST one token request (or PostData verbatim) and parse the answer into outputs."""
        headers = {"Accept": "application/json",
                   "Content-Type": "application/x-www-form-urlencoded", **auth.headers}
        post_data = self.get("PostData")
        if post_data not in (None, ""):
            body = str(post_data)
            if body.lstrip()[:1] == "{":
                headers["Content-Type"] = "application/json"
        response = self.send("POST", url, data=body.encode("utf-8"), headers=headers)
        host = urlsplit(url).hostname or "the server"
        parsed = parse_token_response(
            response.status_code, response.headers.get("Content-Type"), response.text,
            secrets=self.secrets, what=f"The token endpoint at {host}",
            headers=response.headers)
        return parsed.outputs(sent_refresh_token)


_AUTH_METHODS = {"client_secret_basic": "BASIC", "client_secret_post": "POST"}


def get_access_token(invocation: Invocation) -> Mapping[str, Any]:
    """Run the grant that GrantType (and AuthMode, for CODE) names; return the outputs."""
    flow = _Flow.of(invocation)
    with in_use(flow.secrets):
        return _grant(flow)


def _grant(flow: _Flow) -> dict[str, Any]:
    grant = str(flow.get("GrantType") or "CODE").upper()
    if grant == "CODE":
        if str(flow.get("AuthMode") or "APP").upper() == "WEB":
            return _web_code(flow)
        return _app_code(flow)
    if grant == "PASSWORD":
        return _password(flow)
    if grant == "CLIENT":
        return _client_credentials(flow)
    if grant == "REFRESH":
        return _refresh(flow)
    if grant == "DEVICE":
        return cast(dict[str, Any], resolve(DEVICE)(flow))
    if grant == "JWT":
        return _jwt_bearer(flow)
    if grant == "TOKENEXCHANGE":
        return _token_exchange(flow)
    raise ProgrammingError(f"GrantType {grant!r} is not one of CODE, PASSWORD, CLIENT, REFRESH, "
                           "DEVICE, JWT, TOKENEXCHANGE.")


def authorization_url(invocation: Invocation) -> Mapping[str, Any]:
    """The URL where the user grants access, with its State and PKCEVerifier outputs.

    Both are also kept on the connection, so that GetOAuthAccessToken on the same
    connection needs neither.
    """
    flow = _Flow.of(invocation)
    with in_use(flow.secrets):
        auth_url = flow.url("OAuthAuthorizationURL", "to build the authorization URL")
        flow.require("OAuthClientId", "to build the authorization URL")
        state = text_or_none(flow.get("State")) or _new_state()
        callback = text_or_none(flow.get("CallbackURL"))
        if callback is not None:
            check_callback_url(callback)
        verifier, url = _build_authorization_url(flow, auth_url, callback, state)
        flow.invocation.context.authorizations.remember(state, verifier)
    return {"URL": url, "State": state, "PKCEVerifier": verifier}


def server_metadata(invocation: Invocation) -> list[Mapping[str, Any]]:
    """GetOAuthServerMetadata: one Name/Value row per field of OAuthIssuer's metadata."""
    flow = _Flow.of(invocation)
    flow.require("OAuthIssuer", "to read the server's metadata")
    metadata = flow.metadata()
    assert metadata is not None
    return list(metadata.rows())


# -- CODE --------------------------------------------------------------------------------

def _build_authorization_url(flow: _Flow, auth_url: str, redirect_uri: str | None,
                             state: str) -> tuple[str | None, str]:
    """(PKCE verifier or None, URL); oauthlib's WebApplicationClient builds the URL."""
    pkce = str(flow.options["PKCE"])
    verifier = challenge = method = None
    if pkce != "OFF":
        verifier = _new_secret()
        method = "S256" if pkce == "S256" else "plain"
        challenge = _s256_challenge(verifier) if method == "S256" else verifier
    extra = tuple(flow.extra_params(_AUTH_URL_RESERVED).items())
    try:
        before, between, after = _url_template(auth_url, flow.client_id, redirect_uri,
                                               text_or_none(flow.get("Scope")), method, extra)
    except ValueError as exc:
        raise ProgrammingError(
            f"OAuthAuthorizationURL cannot take the parameters: {exc}.") from exc
    if not _URL_SAFE.fullmatch(state):  # a State input: form-encoded as oauthlib would
        state = quote_plus(state, safe="")
    url = before + state + between
    if challenge is not None:
        url += challenge + after  # base64url, as form-encoding leaves it
    return verifier, url


_URL_SAFE = re.compile(r"[A-Za-z0-9_.~-]*")  # what form-encoding leaves as it is
_STATE_MARK = secrets.token_hex(16)  # stand-ins for the state and the challenge
_CHALLENGE_MARK = secrets.token_hex(16)


@lru_cache(maxsize=64)
def _url_template(auth_url: str, client_id: str | None, redirect_uri: str | None,
                  scope: str | None, method: str | None, extra: tuple[tuple[str, str], ...]
                  ) -> tuple[str, str, str]:
    """oauthlib's authorization URL for these inputs, cut where the state and the code
    challenge go (before, between, after): only those two change from one call to the
    next, so oauthlib builds the URL once per set of inputs and each call fills them in,
    form-encoded as oauthlib encodes them. Without PKCE, ``after`` is empty."""

    # oauthlib refuses http:// outright unless a process-wide variable is set; the plain
    # http policy was applied by check_url already, so it is given an https twin to build.
    scheme, _, rest = auth_url.partition("://")
    built = WebApplicationClient(client_id).prepare_request_uri(
        "https://" + rest, redirect_uri=redirect_uri, scope=scope, state=_STATE_MARK,
        code_challenge=_CHALLENGE_MARK if method else None, code_challenge_method=method,
        **dict(extra))
    before, _, rest_of_url = (scheme + "://" + built[len("https://"):]).partition(_STATE_MARK)
    between, _, after = rest_of_url.partition(_CHALLENGE_MARK)
    return before, between, after


def _code_request(flow: _Flow, token_url: str, code: str, redirect_uri: str | None,
                  verifier: str | None) -> dict[str, Any]:
    auth = flow.authenticate(token_url)
    body = flow.client("CODE").prepare_request_body(
        code=code, redirect_uri=redirect_uri, code_verifier=verifier,
        **auth.oauthlib_kwargs(), **flow.extra_params(_TOKEN_RESERVED))
    return flow.token_request(token_url, str(body), auth)


def _web_code(flow: _Flow) -> dict[str, Any]:
    """Second step of WEB mode: exchange the code (or the whole callback URL) for tokens."""
    token_url = flow.url("OAuthAccessTokenURL", "to exchange the authorization code")
    flow.require("OAuthClientId", "to exchange the authorization code")
    verifier_input = flow.require("Verifier", "(the code, or the callback URL the browser "
                                  "landed on) for GrantType=CODE with AuthMode=WEB")
    callback = text_or_none(flow.get("CallbackURL"))
    if callback is not None:
        check_callback_url(callback)
    code, returned_state = _code_from_verifier(flow, verifier_input)
    flow.secrets.append(code)
    expected = text_or_none(flow.get("State"))
    pending = flow.invocation.context.authorizations
    if returned_state is not None:
        if expected is not None and returned_state != expected:
            raise _state_mismatch("the State input")
        if expected is None and pending and returned_state not in pending:
            raise _state_mismatch("the state GetOAuthAuthorizationURL made on this connection")
    newest = pending.newest()
    state = returned_state or expected or (newest[0] if newest else None)
    pkce = text_or_none(flow.get("PKCEVerifier"))
    if pkce is None and state is not None:
        pkce = pending.get(state)
    if pkce is not None:
        flow.secrets.append(pkce)
    outputs = _code_request(flow, token_url, code, text_or_none(flow.get("CallbackURL")), pkce)
    if state is not None:
        pending.forget(state)
    return outputs


def _app_code(flow: _Flow) -> dict[str, Any]:
    """AuthMode=APP: browser + loopback listener, then the code exchange with PKCE."""
    auth_url = flow.url("OAuthAuthorizationURL", "to send the browser to the provider")
    token_url = flow.url("OAuthAccessTokenURL", "to exchange the authorization code")
    flow.require("OAuthClientId", "for the authorization code grant")
    callback = text_or_none(flow.get("CallbackURL")) or DEFAULT_APP_CALLBACK
    timeout = flow.get("Timeout")
    state = _new_state()
    with flow.listener(callback, None if timeout in (None, 0) else float(timeout)) as listener:
        verifier, url = _build_authorization_url(flow, auth_url, listener.redirect_uri, state)
        flow.secrets.extend(v for v in (verifier, state) if v)

        def accept(params: dict[str, str]) -> str | None:
            if params.get("state") != state:
                return ("The answer's state does not match the sign-in this application "
                        "started; start the sign-in again from the application.")
            if not params.get("code") and not params.get("error"):
                return "The answer carries neither a code nor an error."
            return None

        flow.open_browser(url)
        params = listener.wait(accept)
        redirect_uri = listener.redirect_uri
    _check_iss(flow, params)
    if params.get("error"):
        raise _callback_error(params, flow.secrets)
    code = params["code"]
    flow.secrets.append(code)
    return _code_request(flow, token_url, code, redirect_uri, verifier)


def _code_from_verifier(flow: _Flow, verifier: str) -> tuple[str, str | None]:
    """(code, state) from a bare code or from the callback URL the browser landed on."""
    params = callback_params(verifier, "code", "code")
    if params is None:
        return verifier.strip(), None
    _check_iss(flow, params)
    if params.get("error"):
        raise _callback_error(params, [*flow.secrets, params.get("code")])
    code = text_or_none(params.get("code"))
    if code is None:
        raise ProgrammingError(
            "Verifier looks like a callback URL but has no code parameter; give the URL the "
            "browser landed on after the sign-in, or the code alone.")
    return code, text_or_none(params.get("state"))


def _check_iss(flow: _Flow, params: Mapping[str, str]) -> None:
    """RFC 9207's mix-up defence: an authorization response that names its issuer must
    name ours; one that names none is refused when the server says it always names it."""
    expected = flow.issuer
    if expected is None:
        return
    given = params.get("iss")
    if given is None:
        metadata = flow.metadata()
        if metadata is not None and metadata.iss_parameter_supported:
            raise OperationalError(
                f"The authorization response carries no iss parameter, though the issuer "
                f"{expected} always sends one (authorization_response_iss_parameter_supported"
                " in its metadata, RFC 9207): it may come from another server (a mix-up "
                "attack). No token was requested; start the sign-in again.")
        return
    if given != expected:
        shown = given if len(given) <= 200 else given[:200] + "..."
        raise OperationalError(
            f"The authorization response comes from the issuer {shown!r}, not from "
            f"OAuthIssuer {expected!r}: it belongs to another server (a mix-up attack, RFC "
            "9207). No token was requested; start the sign-in again.")


def _callback_error(params: Mapping[str, str], secrets: list[object]) -> OAuthError:
    return oauth_error_from_fields(params, None, secrets, what="The authorization server")


def _state_mismatch(against: str) -> OAuthError:
    return OAuthError(
        f"The state in the callback URL does not match {against}: this answer belongs to "
        "another sign-in (or was forged). Start again with GetOAuthAuthorizationURL.",
        error="state_mismatch",
        description="callback state differs from the expected state")


def _new_secret() -> str:
    """A state or PKCE verifier: 256 bits from the OS's CSPRNG as 43 base64url characters,
    which RFC 7636 (section 4.1) recommends for a verifier (43 to 128 characters of
    [A-Za-z0-9-._~]). oauthlib's generate_token draws one character at a time, which cost
    over half of building an authorization URL."""
    return secrets.token_urlsafe(32)


_new_state = _new_secret  # what authorization_url and the APP flow call


def _s256_challenge(verifier: str) -> str:
    """RFC 7636's S256 code challenge: BASE64URL(SHA256(ASCII(verifier))), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# -- PASSWORD, CLIENT, REFRESH -----------------------------------------------------------

def _password(flow: _Flow) -> dict[str, Any]:
    token_url = flow.url("OAuthAccessTokenURL", "for the password grant")
    flow.require("OAuthClientId", "for the password grant")
    user = flow.require("User", "for GrantType=PASSWORD")
    password = flow.require("Password", "for GrantType=PASSWORD")
    auth = flow.authenticate(token_url)
    body = flow.client("PASSWORD").prepare_request_body(
        username=user, password=password, scope=text_or_none(flow.get("Scope")),
        **auth.oauthlib_kwargs(), **flow.extra_params(_TOKEN_RESERVED))
    return flow.token_request(token_url, str(body), auth)


def _client_credentials(flow: _Flow) -> dict[str, Any]:
    token_url = flow.url("OAuthAccessTokenURL", "for the client credentials grant")
    flow.require("OAuthClientId", "for the client credentials grant")
    auth = flow.authenticate(token_url)
    body = flow.client("CLIENT").prepare_request_body(
        scope=text_or_none(flow.get("Scope")), **auth.oauthlib_kwargs(),
        **flow.extra_params(_TOKEN_RESERVED))
    return flow.token_request(token_url, str(body), auth)


def _refresh(flow: _Flow) -> dict[str, Any]:
    name = "OAuthRefreshTokenURL" if text_or_none(flow.get("OAuthRefreshTokenURL")) else \
        "OAuthAccessTokenURL"
    token_url = flow.url(name, "for the refresh")
    client_id = flow.require("OAuthClientId", "for the refresh")
    refresh_token = flow.require("OAuthRefreshToken", "for GrantType=REFRESH")
    auth = flow.authenticate(token_url)
    body = flow.client("REFRESH").prepare_refresh_body(
        refresh_token=refresh_token, scope=text_or_none(flow.get("Scope")), client_id=client_id,
        **auth.oauthlib_kwargs(), **flow.extra_params(_TOKEN_RESERVED))
    return flow.token_request(token_url, str(body), auth, sent_refresh_token=refresh_token)


# -- JWT, TOKENEXCHANGE ------------------------------------------------------------------

def _jwt_bearer(flow: _Flow) -> dict[str, Any]:
    """RFC 7523 2.1: a signed assertion is the grant; the client authenticates as well only
    when it has a way to (a Google service account has none)."""
    key = signing_key(flow)
    if key.token_url and not text_or_none(flow.get("OAuthAccessTokenURL")):
        token_url = key.token_url
        check_url("OAuthJWTCert's token_uri", token_url, flow.options)
    else:
        token_url = flow.url("OAuthAccessTokenURL", "for the JWT bearer grant")
    scope = text_or_none(flow.get("Scope"))
    assertion = grant_assertion(flow, key, token_url, flow.client_id, scope)
    auth = flow.authenticate(token_url)
    body = prepare_token_request(
        JWT_BEARER, assertion=assertion, scope=None if key.google else scope,
        client_id=flow.client_id, **auth.oauthlib_kwargs(), **flow.extra_params(_TOKEN_RESERVED))
    return flow.token_request(token_url, str(body), auth)


def _token_exchange(flow: _Flow) -> dict[str, Any]:
    """RFC 8693: trade SubjectToken (and ActorToken) for a token of RequestedTokenType."""
    token_url = flow.url("OAuthAccessTokenURL", "for the token exchange")
    subject = read_value(flow, "SubjectToken")
    if subject is None:
        flow.require("SubjectToken", "for GrantType=TOKENEXCHANGE (the token, file:PATH or "
                     "env:NAME)")
    actor = read_value(flow, "ActorToken")
    actor_type = text_or_none(flow.get("ActorTokenType"))
    if actor is not None and actor_type is None:
        raise ProgrammingError(
            "ActorToken is set without ActorTokenType; RFC 8693 needs both: set "
            "ActorTokenType (e.g. urn:ietf:params:oauth:token-type:access_token).")
    auth = flow.authenticate(token_url)
    body = prepare_token_request(
        TOKEN_EXCHANGE, subject_token=subject,
        subject_token_type=text_or_none(flow.get("SubjectTokenType"))
        or "urn:ietf:params:oauth:token-type:jwt",
        actor_token=actor, actor_token_type=actor_type if actor else None,
        requested_token_type=text_or_none(flow.get("RequestedTokenType")),
        audience=text_or_none(flow.get("Audience")),
        resource=text_or_none(flow.get("Resource")), scope=text_or_none(flow.get("Scope")),
        client_id=flow.client_id, **auth.oauthlib_kwargs(), **flow.extra_params(_TOKEN_RESERVED))
    outputs = flow.token_request(token_url, str(body), auth)
    outputs["IssuedTokenType"] = outputs.pop("OAuthParam:issued_token_type", None)
    return outputs

