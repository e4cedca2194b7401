"""Client authentication (RFC 6749 2.3, RFC 7523 2.2): one table of named methods, used by
every request that authenticates the client (token requests of every grant, refresh,
and whatever else posts to the provider as the client).

``client_authentication(flow, endpoint_url)`` is the one entry point: it picks the method
(OtherOptions ClientAuth, else OAuthClientAssertion, else BASIC with a secret, else NONE)
and gives the headers and form fields that carry it. A client assertion names the
endpoint it is sent to (its ``aud``), so it is made per request, with a fresh ``jti``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.oauth.assertions import CLIENT_ASSERTION_TYPE, client_assertion, read_value

__all__ = ["METHODS", "ClientAuthentication", "ClientSource", "client_auth_method",
           "client_authentication"]


class ClientSource(Protocol):
    """What client authentication reads of a flow."""

    secrets: list[object]

    @property
    def client_id(self) -> str | None: ...

    @property
    def client_secret(self) -> str | None: ...

    @property
    def options(self) -> Mapping[str, Any]: ...

    def get(self, name: str) -> Any: ...

    def secret_method(self) -> str:
        """BASIC or POST: how a client with a secret and no ClientAuth authenticates."""
        ...


@dataclass(frozen=True)
class ClientAuthentication:
    """How one request authenticates the client: headers to add, form fields to send."""

    method: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    fields: Mapping[str, str] = field(default_factory=dict, repr=False)

    def oauthlib_kwargs(self) -> dict[str, Any]:
        """The fields as keyword arguments of oauthlib's ``prepare_*_body``."""
        kwargs: dict[str, Any] = {k: v for k, v in self.fields.items() if k != "client_id"}
        kwargs["include_client_id"] = "client_id" in self.fields
        return kwargs


def client_auth_method(flow: ClientSource) -> str:
    """The method's name: ClientAuth when given (checked against what it needs), else
    ASSERTION with OAuthClientAssertion, the flow's ``secret_method()`` (BASIC unless
    the server's metadata lists POST first) with a secret, NONE without."""
    chosen = flow.options["ClientAuth"]
    has_assertion = flow.get("OAuthClientAssertion") not in (None, "")
    if chosen is None:
        if has_assertion:
            return "ASSERTION"
        return flow.secret_method() if flow.client_secret else "NONE"
    if has_assertion and chosen != "PRIVATE_KEY_JWT":
        raise ProgrammingError(
            f"OAuthClientAssertion is set, but OtherOptions ClientAuth={chosen} authenticates "
            "the client another way; remove one of them.")
    if has_assertion:
        return "ASSERTION"
    if chosen in ("BASIC", "POST", "CLIENT_SECRET_JWT") and not flow.client_secret:
        raise ProgrammingError(
            f"OtherOptions ClientAuth={chosen} needs OAuthClientSecret; set it, or use "
            "ClientAuth=NONE for a public client.")
    return str(chosen)


def client_authentication(flow: ClientSource, endpoint_url: str) -> ClientAuthentication:
    """The headers and form fields that authenticate the client to ``endpoint_url``."""
    method = client_auth_method(flow)
    return METHODS[method](flow, endpoint_url)


def _basic(flow: ClientSource, url: str) -> ClientAuthentication:
    """HTTP Basic, each part form-encoded first (RFC 6749 2.3.1)."""
    pair = f"{quote(flow.client_id or '', safe='')}:{quote(flow.client_secret or '', safe='')}"
    header = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return ClientAuthentication("BASIC", headers={"Authorization": header})


def _post(flow: ClientSource, url: str) -> ClientAuthentication:
    return ClientAuthentication("POST", fields={**_client_id(flow),
                                                "client_secret": flow.client_secret or ""})


def _none(flow: ClientSource, url: str) -> ClientAuthentication:
    return ClientAuthentication("NONE", fields=_client_id(flow))


def _signed(method: str) -> Callable[[ClientSource, str], ClientAuthentication]:
    def make(flow: ClientSource, url: str) -> ClientAuthentication:
        if not flow.client_id:
            raise ProgrammingError(
                f"OtherOptions ClientAuth={method} needs OAuthClientId (the assertion's iss "
                "and sub); set it.")
        assertion = client_assertion(flow, method, flow.client_id, url, flow.client_secret)
        return ClientAuthentication(method, fields={
            "client_id": flow.client_id, "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion})
    return make


def _given_assertion(flow: ClientSource, url: str) -> ClientAuthentication:
    """OAuthClientAssertion: a JWT someone else issued, read afresh for each request."""
    assertion = read_value(flow, "OAuthClientAssertion")
    assert assertion is not None  # client_auth_method chose this method because it is set
    return ClientAuthentication("ASSERTION", fields={
        **_client_id(flow), "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion})


def _client_id(flow: ClientSource) -> dict[str, str]:
    return {"client_id": flow.client_id} if flow.client_id else {}


METHODS: Mapping[str, Callable[[ClientSource, str], ClientAuthentication]] = {
    "BASIC": _basic,
    "POST": _post,
    "NONE": _none,
    "PRIVATE_KEY_JWT": _signed("PRIVATE_KEY_JWT"),
    "CLIENT_SECRET_JWT": _signed("CLIENT_SECRET_JWT"),
    "ASSERTION": _given_assertion,
}
"""Client authentication methods by name: ClientAuth's values, and ASSERTION for
OAuthClientAssertion."""
