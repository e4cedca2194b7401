"""The connector against panva's oidc-provider with explicit endpoint URLs: client
credentials, the authorization code flow in APP mode (headless Chromium logs in), and
refresh; the server fixture that the device, discovery and JWT tests build on."""

from __future__ import annotations

import cdata_oauth
from tests.servers.oidc_provider import (
    CONFIDENTIAL_ID,
    CONFIDENTIAL_SECRET,
    PUBLIC_ID,
    OidcProvider,
)


def _properties(provider: OidcProvider, **extra: object) -> dict[str, object]:
    return {"OAuthVersion": "2.0", "OAuthClientId": CONFIDENTIAL_ID,
            "OAuthClientSecret": CONFIDENTIAL_SECRET,
            "OAuthAuthorizationURL": provider.issuer + "/auth",
            "OAuthAccessTokenURL": provider.issuer + "/token", "Timeout": 30, **extra}


def _row(conn: cdata_oauth.Connection, statement: str) -> dict[str, object]:
    cursor = conn.execute(statement)
    values = cursor.fetchone()
    assert values is not None
    return {d[0]: v for d, v in zip(cursor.description or (), values, strict=True)}


def test_discovery_document_lists_the_endpoints_the_connector_uses(
        oidc_provider: OidcProvider) -> None:
    metadata = oidc_provider.metadata()
    assert metadata["issuer"] == oidc_provider.issuer
    for field in ("authorization_endpoint", "token_endpoint", "device_authorization_endpoint",
                  "revocation_endpoint", "introspection_endpoint"):
        assert metadata[field].startswith(oidc_provider.issuer + "/")
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_client_credentials_token_from_oidc_provider(oidc_provider: OidcProvider) -> None:
    with cdata_oauth.connect(**_properties(oidc_provider)) as conn:
        row = _row(conn, "EXEC GetOAuthAccessToken GrantType='CLIENT', Scope='read'")
    assert row["OAuthAccessToken"]
    assert row["ExpiresIn"] == 3600
    assert row["OAuthParam:scope"] == "read"


def test_code_flow_in_app_mode_signs_in_with_a_browser_then_refreshes(
        oidc_browser: OidcProvider) -> None:
    props = _properties(oidc_browser, OAuthClientId=PUBLIC_ID, OAuthClientSecret=None,
                        CallbackURL="http://127.0.0.1:0/callback")
    props = {k: v for k, v in props.items() if v is not None}
    with cdata_oauth.connect(**props) as conn:
        first = _row(conn, "EXEC GetOAuthAccessToken GrantType='CODE', AuthMode='APP', "
                           "Scope='openid offline_access read'")
        assert first["OAuthAccessToken"] and first["OAuthRefreshToken"]
        second = _row(conn, "EXEC RefreshOAuthAccessToken OAuthRefreshToken="
                            f"'{first['OAuthRefreshToken']}'")
    assert second["OAuthAccessToken"] not in (None, first["OAuthAccessToken"])
