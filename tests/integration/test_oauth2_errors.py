"""What each bad token endpoint answer becomes: a real local server answers badly on purpose."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

import cdata_oauth
from cdata_oauth.exceptions import OAuthError, OperationalError
from cdata_oauth.redaction import MASK
from tests.servers.badserver import BadServer
from tests.servers.oauth2_mock import execute_row

SECRET = "client-secret-xyz-123"


def client_grant(bad_server: BadServer, path: str, **extra: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "OAuthVersion": "2.0", "GrantType": "CLIENT", "OAuthClientId": "cid",
        "OAuthClientSecret": SECRET, "OAuthAccessTokenURL": bad_server.url(path),
        "Timeout": 10, **extra}
    with cdata_oauth.connect(**props) as conn:
        return execute_row(conn, "EXEC GetOAuthAccessToken")


def test_html_500(bad_server: BadServer) -> None:
    with pytest.raises(OperationalError) as caught:
        client_grant(bad_server, "/html500")
    assert not isinstance(caught.value, OAuthError)
    message = str(caught.value)
    assert "HTTP 500" in message and "Internal Server Error" in message


def test_invalid_json(bad_server: BadServer) -> None:
    with pytest.raises(OperationalError, match="neither JSON nor form") as caught:
        client_grant(bad_server, "/invalid-json")
    assert "HTTP 200" in str(caught.value)


def test_success_without_access_token(bad_server: BadServer) -> None:
    with pytest.raises(OperationalError, match="without an access_token") as caught:
        client_grant(bad_server, "/no-access-token")
    assert not isinstance(caught.value, OAuthError)
    assert "token_type" in str(caught.value)  # the excerpt shows what came instead


def test_form_encoded_error(bad_server: BadServer) -> None:
    with pytest.raises(OAuthError) as caught:
        client_grant(bad_server, "/form-error")
    error = caught.value
    assert (error.error, error.description, error.uri, error.status) == (
        "invalid_client", "Client authentication failed", "https://docs.example/errors", 400)
    assert "invalid_client" in str(error) and "Client authentication failed" in str(error)


def test_json_error(bad_server: BadServer) -> None:
    with pytest.raises(OAuthError) as caught:
        client_grant(bad_server, "/json-error")
    error = caught.value
    assert (error.error, error.status) == ("invalid_client", 401)
    assert error.uri == "https://docs.example/invalid_client"
    assert "https://docs.example/invalid_client" in str(error)


def test_error_with_status_200(bad_server: BadServer) -> None:
    with pytest.raises(OAuthError) as caught:
        client_grant(bad_server, "/json-error-200")
    assert (caught.value.error, caught.value.status) == ("invalid_grant", 200)


def test_json_404_without_oauth_error(bad_server: BadServer) -> None:
    with pytest.raises(OperationalError, match="HTTP 404") as caught:
        client_grant(bad_server, "/json-404")
    assert "no such route" in str(caught.value)


def test_empty_502(bad_server: BadServer) -> None:
    with pytest.raises(OperationalError, match=r"HTTP 502.*\(empty\)"):
        client_grant(bad_server, "/empty-502")


def test_plain_text_200(bad_server: BadServer) -> None:
    with pytest.raises(OperationalError, match="neither JSON nor form"):
        client_grant(bad_server, "/plain-text")


@pytest.mark.parametrize(("path", "token", "extras"), [
    ("/form-token-plain", "form-access-1", {"OAuthParam:token_type": "bearer",
                                            "OAuthParam:expires": "5183999"}),
    ("/form-token", "form-access-2", {"OAuthParam:token_type": "bearer"}),
])
def test_form_encoded_token_with_either_content_type(bad_server: BadServer, path: str,
                                                     token: str,
                                                     extras: dict[str, str]) -> None:
    row = client_grant(bad_server, path)
    assert row["OAuthAccessToken"] == token
    for name, value in extras.items():
        assert row[name] == value
    assert row["ExpiresIn"] == (60 if path == "/form-token" else None)


def test_nested_json_field_becomes_json_text(bad_server: BadServer) -> None:
    row = client_grant(bad_server, "/json-nested")
    assert json.loads(row["OAuthParam:profile"]) == {"name": "Ann", "roles": ["a", "b"]}


def test_secrets_masked_in_error_excerpt(bad_server: BadServer) -> None:
    with pytest.raises(OperationalError) as caught:
        client_grant(bad_server, "/echo-500", OtherOptions="ClientAuth=POST",
                     **{"OAuthParam:assertion_token": "param-token-456"})
    message = str(caught.value)
    assert "HTTP 500" in message and "client_id=cid" in message
    assert SECRET not in message and "param-token-456" not in message
    assert MASK in message


def test_timeout_names_host(bad_server: BadServer) -> None:
    with pytest.raises(OperationalError, match=r"127\.0\.0\.1.*timed out"):
        client_grant(bad_server, "/slow", Timeout=1)


def test_connection_refused_names_host() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    props = {"OAuthVersion": "2.0", "GrantType": "CLIENT", "OAuthClientId": "cid",
             "OAuthAccessTokenURL": f"http://127.0.0.1:{port}/token"}
    with cdata_oauth.connect(**props) as conn, \
            pytest.raises(OperationalError, match=r"127\.0\.0\.1.*refused"):
        execute_row(conn, "EXEC GetOAuthAccessToken")
