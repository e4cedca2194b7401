"""RevokeOAuthToken and IntrospectOAuthToken against a server of ours: the stored token
as the default, its entry in OAuthSettingsLocation removed after a revocation (even one
the provider answered with an error), OAuth errors, an inactive token's NULLs, and no
secret in any message."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

import cdata_oauth
from cdata_oauth.exceptions import OAuthError
from tests.servers.metadata_server import MetadataServer

from .test_discovery import CLIENT_ID, CLIENT_SECRET, props, served
from .test_secrets_in_logs import Logs, logs  # noqa: F401  (the fixture)

ACCESS, REFRESH = "stored-access-Kk3", "stored-refresh-Pp9"


def connect_with_stored_token(server: MetadataServer, location: str, **extra: Any
                              ) -> tuple[str, cdata_oauth.Connection]:
    """A connection whose store holds ACCESS and REFRESH (from a real token request)."""
    issuer = served(server)
    server.serve("POST", issuer + "/token", body={"access_token": ACCESS,
                                                  "refresh_token": REFRESH, "expires_in": 600})
    conn = cdata_oauth.connect(**props(issuer, OAuthSettingsLocation=location, **extra))
    conn.execute("EXEC GetOAuthAccessToken GrantType='CLIENT'")
    assert conn.tokens.stored() is not None
    return issuer, conn


def row(conn: cdata_oauth.Connection, statement: str) -> dict[str, Any]:
    cursor = conn.execute(statement)
    (values,) = cursor.fetchall()
    return {d[0]: v for d, v in zip(cursor.description or (), values, strict=True)}


def test_revoking_the_stored_refresh_token_removes_the_stored_file(
        metadata_server: MetadataServer, tmp_path: Path) -> None:
    location = tmp_path / "tokens.json"
    issuer, conn = connect_with_stored_token(metadata_server, str(location))
    metadata_server.serve("POST", issuer + "/revoke", body="")
    with conn:
        assert location.exists()
        assert row(conn, "EXEC RevokeOAuthToken") == {"Revoked": "true",
                                                      "TokenTypeHint": "refresh_token"}
        assert not location.exists()
        assert conn.tokens.stored() is None
    (request,) = metadata_server.posts(issuer + "/revoke")
    assert request["form"]["token"] == REFRESH
    assert request["form"]["token_type_hint"] == "refresh_token"
    assert request["headers"]["Authorization"].startswith("Basic ")


def test_a_revocation_answered_with_an_error_still_forgets_the_stored_token(
        metadata_server: MetadataServer) -> None:
    issuer, conn = connect_with_stored_token(metadata_server, "memory://revoke-error")
    metadata_server.serve("POST", issuer + "/revoke", status=503,
                          body=json.dumps({"error": "temporarily_unavailable"}))
    with conn, pytest.raises(OAuthError) as caught:
        conn.execute(f"EXEC RevokeOAuthToken Token='{ACCESS}'")
    assert caught.value.status == 503 and caught.value.error == "temporarily_unavailable"
    assert ACCESS not in str(caught.value) and CLIENT_SECRET not in str(caught.value)
    with cdata_oauth.connect(OAuthSettingsLocation="memory://revoke-error") as other:
        assert other.tokens.stored() is None
    (request,) = metadata_server.posts(issuer + "/revoke")
    assert request["form"] == {"token": ACCESS, "token_type_hint": "access_token"}


def test_revoking_another_token_keeps_the_stored_one(metadata_server: MetadataServer) -> None:
    issuer, conn = connect_with_stored_token(metadata_server, "memory://revoke-other")
    metadata_server.serve("POST", issuer + "/revoke", body="")
    with conn:
        assert row(conn, "EXEC RevokeOAuthToken Token='someone-elses-token'") == {
            "Revoked": "true", "TokenTypeHint": None}
        stored = conn.tokens.stored()
        assert stored is not None and stored.access_token == ACCESS


def test_unsupported_token_type_is_an_oauth_error_and_a_network_failure_keeps_the_token(
        metadata_server: MetadataServer) -> None:
    issuer, conn = connect_with_stored_token(metadata_server, "memory://revoke-unsupported")
    metadata_server.serve("POST", issuer + "/revoke", status=400,
                          body={"error": "unsupported_token_type"})
    with conn:
        with pytest.raises(OAuthError, match="unsupported_token_type"):
            conn.execute("EXEC RevokeOAuthToken TokenTypeHint='access_token', Token='x-token'")
        with pytest.raises(cdata_oauth.OperationalError) as caught:
            conn.execute("EXEC RevokeOAuthToken OAuthRevocationURL='http://127.0.0.1:9/r'")
        assert not isinstance(caught.value, OAuthError)
        assert REFRESH not in str(caught.value)
        assert conn.tokens.stored() is not None  # nothing answered: nothing forgotten


def test_a_token_type_hint_outside_the_two_kinds_is_a_programming_error(
        metadata_server: MetadataServer) -> None:
    issuer = served(metadata_server)
    with cdata_oauth.connect(**props(issuer)) as conn, \
            pytest.raises(cdata_oauth.ProgrammingError, match="TokenTypeHint"):
        conn.execute("EXEC RevokeOAuthToken Token='t-1', TokenTypeHint='id_token'")


def test_revoking_without_any_token_names_token(metadata_server: MetadataServer) -> None:
    issuer = served(metadata_server)
    with cdata_oauth.connect(**props(issuer)) as conn, \
            pytest.raises(cdata_oauth.ProgrammingError, match="needs Token"):
        conn.execute("EXEC RevokeOAuthToken")


def test_introspection_of_an_active_token_fills_the_columns_then_extras(
        metadata_server: MetadataServer) -> None:
    issuer, conn = connect_with_stored_token(metadata_server, "memory://introspect-active")
    metadata_server.serve("POST", issuer + "/introspect", body={
        "active": True, "scope": "read write", "client_id": "disc-client", "username": "ann",
        "token_type": "Bearer", "exp": 1900000000, "iat": 1800000000, "sub": "u-1",
        "aud": ["api", "web"], "iss": issuer, "jti": "j-1", "tenant": "t-9", "admin": False})
    with conn:
        result = row(conn, "EXEC IntrospectOAuthToken")
    assert result == {"Active": "true", "Scope": "read write", "ClientId": "disc-client",
                      "Username": "ann", "TokenType": "Bearer", "Exp": 1900000000,
                      "Iat": 1800000000, "Nbf": None, "Sub": "u-1", "Aud": '["api","web"]',
                      "Iss": issuer, "Jti": "j-1", "OAuthParam:admin": "false",
                      "OAuthParam:tenant": "t-9"}
    (request,) = metadata_server.posts(issuer + "/introspect")
    assert request["form"] == {"token": ACCESS, "token_type_hint": "access_token"}


def test_an_inactive_token_gives_active_false_and_nulls(
        metadata_server: MetadataServer) -> None:
    issuer = served(metadata_server)
    metadata_server.serve("POST", issuer + "/introspect",
                          body={"active": False, "scope": "ignored"})
    with cdata_oauth.connect(**props(issuer)) as conn:
        result = row(conn, "EXEC IntrospectOAuthToken Token='gone-token'")
    assert result["Active"] == "false"
    assert all(value is None for name, value in result.items() if name != "Active")
    assert not any(name.startswith("OAuthParam:") for name in result)


@pytest.mark.parametrize(("status", "body", "error"), [
    (401, {"error": "invalid_client"}, OAuthError),
    (200, "<html>login</html>", cdata_oauth.OperationalError),
    (200, {"scope": "no active member"}, cdata_oauth.OperationalError),
])
def test_a_bad_introspection_answer_is_an_operational_error_without_secrets(
        metadata_server: MetadataServer, status: int, body: Any,
        error: type[Exception]) -> None:
    issuer = served(metadata_server)
    metadata_server.serve("POST", issuer + "/introspect", status=status,
                          body=body if isinstance(body, str) else json.dumps(body),
                          content_type="text/html" if isinstance(body, str) else
                          "application/json")
    with cdata_oauth.connect(**props(issuer)) as conn, pytest.raises(error) as caught:
        conn.execute("EXEC IntrospectOAuthToken Token='secret-token-Vb7'")
    assert "secret-token-Vb7" not in str(caught.value)
    assert CLIENT_SECRET not in str(caught.value)


def test_no_token_or_client_secret_reaches_the_log_file_or_log_records(
        metadata_server: MetadataServer, tmp_path: Path, logs: Logs) -> None:  # noqa: F811
    log = tmp_path / "http.log"
    issuer, conn = connect_with_stored_token(metadata_server, "memory://revoke-logs",
                                             LogFile=str(log))
    metadata_server.serve("POST", issuer + "/introspect",
                          body={"active": True, "jti": ACCESS, "client_id": "disc-client"})
    metadata_server.serve("POST", issuer + "/revoke", status=400,
                          body={"error": "invalid_request", "error_description": REFRESH})
    with conn:
        conn.execute("EXEC IntrospectOAuthToken")
        with pytest.raises(OAuthError) as caught:
            conn.execute("EXEC RevokeOAuthToken")
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    logs.secret(ACCESS, REFRESH, CLIENT_SECRET, basic)
    text = log.read_text()
    assert "POST " + issuer + "/revoke" in text and "token_type_hint=refresh_token" in text
    for secret in (ACCESS, REFRESH, CLIENT_SECRET):
        assert secret not in text and secret not in str(caught.value)
    logs.check()


def test_after_revoking_the_stored_token_getandrefresh_gets_a_new_one(
        metadata_server: MetadataServer) -> None:
    issuer = served(metadata_server)
    metadata_server.serve("POST", issuer + "/token", body={"access_token": ACCESS,
                                                           "expires_in": 600})
    metadata_server.serve("POST", issuer + "/revoke", body="")
    with cdata_oauth.connect(**props(issuer, GrantType="CLIENT", InitiateOAuth="GETANDREFRESH",
                                     OAuthSettingsLocation="memory://revoke-again")) as conn:
        assert conn.tokens.stored() is not None  # got at connect time, from the issuer alone
        conn.execute("EXEC RevokeOAuthToken")
        assert conn.tokens.stored() is None
        assert conn.tokens.current().access_token == ACCESS
    assert len(metadata_server.posts(issuer + "/token")) == 2
