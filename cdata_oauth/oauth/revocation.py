"""RFC 7009 token revocation, behind ``RevokeOAuthToken``.

The request authenticates the client exactly as a token request does (``clientauth``:
ClientAuth, or what the issuer's metadata lists); the endpoint is OAuthRevocationURL, or
the issuer's ``revocation_endpoint``. Which token to revoke by default (the connection's
stored one) is filled in by the token lifecycle, which also forgets the stored entry once
the provider has answered (see ``tokens.lifecycle``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from cdata_oauth.conversions import text_or_none
from cdata_oauth.exceptions import OAuthError, ProgrammingError
from cdata_oauth.logguard import in_use
from cdata_oauth.oauth.oauth2 import _Flow
from cdata_oauth.oauth.responses import decode_fields, excerpt, oauth_error_from_fields

if TYPE_CHECKING:
    import requests

    from cdata_oauth.oauth.operations import Invocation

__all__ = ["TOKEN_TYPE_HINTS", "post_token", "revoke_token"]

TOKEN_TYPE_HINTS = ("access_token", "refresh_token")
_RESERVED = frozenset({"token", "token_type_hint", "client_id", "client_secret"})
_USE_INSTEAD = {"token": "Token", "token_type_hint": "TokenTypeHint",
                "client_id": "OAuthClientId", "client_secret": "OAuthClientSecret"}


class _TokenFlow(_Flow):
    reserved_params = _RESERVED
    use_instead = _USE_INSTEAD


def revoke_token(invocation: Invocation) -> Mapping[str, Any]:
    """Revoke Token (by default the stored refresh token, else access token)."""
    flow = _TokenFlow.of(invocation)
    with in_use(flow.secrets):
        url = flow.url("OAuthRevocationURL", "to revoke a token")
        token, hint = token_and_hint(flow, "RevokeOAuthToken")
        response = post_token(flow, url, token, hint)
        if not 200 <= response.status_code < 300:
            raise answer_error(flow, response, "The revocation endpoint")
    return {"Revoked": "true", "TokenTypeHint": hint}


def token_and_hint(flow: _Flow, procedure: str) -> tuple[str, str | None]:
    token = text_or_none(flow.get("Token"))
    if token is None:
        raise ProgrammingError(
            f"{procedure} needs Token: give it in the EXEC statement, or get a token on "
            "this connection first (the stored one is the default).")
    flow.secrets.append(token)
    hint = text_or_none(flow.get("TokenTypeHint"))
    if hint is not None and hint not in TOKEN_TYPE_HINTS:
        raise ProgrammingError(
            f"TokenTypeHint {hint!r} is not one of {', '.join(TOKEN_TYPE_HINTS)}; give one "
            "of those or leave it out.")
    return token, hint


def post_token(flow: _Flow, url: str, token: str, hint: str | None) -> requests.Response:
    """POST token (and token_type_hint) with the client's authentication."""
    auth = flow.authenticate(url)
    fields = {"token": token, **({"token_type_hint": hint} if hint else {}),
              **auth.fields, **flow.extra_params()}
    headers = {"Accept": "application/json",
               "Content-Type": "application/x-www-form-urlencoded", **auth.headers}
    return flow.send("POST", url, data=urlencode(fields).encode("utf-8"), headers=headers)


def answer_error(flow: _Flow, response: requests.Response, what: str) -> OAuthError:
    """Any answer but 2xx: an OAuthError with the provider's fields and HTTP status (the
    provider answered, so the lifecycle knows the token may be gone)."""
    host = urlsplit(response.url or "").hostname or "the server"
    where = f"{what} at {host}"
    fields = decode_fields(response.text, response.headers.get("Content-Type"))
    if fields is not None and fields.get("error"):
        return oauth_error_from_fields(fields, response.status_code, flow.secrets, where)
    return OAuthError(
        f"{where} answered HTTP {response.status_code} without an OAuth error; body: "
        f"{excerpt(response.text, flow.secrets, fields)}",
        status=response.status_code)
