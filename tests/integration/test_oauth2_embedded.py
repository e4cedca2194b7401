"""OAuth 2.0 at the EXEC level against the embedded provider: refresh rotation, the one
client authentication method a client is registered with, spent refresh tokens, and the
WEB two-step split across two connections."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

import cdata_oauth
from cdata_oauth import OAuthError
from cdata_oauth.provider import EmbeddedProvider

WEB_CALLBACK = "https://app.example/oauth/callback"


def connect(p: EmbeddedProvider, **overrides: Any) -> cdata_oauth.Connection:
    return cdata_oauth.connect(**p.connection_properties(Timeout=30, **overrides))


def row_of(cursor: cdata_oauth.Cursor) -> dict[str, Any]:
    names = [d[0] for d in cursor.description or ()]
    return dict(zip(names, cursor.fetchone() or (), strict=True))


def password_row(conn: cdata_oauth.Connection, p: EmbeddedProvider) -> dict[str, Any]:
    return row_of(conn.execute(
        "EXEC GetOAuthAccessToken GrantType='PASSWORD', User=?, Password=?",
        (p.user, p.password)))


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def browser_visit(http: requests.Session, url: str) -> str:
    """What a browser would land on after the provider's redirect (not followed: the
    callback belongs to a web application that does not exist here)."""
    answer = http.get(url, allow_redirects=False)
    assert answer.status_code == 302, answer.text
    return str(answer.headers["Location"])


# -- refresh -----------------------------------------------------------------------------

def test_refresh_rotates_and_the_used_refresh_token_gives_invalid_grant(
        fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    with connect(p) as conn:
        first = password_row(conn, p)
        old = first["OAuthRefreshToken"]
        second = row_of(conn.execute("EXEC RefreshOAuthAccessToken OAuthRefreshToken=?",
                                     (old,)))
        assert second["OAuthRefreshToken"] not in (None, old)
        assert second["OAuthAccessToken"] != first["OAuthAccessToken"]
        assert p.is_access_token_valid(second["OAuthAccessToken"])
        assert p.is_refresh_token_valid(second["OAuthRefreshToken"])
        assert not p.is_refresh_token_valid(old)
        with pytest.raises(OAuthError) as raised:
            conn.execute("EXEC RefreshOAuthAccessToken OAuthRefreshToken=?", (old,))
    assert raised.value.error == "invalid_grant"
    assert raised.value.status == 400
    assert old not in str(raised.value)
    assert p.grant_counts == {"password": 1, "refresh_token": 1}


def test_refresh_grant_type_via_get_access_token(fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    with connect(p) as conn:
        old = password_row(conn, p)["OAuthRefreshToken"]
        row = row_of(conn.execute(
            "EXEC GetOAuthAccessToken GrantType='REFRESH', OAuthRefreshToken=?", (old,)))
    assert p.is_access_token_valid(row["OAuthAccessToken"])
    assert p.grant_counts["refresh_token"] == 1


def test_refresh_without_rotation_keeps_the_sent_refresh_token(
        fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    p.rotate_refresh_tokens = False
    with connect(p) as conn:
        old = password_row(conn, p)["OAuthRefreshToken"]
        row = row_of(conn.execute("EXEC RefreshOAuthAccessToken OAuthRefreshToken=?", (old,)))
    assert p.token_requests[-1].response.get("refresh_token") is None  # none was sent back
    assert row["OAuthRefreshToken"] == old  # ... and the row still carries one
    assert p.is_refresh_token_valid(old)


def test_expires_in_follows_the_provider_lifetime(fresh_provider: EmbeddedProvider) -> None:
    fresh_provider.access_token_lifetime = 2
    with connect(fresh_provider) as conn:
        row = row_of(conn.execute("EXEC GetOAuthAccessToken GrantType='CLIENT'"))
    assert row["ExpiresIn"] == 2


# -- client authentication ----------------------------------------------------------------

def test_wrong_client_authentication_method_is_invalid_client(
        fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider  # its confidential client is registered for HTTP Basic
    with connect(p, OtherOptions="ClientAuth=POST") as conn, \
            pytest.raises(OAuthError) as raised:
        conn.execute("EXEC GetOAuthAccessToken GrantType='CLIENT'")
    assert raised.value.error == "invalid_client"
    assert raised.value.status == 401
    assert p.client_secret not in str(raised.value)
    assert p.token_requests[-1].auth_method == "client_secret_post"
    assert p.grant_counts == {}


def test_post_registered_client_needs_client_auth_post(
        fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    p.register_client("poster", "poster-secret", "client_secret_post")
    with connect(p, OAuthClientId="poster", OAuthClientSecret="poster-secret") as conn:
        with pytest.raises(OAuthError) as raised:  # BASIC is the default with a secret
            conn.execute("EXEC GetOAuthAccessToken GrantType='CLIENT'")
        assert raised.value.error == "invalid_client"
        row = row_of(conn.execute("EXEC GetOAuthAccessToken GrantType='CLIENT', "
                                  "OtherOptions='ClientAuth=POST'"))
    assert p.is_access_token_valid(row["OAuthAccessToken"])
    assert [r.auth_method for r in p.token_requests] == ["client_secret_basic",
                                                         "client_secret_post"]


def test_wrong_secret_is_invalid_client(embedded_provider: EmbeddedProvider) -> None:
    with connect(embedded_provider, OAuthClientSecret="not-it") as conn, \
            pytest.raises(OAuthError) as raised:
        password_row(conn, embedded_provider)
    assert raised.value.error == "invalid_client"
    assert "not-it" not in str(raised.value)


def test_public_client_authenticates_with_its_id_only(
        fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    with connect(p, OAuthClientId=p.public_client_id, OAuthClientSecret=None) as conn:
        row = password_row(conn, p)
    assert p.is_access_token_valid(row["OAuthAccessToken"])
    assert p.token_requests[-1].auth_method == "none"
    assert p.token_requests[-1].form["client_id"] == p.public_client_id


# -- WEB mode, two steps, two connections -------------------------------------------------

@pytest.mark.parametrize("client", ["confidential", "public"])
def test_web_two_step_across_two_connections(fresh_provider: EmbeddedProvider,
                                             http: requests.Session, client: str) -> None:
    p = fresh_provider
    overrides: dict[str, Any] = {"CallbackURL": WEB_CALLBACK}
    if client == "public":
        p.register_client("web-public", None, "none", redirect_uris=(WEB_CALLBACK,))
        overrides.update(OAuthClientId="web-public", OAuthClientSecret=None)
    else:
        p.register_client(p.client_id, p.client_secret, redirect_uris=(WEB_CALLBACK,))

    with connect(p, **overrides) as first:
        step1 = row_of(first.execute("EXEC GetOAuthAuthorizationURL Scope='read write'"))
    url, state, pkce = step1["URL"], step1["State"], step1["PKCEVerifier"]
    sent = dict(parse_qsl(urlsplit(url).query))
    assert sent["state"] == state and sent["code_challenge_method"] == "S256"
    landed = browser_visit(http, url)
    assert landed.startswith(WEB_CALLBACK + "?")

    with connect(p, **overrides) as second:  # a new connection: nothing remembered
        row = row_of(second.execute(
            "EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?, State=?, PKCEVerifier=?",
            (landed, state, pkce)))
    assert p.is_access_token_valid(row["OAuthAccessToken"])
    assert row["OAuthParam:scope"] == "read write"
    assert p.token_requests[-1].form["code_verifier"] == pkce
    assert p.grant_counts == {"authorization_code": 1}


def test_web_second_step_without_the_pkce_verifier_is_refused(
        fresh_provider: EmbeddedProvider, http: requests.Session) -> None:
    p = fresh_provider
    with connect(p, CallbackURL="http://127.0.0.1:45999/cb") as first:
        step1 = row_of(first.execute("EXEC GetOAuthAuthorizationURL"))
    code = dict(parse_qsl(urlsplit(browser_visit(http, step1["URL"])).query))["code"]
    with connect(p, CallbackURL="http://127.0.0.1:45999/cb") as second, \
            pytest.raises(OAuthError) as raised:
        second.execute("EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?", (code,))
    assert raised.value.status == 400
    assert code not in str(raised.value)
    assert p.grant_counts == {}


def test_web_second_step_with_another_state_is_refused(
        fresh_provider: EmbeddedProvider, http: requests.Session) -> None:
    p = fresh_provider
    with connect(p, CallbackURL="http://127.0.0.1:45999/cb") as first:
        step1 = row_of(first.execute("EXEC GetOAuthAuthorizationURL"))
    landed = browser_visit(http, step1["URL"])
    with connect(p, CallbackURL="http://127.0.0.1:45999/cb") as second, \
            pytest.raises(OAuthError):
        second.execute(
            "EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?, State=?, PKCEVerifier=?",
            (landed, "some-other-state", step1["PKCEVerifier"]))
    assert p.token_requests == []  # refused before anything was sent


def test_web_denied_callback_raises_access_denied(
        fresh_provider: EmbeddedProvider, http: requests.Session) -> None:
    p = fresh_provider
    p.approve = False
    with connect(p, CallbackURL="http://127.0.0.1:45999/cb") as conn:
        step1 = row_of(conn.execute("EXEC GetOAuthAuthorizationURL"))
        landed = browser_visit(http, step1["URL"])
        with pytest.raises(OAuthError) as raised:
            conn.execute("EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?", (landed,))
    assert raised.value.error == "access_denied"
