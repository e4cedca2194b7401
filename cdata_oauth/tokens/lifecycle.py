"""The token lifecycle of a connection: InitiateOAuth, OAuthSettingsLocation, and renewal
that is single flight across threads and processes.

Every renewal runs the ordinary procedures (RefreshOAuthAccessToken, GetOAuthAccessToken)
through the connection's ``run_procedure``, so transport, errors and masking are the same
as for an EXEC; the connection hands each procedure's outputs to ``keep``, which stores
whatever token a token procedure returned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from cdata_oauth.config.inputs import Inputs
from cdata_oauth.config.properties import ConnectionProperties
from cdata_oauth.conversions import optional_text, text_or_none, whole_number
from cdata_oauth.exceptions import Error, InterfaceError, OAuthError, ProgrammingError
from cdata_oauth.tokens.stores import (
    LocalTokenStore,
    StoreOptions,
    Token,
    TokenStore,
    default_entry_name,
    default_location,
    now_ms,
    open_store,
)

__all__ = ["DEFAULT_LEEWAY", "ProcedureRunner", "TokenLifecycle", "store_of"]

DEFAULT_LEEWAY = 60.0
"""Seconds before expiry at which a token counts as due (capped at half its lifetime)."""

TOKEN_OPERATION = "oauthgetaccesstoken"
REVOKE_OPERATION = "oauthrevoketoken"
INTROSPECT_OPERATION = "oauthintrospecttoken"
_CONTEXT_KEY = "cdata_oauth.tokens.lifecycle"
_NON_INTERACTIVE_GRANTS = ("CLIENT", "PASSWORD", "JWT", "TOKENEXCHANGE")
"""Grants that obtain a token again the same way, without a person (and usually without a
refresh token): a service account signs a new assertion, a workload reads its token anew."""


class ProcedureRunner(Protocol):
    """What the lifecycle needs of its connection (``dbapi.Connection`` is one)."""

    properties: ConnectionProperties

    @property
    def closed(self) -> bool: ...

    def run_procedure(self, procedure: str, args: Sequence[tuple[str | None, Any]],
                      reusable: bool = False) -> Any: ...


class TokenLifecycle:
    """The tokens of one connection, available as ``connection.tokens``.

    ``current()`` gives a token that is valid now, renewing it when due; ``refresh()``
    renews at once (after a 401); ``stored()`` reads without any network call. Renewals
    hold the store's lock and re-read the store first, so when many threads or processes
    find the token due together, one request reaches the provider and all share its answer.
    """

    def __init__(self, connection: ProcedureRunner, leeway: float = DEFAULT_LEEWAY) -> None:
        self._connection = connection
        properties = connection.properties
        self.mode = str(properties.get("InitiateOAuth") or "OFF")
        self.leeway = leeway
        self.store: TokenStore = store_of(properties)

    def start(self) -> None:
        """With GETANDREFRESH or REFRESH, make sure a token exists (at connect time)."""
        if self.mode != "OFF":
            self.current()

    @property
    def location(self) -> str | None:
        """The file path, ``memory://<id>`` or engine URL (password masked) where tokens
        are kept; None when they live only as long as this connection."""
        return self.store.location or None

    # reading

    def stored(self) -> Token | None:
        """The stored token, else the one the connection properties give; no network."""
        return self.store.load() or self._given()

    def current(self) -> Token:
        """A token valid now: the stored one, or a renewed one when it is due."""
        self._check_open()
        token = self.stored()
        if token is not None and not self._due(token):
            return token
        return self._renew(seen=token, rejected=None)

    def access_token(self) -> str:
        """The access token of ``current()``."""
        token = self.current()
        assert token.access_token is not None
        return token.access_token

    def refresh(self, rejected: str | None = None) -> Token:
        """Renew now, unless another caller already replaced the ``rejected`` token (by
        default the current one): then that newer token is returned."""
        self._check_open()
        seen = self.stored()
        if rejected is None and seen is not None:
            rejected = seen.access_token
        return self._renew(seen=seen, rejected=rejected or "")

    # renewing

    def _check_open(self) -> None:
        if self._connection.closed:
            raise InterfaceError("The connection is closed; open a new one to get tokens.")

    def _renew(self, seen: Token | None, rejected: str | None) -> Token:
        with self.store.lock():
            latest = self.stored()  # re-read: another thread or process may have renewed
            if latest is not None and latest.access_token:
                if rejected is not None:
                    if latest.access_token != rejected and not _expired(latest):
                        return latest
                elif not self._due(latest):
                    return latest
                elif (seen is None or seen.access_token != latest.access_token) \
                        and not _expired(latest):
                    return latest  # renewed while we waited, though its lifetime is short
            return self._obtain(latest)

    def _obtain(self, latest: Token | None) -> Token:
        """One request to the provider: refresh, else exchange a verifier, else get."""
        properties = self._connection.properties
        refresh_token = (latest.refresh_token if latest else None) \
            or properties.get("OAuthRefreshToken")
        if refresh_token:
            try:
                return self._run("RefreshOAuthAccessToken",
                                 [("OAuthRefreshToken", refresh_token)])
            except OAuthError as error:
                if self.mode != "GETANDREFRESH" or error.error != "invalid_grant":
                    raise
                # the refresh token is dead: GETANDREFRESH signs in again below
        verifier = properties.get("OAuthVerifier")
        if verifier and self.mode != "OFF" and self.store.load() is None:
            return self._run("GetOAuthAccessToken", [
                ("AuthMode", "WEB"), ("GrantType", "CODE"), ("Verifier", verifier)])
        grant = str(properties.get("GrantType") or "CODE")
        if (self.mode == "GETANDREFRESH" and grant != "REFRESH") \
                or grant in _NON_INTERACTIVE_GRANTS:
            return self._run("GetOAuthAccessToken", [])
        if latest is not None and latest.access_token and not _expired(latest):
            return latest  # due, but nothing can renew it: use it while it works
        raise ProgrammingError(self._cannot_renew(latest))

    def _run(self, procedure: str, args: Sequence[tuple[str | None, Any]]) -> Token:
        self._connection.run_procedure(procedure, args)  # the hook stores the answer
        token = self.store.load()
        if token is None or not token.access_token:
            raise ProgrammingError(
                f"{procedure} returned no access token to store in {self._describe()}; "
                "check the OAuth settings.")
        return token

    def _cannot_renew(self, latest: Token | None) -> str:
        where = self._describe()
        if latest is None or not latest.access_token:
            start = f"InitiateOAuth={self.mode} found no token in {where}"
        else:
            start = (f"The access token in {where} has expired and there is no refresh "
                     "token to renew it")
        if self.mode == "REFRESH":
            return (f"{start}. REFRESH never signs in interactively: give OAuthRefreshToken, "
                    "or OAuthVerifier (a code from GetOAuthAuthorizationURL's URL), or connect "
                    "once with InitiateOAuth=GETANDREFRESH and the same OAuthSettingsLocation.")
        return (f"{start}. Get a token with EXEC GetOAuthAccessToken, or connect with "
                "InitiateOAuth=GETANDREFRESH.")

    def _describe(self) -> str:
        return self.store.location or "this connection"

    def _due(self, token: Token) -> bool:
        if self.mode == "REFRESH" and token.expires_at is None and token is self._given_token:
            return True  # the product's rule: a given token without timing is refreshed
        return token.is_due(self.leeway)

    # the token the connection properties give

    _given_token: Token | None = None
    _revoked_given = False

    def _given(self) -> Token | None:
        if self._revoked_given:
            return None
        properties = self._connection.properties
        access = properties.get("OAuthAccessToken")
        refresh = properties.get("OAuthRefreshToken")
        if not access and not refresh:
            return None
        if self._given_token is None:
            self._given_token = Token(
                access or None, refresh or None, properties.get("OAuthAccessTokenSecret"),
                properties.get("OAuthExpiresIn"), properties.get("OAuthTokenTimestamp"))
        return self._given_token

    # revoking and introspecting: which token, and forgetting a revoked one

    def prepare(self, operation: str, inputs: Inputs) -> Inputs:
        """Before a procedure runs: RevokeOAuthToken and IntrospectOAuthToken without a
        Token take the stored one (revocation: the refresh token, else the access token;
        introspection: the access token), and a TokenTypeHint saying which it is."""
        folded = operation.lower()
        if folded not in (REVOKE_OPERATION, INTROSPECT_OPERATION):
            return inputs
        given = text_or_none(inputs.get("Token"))
        stored = self.stored()
        changes: dict[str, Any] = {}
        if given is None and stored is not None:
            prefer_refresh = folded == REVOKE_OPERATION and stored.refresh_token
            given = stored.refresh_token if prefer_refresh else stored.access_token
            if given:
                changes["Token"] = given
        if given and text_or_none(inputs.get("TokenTypeHint")) is None and stored is not None:
            if given == stored.refresh_token:
                changes["TokenTypeHint"] = "refresh_token"
            elif given == stored.access_token:
                changes["TokenTypeHint"] = "access_token"
        return inputs.with_values(**changes) if changes else inputs

    def failed(self, operation: str, inputs: Mapping[str, Any], error: Error) -> None:
        """After a procedure failed: a revocation the provider answered (with an error)
        may still have revoked the token, so a stored one is forgotten all the same."""
        if operation.lower() == REVOKE_OPERATION and isinstance(error, OAuthError) \
                and error.status is not None:
            self._forget(text_or_none(inputs.get("Token")))

    def _forget(self, token: str | None) -> None:
        """Remove the stored entry when it holds ``token`` (atomically, under the store's
        lock): the next GETANDREFRESH signs in again."""
        if token is None:
            return
        with self.store.lock():
            stored = self.store.load()
            if stored is not None and token in (stored.access_token, stored.refresh_token):
                self.store.delete()
        given = self._given()
        if given is not None and token in (given.access_token, given.refresh_token):
            self._revoked_given = True

    # storing

    def keep(self, operation: str, inputs: Mapping[str, Any], outputs: Any) -> None:
        """After a procedure succeeded: when it was a token operation, store its answer,
        keeping the old refresh token when the server sent none; when it revoked the
        stored token, forget it."""
        folded = operation.lower()
        if folded == REVOKE_OPERATION:
            self._forget(text_or_none(inputs.get("Token")))
            return
        if folded != TOKEN_OPERATION or not isinstance(outputs, Mapping):
            return
        by_key = {k.lower(): k for k in outputs}
        access = outputs.get(by_key.get("oauthaccesstoken", ""))
        if not access:
            return
        with self.store.lock():
            previous = self.store.load()
            refresh_key = by_key.get("oauthrefreshtoken", "OAuthRefreshToken")
            sent = inputs.get("OAuthRefreshToken") \
                if str(inputs.get("GrantType") or "").upper() == "REFRESH" else None
            refresh = outputs.get(refresh_key) or sent \
                or (previous.refresh_token if previous else None)
            scope = outputs.get(by_key.get("oauthparam:scope", "")) or inputs.get("Scope") \
                or (previous.scope if previous else None)
            token = Token(str(access), str(refresh) if refresh else None,
                          optional_text(outputs.get(by_key.get("oauthtokensecret", ""))),
                          whole_number(outputs.get(by_key.get("expiresin", ""))), now_ms(),
                          optional_text(scope),
                          optional_text(outputs.get(by_key.get("oauthparam:token_type", ""))))
            self.store.save(token)

    def __repr__(self) -> str:
        return f"<TokenLifecycle {self.mode} {self._describe()}>"


def store_of(properties: ConnectionProperties) -> TokenStore:
    """The store the properties name: OAuthSettingsLocation; else, with InitiateOAuth on,
    the default file of this app and provider; else one that lives with the connection.
    (``cdata-oauth token`` opens it the same way without a connection.)"""
    location = properties.get("OAuthSettingsLocation")
    if location:
        return open_store(str(location), store_options(properties))
    if str(properties.get("InitiateOAuth") or "OFF") != "OFF":
        return open_store(default_location(properties.get("OAuthClientId"),
                                           _token_url(properties)),
                          store_options(properties))
    return LocalTokenStore()


def store_options(properties: ConnectionProperties) -> StoreOptions:
    """What a store needs of the connection properties besides its location."""
    timeout = properties.get("Timeout")
    return StoreOptions(
        timeout=float(timeout) if timeout is not None and timeout >= 0 else 60.0,
        encryption_key=properties.get("OAuthSettingsEncryptionKey") or None,
        entry_name=default_entry_name(properties.get("OAuthClientId"), _token_url(properties),
                                      properties.get("Scope"), properties.get("User")))


def _token_url(properties: ConnectionProperties) -> str | None:
    """What names the provider in a default entry: its token URL, else its issuer."""
    url = properties.get("OAuthAccessTokenURL") or properties.get("OAuthIssuer")
    return str(url) if url else None


def _expired(token: Token) -> bool:
    remaining = token.remaining()
    return remaining is not None and remaining <= 0
