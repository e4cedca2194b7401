"""The oauthlib ``RequestValidator`` of the embedded provider: every decision oauthlib
leaves to the server (who the client is, which method it must authenticate with, what
a code or refresh token is worth) answered from the provider's ``Store``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from oauthlib.oauth2 import RequestValidator

from cdata_oauth.provider.store import Client, Grant, IssuedToken, Store

__all__ = ["LOOPBACK_HOSTS", "ProviderValidator", "presented_auth_method"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

Request = Any  # oauthlib.common.Request: untyped, attributes come from the request params


def presented_auth_method(request: Request) -> tuple[str | None, str | None, str | None]:
    """(method, client_id, client_secret) the request authenticated with.

    method is client_secret_basic, client_secret_post, none, or None when the request
    used more than one method at once (RFC 6749 2.3: exactly one) or a broken header.
    """
    header = (request.headers or {}).get("Authorization", "")
    body_secret = request.client_secret
    if header.lower().startswith("basic "):
        if body_secret is not None:
            return None, None, None
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None, None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            return None, None, None
        return "client_secret_basic", unquote_plus(client_id), unquote_plus(secret)
    if body_secret is not None:
        return "client_secret_post", request.client_id, body_secret
    return "none", request.client_id, None


def is_loopback_redirect(uri: str) -> bool:
    """RFC 8252 7.3: a native app's loopback redirect may use any port."""
    parts = urlsplit(uri)
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


