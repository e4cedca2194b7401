"""The embedded provider's device authorization grant (RFC 8628), written here rather
than taken from oauthlib (whose device endpoints exist only in its newest releases): the
device authorization endpoint, the verification page where the person approves a user
code, and the token grant that answers the polls.

Client authentication is the validator's, as for every other grant; tokens come from
oauthlib's ``BearerToken`` with the provider's generators and are saved by the validator,
so refresh, rotation and the counters work for device tokens as for the others.
"""

from __future__ import annotations

import html
import json
import secrets
import time
from typing import Any, Protocol
from urllib.parse import parse_qsl

from oauthlib.common import Request
from oauthlib.oauth2 import BearerToken

from cdata_oauth.provider.store import DEVICE_GRANT, Client, DeviceAuthorization, Store
from cdata_oauth.provider.validator import ProviderValidator

__all__ = ["DEVICE_AUTHORIZATION_PATH", "DEVICE_GRANT", "VERIFICATION_PATH", "DeviceEndpoints"]

DEVICE_AUTHORIZATION_PATH = "/device_authorization"
VERIFICATION_PATH = "/device"
_USER_CODE_LETTERS = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels, no look-alikes (RFC 8628 6.1)
_NO_STORE = {"Content-Type": "application/json", "Cache-Control": "no-store",
             "Pragma": "no-cache"}

Answer = tuple[int, dict[str, str], str]


class DeviceSettings(Protocol):
    """What the device endpoints read of their provider (``EmbeddedProvider`` is one)."""

    approve: bool
    user: str
    device_code_lifetime: int
    device_interval: int | None
    store: Store
    validator: ProviderValidator
    bearer: BearerToken

    @property
    def base_url(self) -> str: ...


def _json(status: int, value: dict[str, Any]) -> Answer:
    return status, dict(_NO_STORE), json.dumps(value)


def _error(status: int, error: str, description: str) -> Answer:
    return _json(status, {"error": error, "error_description": description})


def _new_user_code() -> str:
    letters = "".join(secrets.choice(_USER_CODE_LETTERS) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


class DeviceEndpoints:
    """The three device pieces of one provider."""

    def __init__(self, provider: DeviceSettings) -> None:
        self.provider = provider

    def _client(self, request: Request) -> Client | None:
        """The client the request authenticated as (confidential or public), else None."""
        validator = self.provider.validator
        if validator.client_authentication_required(request):
            if not validator.authenticate_client(request):
                return None
        elif not validator.authenticate_client_id(request.client_id, request):
            return None
        client: Client = request.client
        return client

    def _refusal(self, request: Request) -> Answer | None:
        """The error answer when the request's client fails to authenticate or may not use
        the device grant; None when it may (``request.client`` is then set)."""
        client = self._client(request)
        if client is None:
            return _error(401, "invalid_client", "Client authentication failed.")
        if DEVICE_GRANT not in client.grant_types:
            return _error(400, "unauthorized_client",
                          "This client may not use the device authorization grant.")
        return None

    def authorize(self, uri: str, body: str, headers: dict[str, str]) -> Answer:
        """POST /device_authorization: a device code and a user code (RFC 8628 3.1-3.2)."""
        request = Request(uri, "POST", body, headers)
        refused = self._refusal(request)
        if refused is not None:
            return refused
        client: Client = request.client
        form = dict(parse_qsl(body, keep_blank_values=True))
        scopes = (form.get("scope") or "").split() or list(self.provider.validator.default_scopes)
        allowed = self.provider.validator.allowed_scopes
        if allowed is not None and not set(scopes) <= allowed:
            return _error(400, "invalid_scope", "A requested scope is not offered here.")
        device_code = "dc_" + secrets.token_urlsafe(24)
        user_code = _new_user_code()
        lifetime = self.provider.device_code_lifetime
        with self.provider.store.lock:
            self.provider.store.device_codes[device_code] = DeviceAuthorization(
                client.client_id, user_code, scopes, time.time() + lifetime)
        page = self.provider.base_url + VERIFICATION_PATH
        answer: dict[str, Any] = {
            "device_code": device_code, "user_code": user_code, "verification_uri": page,
            "verification_uri_complete": f"{page}?user_code={user_code}",
            "expires_in": lifetime}
        if self.provider.device_interval is not None:
            answer["interval"] = self.provider.device_interval
        return _json(200, answer)

    def verify(self, user_code: str | None) -> Answer:
        """GET or POST /device: the person's page. With a user code it signs in as the
        provider's user and approves at once (or denies, when ``approve`` is False)."""
        if not user_code:
            return 200, {"Content-Type": "text/html; charset=utf-8"}, _page(
                "Connect a device", f'<form method="post" action="{VERIFICATION_PATH}">'
                '<label>Code <input name="user_code" autofocus></label> '
                '<button type="submit">Continue</button></form>')
        wanted = user_code.strip().upper().replace(" ", "")
        with self.provider.store.lock:
            found = next((d for d in self.provider.store.device_codes.values()
                          if d.user_code == wanted and d.status == "pending"
                          and d.expires_at > time.time()), None)
            if found is not None:
                found.status = "approved" if self.provider.approve else "denied"
                found.user = self.provider.user
        if found is None:
            return 400, {"Content-Type": "text/html; charset=utf-8"}, _page(
                "Unknown code", f"<p>The code {html.escape(wanted)} is unknown, used or "
                "expired.</p>")
        done = "approved" if found.status == "approved" else "denied"
        return 200, {"Content-Type": "text/html; charset=utf-8"}, _page(
            f"Device {done}", f"<p>The device was {done}. You may close this window.</p>")

    def token(self, uri: str, body: str, headers: dict[str, str]) -> Answer:
        """The token endpoint's answer to a device_code grant request (RFC 8628 3.4-3.5)."""
        request = Request(uri, "POST", body, headers)
        refused = self._refusal(request)
        if refused is not None:
            return refused
        client: Client = request.client
        code = dict(parse_qsl(body, keep_blank_values=True)).get("device_code") or ""
        store = self.provider.store
        with store.lock:
            device = store.device_codes.get(code)
            if device is None or device.client_id != client.client_id:
                return _error(400, "invalid_grant", "The device code is unknown, used, or "
                                                    "was issued to another client.")
            if device.expires_at <= time.time():
                store.device_codes.pop(code, None)
                return _error(400, "expired_token", "The device code has expired.")
            if device.status == "denied":
                store.device_codes.pop(code, None)
                return _error(400, "access_denied", "The person denied the request.")
            if device.status != "approved":
                return _error(400, "authorization_pending",
                              "The person has not approved the request yet.")
            store.device_codes.pop(code, None)  # one use
            request.user, request.scopes = device.user, device.scopes
            request.client, request.client_id = client, client.client_id
            request.grant_type = DEVICE_GRANT
            token = self.provider.bearer.create_token(request, refresh_token=True)
            self.provider.validator.save_bearer_token(token, request)
        return _json(200, dict(token))


def _page(title: str, content: str) -> str:
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"</head><body><h1>{title}</h1>{content}</body></html>")
