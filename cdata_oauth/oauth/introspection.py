"""RFC 7662 token introspection, behind ``IntrospectOAuthToken``.

Authenticates like a token request (``oauth2._Flow``); the endpoint is
OAuthIntrospectionURL, or the issuer's ``introspection_endpoint``. An inactive token gives
``Active='false'`` and nothing else: RFC 7662 section 2.2 says nothing more may be read
into the answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cdata_oauth.exceptions import OperationalError
from cdata_oauth.logguard import in_use
from cdata_oauth.oauth.responses import decode_fields, excerpt, oauth_error_from_fields
from cdata_oauth.oauth.revocation import _TokenFlow, answer_error, post_token, token_and_hint

if TYPE_CHECKING:
    from cdata_oauth.oauth.operations import Invocation

__all__ = ["CLAIMS", "introspect_token"]

CLAIMS = {"scope": "Scope", "client_id": "ClientId", "username": "Username",
          "token_type": "TokenType", "exp": "Exp", "iat": "Iat", "nbf": "Nbf", "sub": "Sub",
          "aud": "Aud", "iss": "Iss", "jti": "Jti"}
"""RFC 7662 section 2.2 member -> output column; other members are OAuthParam:<name>."""


def introspect_token(invocation: Invocation) -> Mapping[str, Any]:
    """Ask the introspection endpoint about Token (by default the stored access token)."""
    flow = _TokenFlow.of(invocation)
    with in_use(flow.secrets):
        url = flow.url("OAuthIntrospectionURL", "to introspect a token")
        token, hint = token_and_hint(flow, "IntrospectOAuthToken")
        response = post_token(flow, url, token, hint)
        if not 200 <= response.status_code < 300:
            raise answer_error(flow, response, "The introspection endpoint")
        host = urlsplit(url).hostname or "the server"
        fields = decode_fields(response.text, response.headers.get("Content-Type"))
        if fields is not None and fields.get("error") and "active" not in fields:
            raise oauth_error_from_fields(fields, response.status_code, flow.secrets,
                                          f"The introspection endpoint at {host}")
        if fields is None or not isinstance(fields.get("active"), bool):
            raise OperationalError(
                f"The introspection endpoint at {host} answered without a boolean active "
                f"member (RFC 7662 section 2.2); body: "
                f"{excerpt(response.text, flow.secrets, fields)}")
    return outputs(fields)


def outputs(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Active, the RFC 7662 members by column, then every other member as OAuthParam:*."""
    if fields.get("active") is not True:
        return {"Active": "false"}
    result: dict[str, Any] = {"Active": "true"}
    for member, column in CLAIMS.items():
        result[column] = _cell(fields.get(member))
    for member, value in fields.items():
        if member != "active" and member not in CLAIMS:
            result["OAuthParam:" + member] = _cell(value)
    return result


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list | bool):
        return json.dumps(value, separators=(",", ":"))
    return value