class ProviderValidator(RequestValidator):  # type: ignore[misc]
    """Answers oauthlib's questions; ``settings`` is read at each call (live changes apply)."""

    def __init__(self, store: Store, rotate: Callable[[], bool],
                 allowed_scopes: frozenset[str] | None, default_scopes: list[str]) -> None:
        super().__init__()
        self.store = store
        self._rotate = rotate
        self.allowed_scopes = allowed_scopes
        self.default_scopes = default_scopes

    # --- clients -----------------------------------------------------------------------
    def client_authentication_required(self, request: Request, *args: Any,
                                       **kwargs: Any) -> bool:
        method, client_id, _ = presented_auth_method(request)
        if method != "none":
            return True
        client = self.store.client(client_id)
        return client is None or not client.is_public

    def authenticate_client(self, request: Request, *args: Any, **kwargs: Any) -> bool:
        method, client_id, secret = presented_auth_method(request)
        client = self.store.client(client_id)
        if client is None or client.is_public or method != client.auth_method:
            return False
        if request.client_id not in (None, client.client_id):
            return False
        if not hmac.compare_digest((secret or "").encode(), (client.client_secret or "").encode()):
            return False
        request.client = client
        request.client_id = client.client_id
        return True

    def authenticate_client_id(self, client_id: str, request: Request, *args: Any,
                               **kwargs: Any) -> bool:
        client = self.store.client(client_id)
        if client is None or not client.is_public:
            return False
        request.client = client
        return True

    def validate_client_id(self, client_id: str, request: Request, *args: Any,
                           **kwargs: Any) -> bool:
        return self.store.client(client_id) is not None

    def validate_grant_type(self, client_id: str, grant_type: str, client: Client,
                            request: Request, *args: Any, **kwargs: Any) -> bool:
        return grant_type in client.grant_types

    def validate_response_type(self, client_id: str, response_type: str, client: Client,
                               request: Request, *args: Any, **kwargs: Any) -> bool:
        return response_type == "code"

    # --- redirects and scopes ----------------------------------------------------------
    def validate_redirect_uri(self, client_id: str, redirect_uri: str, request: Request,
                              *args: Any, **kwargs: Any) -> bool:
        client = self.store.client(client_id)
        return client is not None and (redirect_uri in client.redirect_uris
                                       or is_loopback_redirect(redirect_uri))

    def get_default_redirect_uri(self, client_id: str, request: Request, *args: Any,
                                 **kwargs: Any) -> str | None:
        client = self.store.client(client_id)
        return client.redirect_uris[0] if client is not None and client.redirect_uris else None

    def confirm_redirect_uri(self, client_id: str, code: str, redirect_uri: str | None,
                             client: Client, request: Request, *args: Any,
                             **kwargs: Any) -> bool:
        with self.store.lock:
            grant = self.store.codes.get(code)
        return grant is not None and grant.redirect_uri == redirect_uri

    def get_default_scopes(self, client_id: str, request: Request, *args: Any,
                           **kwargs: Any) -> list[str]:
        return list(self.default_scopes)

    def validate_scopes(self, client_id: str, scopes: list[str], client: Client,
                        request: Request, *args: Any, **kwargs: Any) -> bool:
        return self.allowed_scopes is None or set(scopes) <= self.allowed_scopes

    # --- authorization codes and PKCE --------------------------------------------------
    def save_authorization_code(self, client_id: str, code: dict[str, str], request: Request,
                                *args: Any, **kwargs: Any) -> None:
        grant = Grant(client_id, request.redirect_uri, list(request.scopes or []),
                      request.user or "", request.code_challenge,
                      request.code_challenge_method)
        with self.store.lock:
            self.store.codes[code["code"]] = grant

    def validate_code(self, client_id: str, code: str, client: Client, request: Request,
                      *args: Any, **kwargs: Any) -> bool:
        with self.store.lock:
            grant = self.store.codes.get(code)
        if grant is None or grant.client_id != client_id:
            return False
        request.user = grant.user
        request.scopes = grant.scopes
        return True

    def invalidate_authorization_code(self, client_id: str, code: str, request: Request,
                                      *args: Any, **kwargs: Any) -> None:
        with self.store.lock:
            self.store.codes.pop(code, None)

    def is_pkce_required(self, client_id: str, request: Request) -> bool:
        client = self.store.client(client_id)
        return client is not None and client.is_public

    def get_code_challenge(self, code: str, request: Request) -> str | None:
        with self.store.lock:
            grant = self.store.codes.get(code)
        return grant.code_challenge if grant is not None else None

    def get_code_challenge_method(self, code: str, request: Request) -> str | None:
        with self.store.lock:
            grant = self.store.codes.get(code)
        return grant.code_challenge_method if grant is not None else None

    # --- password grant ----------------------------------------------------------------
    def validate_user(self, username: str, password: str, client: Client, request: Request,
                      *args: Any, **kwargs: Any) -> bool:
        expected = self.store.users.get(username or "")
        if expected is None or not hmac.compare_digest(password.encode(), expected.encode()):
            return False
        request.user = username
        return True

    # --- tokens ------------------------------------------------------------------------
    def rotate_refresh_token(self, request: Request) -> bool:
        return self._rotate()

    def validate_refresh_token(self, refresh_token: str, client: Client, request: Request,
                               *args: Any, **kwargs: Any) -> bool:
        with self.store.lock:
            token = self.store.refresh_tokens.get(refresh_token)
        if token is None or token.client_id != client.client_id:
            return False
        request.user = token.user
        return True

    def get_original_scopes(self, refresh_token: str, request: Request, *args: Any,
                            **kwargs: Any) -> list[str]:
        with self.store.lock:
            token = self.store.refresh_tokens.get(refresh_token)
        return list(token.scopes) if token is not None else []

    def save_bearer_token(self, token: dict[str, Any], request: Request, *args: Any,
                          **kwargs: Any) -> None:
        refresh = token.get("refresh_token")
        old = request.refresh_token if request.grant_type == "refresh_token" else None
        with self.store.lock:
            if old and refresh and refresh != old:
                self.store.refresh_tokens.pop(old, None)  # rotation: the old one is spent
            keep = refresh or old
            self.store.save_token(IssuedToken(
                access_token=token["access_token"], refresh_token=keep,
                client_id=request.client_id or request.client.client_id,
                user=request.user, scopes=list(request.scopes or []),
                expires_at=time.time() + float(token.get("expires_in") or 0),
                grant_type=request.grant_type or "authorization_code"))

    def validate_bearer_token(self, token: str, scopes: list[str], request: Request) -> bool:
        issued = self.store.access_token(token or "")
        if issued is None or not set(scopes or []) <= set(issued.scopes):
            return False
        request.user, request.scopes = issued.user, issued.scopes
        request.client_id = issued.client_id
        return True
