"""``EmbeddedProvider``: a complete OAuth 2.0 authorization server on 127.0.0.1 for the
demo, the tests and the benchmarks. oauthlib speaks the protocol; this class holds the
registrations and settings and runs the HTTP server in a background thread.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from typing import Any

from oauthlib.oauth2 import BearerToken, Server

from cdata_oauth.provider.device import (
    DEVICE_AUTHORIZATION_PATH,
    VERIFICATION_PATH,
    DeviceEndpoints,
)
from cdata_oauth.provider.http import (
    AUTHORIZE_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
    ProviderHTTPServer,
    RecordedRequest,
    serve,
)
from cdata_oauth.provider.store import Client, Store
from cdata_oauth.provider.validator import ProviderValidator

__all__ = ["ACCESS_TOKEN_PREFIX", "REFRESH_TOKEN_PREFIX", "EmbeddedProvider"]

ACCESS_TOKEN_PREFIX = "at_"
REFRESH_TOKEN_PREFIX = "rt_"
DEFAULT_CALLBACK_URL = "http://127.0.0.1:0/callback"


class EmbeddedProvider:
    """An OAuth 2.0 provider with one user and two registered clients.

    - ``client_id``/``client_secret``: a confidential client that must authenticate with
      ``client_auth`` ("client_secret_basic", the default, or "client_secret_post").
    - ``public_client_id``: a public client (no secret); PKCE is required for it.
    - ``user``/``password``: the resource owner; the authorization endpoint logs them in
      and approves at once (set ``approve = False`` to answer access_denied instead).

    - the device grant (RFC 8628): ``device_authorization_url`` issues device codes, valid
      ``device_code_lifetime`` seconds and polled every ``device_interval`` seconds (None:
      no interval sent); the page at ``verification_url`` approves a user code as the user.

    ``access_token_lifetime`` and ``rotate_refresh_tokens`` may be changed while running.
    With rotation a refresh answer carries a new refresh token and the old one is spent
    (invalid_grant); without it the answer carries no refresh token and the old one lives.
    """

    def __init__(self, access_token_lifetime: int = 3600, rotate_refresh_tokens: bool = True,
                 *, client_auth: str = "client_secret_basic", host: str = "127.0.0.1",
                 port: int = 0, scopes: frozenset[str] | None = None,
                 default_scopes: tuple[str, ...] = ("read",), device_interval: int | None = 1,
                 device_code_lifetime: int = 600) -> None:
        self.access_token_lifetime = access_token_lifetime
        self.device_interval = device_interval
        self.device_code_lifetime = device_code_lifetime
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.approve = True
        self.host, self._port = host, port
        self.store = Store()
        self.client_id = "demo-client"
        self.client_secret = secrets.token_urlsafe(24)
        self.public_client_id = "demo-public-client"
        self.user = "demo-user"
        self.password = secrets.token_urlsafe(12)
        self.store.users[self.user] = self.password
        self.register_client(self.client_id, self.client_secret, client_auth)
        self.register_client(self.public_client_id, None, "none")
        self.validator = ProviderValidator(self.store, lambda: self.rotate_refresh_tokens,
                                           scopes, list(default_scopes))
        self.oauth_server = Server(
            self.validator, token_expires_in=lambda request: self.access_token_lifetime,
            token_generator=lambda request: ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(24),
            refresh_token_generator=lambda request: REFRESH_TOKEN_PREFIX
            + secrets.token_urlsafe(24))
        self.oauth_server.refresh_grant.register_token_modifier(self._drop_kept_refresh_token)
        self.bearer = BearerToken(
            self.validator, expires_in=lambda request: self.access_token_lifetime,
            token_generator=lambda request: ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(24),
            refresh_token_generator=lambda request: REFRESH_TOKEN_PREFIX
            + secrets.token_urlsafe(24))
        self.device = DeviceEndpoints(self)
        self.token_requests: list[RecordedRequest] = []
        self._httpd: ProviderHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def register_client(self, client_id: str, client_secret: str | None,
                        auth_method: str = "client_secret_basic",
                        redirect_uris: tuple[str, ...] = (),
                        grant_types: tuple[str, ...] | None = None) -> Client:
        """Register (or replace) a client; auth_method "none" makes it public."""
        extra = {} if grant_types is None else {"grant_types": grant_types}
        return self.store.add_client(Client(client_id, client_secret, auth_method,
                                            redirect_uris, **extra))

    def _drop_kept_refresh_token(self, token: dict[str, Any], token_handler: Any,
                                 request: Any) -> dict[str, Any]:
        if not self.rotate_refresh_tokens:
            token.pop("refresh_token", None)
        return token

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> EmbeddedProvider:
        """Bind (port 0: a free port) and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            return self
        self._httpd = serve(self, self.host, self._port)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        name="embedded-oauth-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port; stopping twice is harmless."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmbeddedProvider:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._httpd is not None else "stopped"
        return f"<EmbeddedProvider {where}>"

    # --- where it is -------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the provider is not running; call start() first")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def authorization_url(self) -> str:
        return self.base_url + AUTHORIZE_PATH

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def device_authorization_url(self) -> str:
        """The device authorization endpoint (RFC 8628 section 3.1)."""
        return self.base_url + DEVICE_AUTHORIZATION_PATH

    @property
    def verification_url(self) -> str:
        """The page where a person enters (or, with ?user_code=, approves) a user code."""
        return self.base_url + VERIFICATION_PATH

    @property
    def userinfo_url(self) -> str:
        """A protected resource answering 200 for a valid access token, 401 otherwise."""
        return self.base_url + USERINFO_PATH

    # --- what happened -----------------------------------------------------------------
    @property
    def grant_counts(self) -> Counter[str]:
        """Successful token responses by grant_type (a live Counter)."""
        return self.store.grant_counts

    def record(self, request: RecordedRequest) -> None:
        with self.store.lock:
            self.token_requests.append(request)

    def is_access_token_valid(self, token: str) -> bool:
        """True when ``token`` was issued here and has not expired."""
        return self.store.access_token(token) is not None

    def is_refresh_token_valid(self, token: str) -> bool:
        with self.store.lock:
            return token in self.store.refresh_tokens

    def revoke(self, token: str) -> bool:
        """Forget an access or refresh token, as a provider revoking it would; True if known."""
        with self.store.lock:
            found = self.store.access_tokens.pop(token, None)
            found = self.store.refresh_tokens.pop(token, None) or found
        return found is not None

    def connection_properties(self, **overrides: Any) -> dict[str, Any]:
        """Connection properties for the confidential client; overrides win, None removes."""
        properties: dict[str, Any] = {
            "OAuthVersion": "2.0",
            "OAuthClientId": self.client_id,
            "OAuthClientSecret": self.client_secret,
            "OAuthAuthorizationURL": self.authorization_url,
            "OAuthAccessTokenURL": self.token_url,
            "OAuthDeviceAuthorizationURL": self.device_authorization_url,
            "CallbackURL": DEFAULT_CALLBACK_URL,
        }
        for name, value in overrides.items():
            for key in [k for k in properties if k.lower() == name.lower()]:
                del properties[key]
            if value is not None:
                properties[name] = value
        return properties
