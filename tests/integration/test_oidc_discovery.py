"""Every grant and mode from OAuthIssuer alone, against real servers: panva's
oidc-provider (discovery, ``iss`` in authorization responses, revocation, introspection;
headless Chromium signs in for APP and WEB mode) and oauth2-mock-server (whose discovery
advertises only ``none`` client authentication, yet accepts Basic)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest

import cdata_oauth
from cdata_oauth.oauth import discovery
from tests.servers.metadata_server import MetadataServer
from tests.servers.oauth2_mock import OAuth2MockServer
from tests.servers.oidc_provider import CONFIDENTIAL_ID, CONFIDENTIAL_SECRET, OidcProvider


def issuer_only(issuer: str, **extra: Any) -> dict[str, Any]:
    """No endpoint URL at all: only the issuer and the client."""
    return {"OAuthVersion": "2.0", "OAuthIssuer": issuer, "OAuthClientId": CONFIDENTIAL_ID,
            "OAuthClientSecret": CONFIDENTIAL_SECRET, "Timeout": 30, **extra}


def row(conn: cdata_oauth.Connection, statement: str, parameters: Any = None
        ) -> dict[str, Any]:
    cursor = conn.execute(statement, parameters)
    (values,) = cursor.fetchall()
    return {d[0]: v for d, v in zip(cursor.description or (), values, strict=True)}


@pytest.fixture(autouse=True)
def _fresh_discovery() -> None:
    discovery.clear_cache()


def test_server_metadata_rows_are_the_providers_document_in_order(
        oidc_provider: OidcProvider) -> None:
    document = oidc_provider.metadata()
    with cdata_oauth.connect(**issuer_only(oidc_provider.issuer)) as conn:
        cursor = conn.execute("EXEC GetOAuthServerMetadata")
        rows = cursor.fetchall()
    assert cursor.rowcount == len(document) == len(rows)
    assert [name for name, _ in rows] == list(document)
    values = dict(rows)
    assert values["issuer"] == oidc_provider.issuer
    assert values["authorization_response_iss_parameter_supported"] == "true"
    assert json.loads(values["grant_types_supported"]) == document["grant_types_supported"]


def test_client_credentials_then_introspection_then_revocation_from_the_issuer_alone(
        oidc_provider: OidcProvider) -> None:
    with cdata_oauth.connect(**issuer_only(oidc_provider.issuer,
                                           OAuthSettingsLocation="memory://oidc-cc")) as conn:
        token = row(conn, "EXEC GetOAuthAccessToken GrantType='CLIENT', Scope='read'")
        assert token["OAuthAccessToken"]
        active = row(conn, "EXEC IntrospectOAuthToken")
        assert active["Active"] == "true"
        assert active["ClientId"] == CONFIDENTIAL_ID and active["Scope"] == "read"
        assert active["Iss"] == oidc_provider.issuer and active["Exp"] > active["Iat"]
        revoked = row(conn, "EXEC RevokeOAuthToken")
        assert revoked == {"Revoked": "true", "TokenTypeHint": "access_token"}
        assert conn.tokens.stored() is None
        gone = row(conn, "EXEC IntrospectOAuthToken Token=?", (token["OAuthAccessToken"],))
    assert gone["Active"] == "false" and gone["ClientId"] is None


def test_app_mode_code_flow_refresh_and_revocation_from_the_issuer_alone(
        oidc_browser: OidcProvider) -> None:
    properties = issuer_only(oidc_browser.issuer, CallbackURL="http://127.0.0.1:0/callback",
                             OAuthSettingsLocation="memory://oidc-app")
    with cdata_oauth.connect(**properties) as conn:
        first = row(conn, "EXEC GetOAuthAccessToken GrantType='CODE', AuthMode='APP', "
                          "Scope='openid offline_access read'")
        assert first["OAuthAccessToken"] and first["OAuthRefreshToken"]
        second = row(conn, "EXEC RefreshOAuthAccessToken OAuthRefreshToken=?",
                     (first["OAuthRefreshToken"],))
        assert second["OAuthAccessToken"] not in (None, first["OAuthAccessToken"])
        assert row(conn, "EXEC IntrospectOAuthToken")["Active"] == "true"
        refresh = second["OAuthRefreshToken"]
        assert row(conn, "EXEC RevokeOAuthToken")["TokenTypeHint"] == "refresh_token"
        assert conn.tokens.stored() is None
        dead = row(conn, "EXEC IntrospectOAuthToken Token=?, TokenTypeHint='refresh_token'",
                   (refresh,))
    assert dead["Active"] == "false"


def _with_iss(url: str, iss: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["iss"] = iss
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_web_mode_checks_iss_and_exchanges_the_code_from_the_issuer_alone(
        oidc_provider: OidcProvider, metadata_server: MetadataServer) -> None:
    # the browser lands on a page of ours (any loopback port is a native app's redirect)
    callback = metadata_server.base_url + "/callback"
    properties = issuer_only(oidc_provider.issuer, CallbackURL=callback)
    with cdata_oauth.connect(**properties) as conn:
        url = row(conn, "EXEC GetOAuthAuthorizationURL Scope='openid read'")["URL"]
        assert url.startswith(oidc_provider.issuer + "/auth?")
        landed = oidc_provider.sign_in(url)["url"]
        assert landed.startswith(callback + "?")
        assert parse_qs(urlsplit(landed).query)["iss"] == [oidc_provider.issuer]
        forged = _with_iss(landed, "https://attacker.example")
        with pytest.raises(cdata_oauth.OperationalError, match="mix-up"):
            conn.execute("EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?", (forged,))
        # the refused answer sent no token request: its code is still unused
        token = row(conn, "EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?", (landed,))
    assert token["OAuthAccessToken"]


def test_oauth2_mock_server_grants_from_the_issuer_alone_with_basic_despite_none(
        oauth2_mock: OAuth2MockServer) -> None:
    properties = {"OAuthVersion": "2.0", "OAuthIssuer": oauth2_mock.base_url,
                  "OAuthClientId": oauth2_mock.client_id,
                  "OAuthClientSecret": oauth2_mock.client_secret, "Timeout": 20}
    with cdata_oauth.connect(**properties) as conn:
        client = row(conn, "EXEC GetOAuthAccessToken GrantType='CLIENT'")
        password = row(conn, "EXEC GetOAuthAccessToken GrantType='PASSWORD', User='ann', "
                             "Password='ann-pass-9'")
        revoked = row(conn, "EXEC RevokeOAuthToken Token=?", (client["OAuthAccessToken"],))
    assert client["OAuthAccessToken"] and password["OAuthAccessToken"]
    assert revoked["Revoked"] == "true"
    sent = oauth2_mock.token_requests()
    assert [r["form"]["grant_type"] for r in sent] == ["client_credentials", "password"]
    assert all(r["headers"]["authorization"].startswith("Basic ") for r in sent)
    assert all("client_secret" not in r["form"] for r in sent)
    assert oauth2_mock.requests("/revoke")[0]["headers"]["authorization"].startswith("Basic ")
