"""``BearerAuth``: call your own APIs with ``requests`` and a connection's token.

    >>> import requests, cdata_oauth
    >>> conn = cdata_oauth.connect(InitiateOAuth="REFRESH", ...)
    >>> requests.get("https://api.example.com/me", auth=cdata_oauth.BearerAuth(conn))

The token is renewed through the connection's single-flight path when it is due, and
once more when the API answers 401 (the request is then sent again, once).
"""

from __future__ import annotations

from typing import Any, Protocol

import requests
from requests.auth import AuthBase
from requests.cookies import extract_cookies_to_jar

from cdata_oauth.tokens.lifecycle import TokenLifecycle

__all__ = ["BearerAuth", "HasTokens"]


class HasTokens(Protocol):
    """Anything with a token lifecycle: a ``cdata_oauth.Connection``."""

    @property
    def tokens(self) -> TokenLifecycle: ...

_RETRIED = "_cdata_oauth_retried"


class BearerAuth(AuthBase):
    """Sends ``Authorization: Bearer <access token>`` from ``connection.tokens``."""

    def __init__(self, connection: HasTokens) -> None:
        self.connection = connection

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self.connection.tokens.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        if not getattr(request, _RETRIED, False):
            request.register_hook("response", self._retry_on_401)  # type: ignore[no-untyped-call]
        return request

    def _retry_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        """On 401: renew the token (unless another caller already did) and resend once."""
        request = response.request
        if response.status_code != 401 or getattr(request, _RETRIED, False):
            return response
        sent = str(request.headers.get("Authorization", ""))
        rejected = sent[len("Bearer "):] if sent.startswith("Bearer ") else None
        token = self.connection.tokens.refresh(rejected=rejected)
        if not _rewind(request):
            return response  # a streamed body cannot be sent twice
        response.content  # noqa: B018  (read the body so the connection can be reused)
        response.close()
        retry = request.copy()
        setattr(retry, _RETRIED, True)
        retry.headers["Authorization"] = f"Bearer {token.access_token}"
        extract_cookies_to_jar(retry._cookies, request,  # type: ignore[attr-defined,no-untyped-call]
                               response.raw)
        retry.prepare_cookies(retry._cookies)  # type: ignore[attr-defined]
        connection_adapter: Any = response.connection
        new = connection_adapter.send(retry, **kwargs)
        new.history.append(response)
        new.request = retry
        return new  # type: ignore[no-any-return]


def _rewind(request: requests.PreparedRequest) -> bool:
    """True when the body can be sent again (none, bytes, or a seekable file)."""
    body = request.body
    if body is None or isinstance(body, str | bytes):
        return True
    position = getattr(request, "_body_position", None)
    if isinstance(position, int):
        try:
            requests.utils.rewind_body(request)
        except requests.exceptions.UnrewindableBodyError:
            return False
        return True
    return False
