"""What the embedded provider knows: registered clients, its user, and the codes and
tokens it issued. One lock guards it all, so concurrent requests see a consistent state.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["AUTH_METHODS", "DEVICE_GRANT", "Client", "DeviceAuthorization", "Grant",
           "IssuedToken", "Store"]

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
"""Token endpoint authentication methods (RFC 7591 names) a client may be registered with."""

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ALL_GRANTS = ("authorization_code", "password", "client_credentials", "refresh_token",
              DEVICE_GRANT)


@dataclass(frozen=True)
class Client:
    """A registered client. ``auth_method`` is the only way it may authenticate."""

    client_id: str
    client_secret: str | None
    auth_method: str
    redirect_uris: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ALL_GRANTS

    @property
    def is_public(self) -> bool:
        return self.auth_method == "none"


@dataclass
class Grant:
    """An authorization code and what it was issued for (RFC 6749 4.1.2, RFC 7636 4.4)."""

    client_id: str
    redirect_uri: str | None
    scopes: list[str]
    user: str
    code_challenge: str | None
    code_challenge_method: str | None


@dataclass
class DeviceAuthorization:
    """A device code (RFC 8628) and where its sign-in stands: pending, approved, denied."""

    client_id: str
    user_code: str
    scopes: list[str]
    expires_at: float
    status: str = "pending"
    user: str | None = None


@dataclass
class IssuedToken:
    """An access token (and its refresh token, if any) as saved by the token endpoint."""

    access_token: str
    refresh_token: str | None
    client_id: str
    user: str | None
    scopes: list[str]
    expires_at: float
    grant_type: str


@dataclass
class Store:
    """Clients, codes and tokens of one provider instance."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    clients: dict[str, Client] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    codes: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, IssuedToken] = field(default_factory=dict)
    refresh_tokens: dict[str, IssuedToken] = field(default_factory=dict)
    device_codes: dict[str, DeviceAuthorization] = field(default_factory=dict)
    grant_counts: Counter[str] = field(default_factory=Counter)

    def add_client(self, client: Client) -> Client:
        if client.auth_method not in AUTH_METHODS:
            raise ValueError(f"auth_method must be one of {', '.join(AUTH_METHODS)}")
        if (client.client_secret is None) != client.is_public:
            raise ValueError("a public client has no secret; a confidential client needs one")
        with self.lock:
            self.clients[client.client_id] = client
        return client

    def client(self, client_id: str | None) -> Client | None:
        with self.lock:
            return self.clients.get(client_id or "")

    def save_token(self, token: IssuedToken) -> None:
        with self.lock:
            self.access_tokens[token.access_token] = token
            if token.refresh_token:
                self.refresh_tokens[token.refresh_token] = token
            self.grant_counts[token.grant_type] += 1

    def access_token(self, value: str) -> IssuedToken | None:
        """The token if it is known and not expired."""
        with self.lock:
            token = self.access_tokens.get(value)
        return token if token is not None and token.expires_at > time.time() else None
