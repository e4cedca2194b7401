"""OAuth 2.0 grants against the real oauth2-mock-server (npm), checking what reached it."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

import cdata_oauth
from cdata_oauth.exceptions import OAuthError, ProgrammingError
from tests.servers.oauth2_mock import OAuth2MockServer, execute_row


def connect(mock: OAuth2MockServer, **overrides: Any) -> cdata_oauth.Connection:
    return cdata_oauth.connect(**mock.connection_properties(**overrides))


def basic_credentials(request: dict[str, Any]) -> tuple[str, str] | None:
    header = request["headers"].get("authorization")
    if header is None:
        return None
    scheme, _, encoded = header.partition(" ")
    assert scheme == "Basic"
    user, _, password = base64.b64decode(encoded).decode().partition(":")
    return user, password


def only_token_request(mock: OAuth2MockServer) -> dict[str, Any]:
    seen = mock.token_requests()
    assert len(seen) == 1, seen
    return seen[0]


def follow_authorization(url: str) -> str:
    """The browser step: the mock approves at once and redirects to redirect_uri."""
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return str(answer.headers["Location"])


# -- CLIENT ------------------------------------------------------------------------------

def test_client_credentials_basic_auth_by_default(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, GrantType="CLIENT", Scope="read write") as conn:
        row = execute_row(conn, "EXEC GetOAuthAccessToken")
    assert row["OAuthAccessToken"].count(".") == 2  # a JWT the server signed
    assert row["OAuthTokenSecret"] == ""
    assert row["ExpiresIn"] == 3600
    assert row["OAuthParam:token_type"] == "Bearer"
    assert row["OAuthParam:scope"] == "read write"
    sent = only_token_request(oauth2_mock)
    assert basic_credentials(sent) == (oauth2_mock.client_id, oauth2_mock.client_secret)
    assert sent["form"] == {"grant_type": "client_credentials", "scope": "read write"}


def test_client_auth_post_sends_secret_in_body_only(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, GrantType="CLIENT", OtherOptions="ClientAuth=POST") as conn:
        execute_row(conn, "EXEC GetOAuthAccessToken")
    sent = only_token_request(oauth2_mock)
    assert basic_credentials(sent) is None
    assert sent["form"]["client_id"] == oauth2_mock.client_id
    assert sent["form"]["client_secret"] == oauth2_mock.client_secret


def test_client_auth_none_sends_client_id_only(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, GrantType="CLIENT", OtherOptions="clientauth=none") as conn:
        execute_row(conn, "EXEC GetOAuthAccessToken")
    sent = only_token_request(oauth2_mock)
    assert basic_credentials(sent) is None
    assert sent["form"] == {"grant_type": "client_credentials",
                            "client_id": oauth2_mock.client_id}


def test_public_client_without_secret_defaults_to_none(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, GrantType="CLIENT", OAuthClientSecret=None) as conn:
        execute_row(conn, "EXEC GetOAuthAccessToken")
    sent = only_token_request(oauth2_mock)
    assert basic_credentials(sent) is None
    assert sent["form"]["client_id"] == oauth2_mock.client_id
    assert "client_secret" not in sent["form"]


def test_client_auth_basic_without_secret_is_refused(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, GrantType="CLIENT", OAuthClientSecret=None,
                 OtherOptions="ClientAuth=BASIC") as conn, \
            pytest.raises(ProgrammingError, match="OAuthClientSecret"):
        execute_row(conn, "EXEC GetOAuthAccessToken")
    assert oauth2_mock.token_requests() == []


# -- PASSWORD ----------------------------------------------------------------------------

def test_password_grant(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, GrantType="PASSWORD", User="ann", Password="s3cret pass",
                 Scope="openid") as conn:
        row = execute_row(conn, "EXEC GetOAuthAccessToken")
    assert row["OAuthAccessToken"]
    assert row["OAuthRefreshToken"]  # the mock issues one for this grant
    assert row["OAuthParam:id_token"].count(".") == 2
    sent = only_token_request(oauth2_mock)
    assert sent["form"] == {"grant_type": "password", "username": "ann",
                            "password": "s3cret pass", "scope": "openid"}
    assert basic_credentials(sent) == (oauth2_mock.client_id, oauth2_mock.client_secret)


def test_password_grant_inputs_in_exec(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock) as conn:
        row = execute_row(conn, "EXEC GetOAuthAccessToken GrantType='PASSWORD', User=?, "
                                "Password=?", ("bob", "pw-of-bob"))
    assert row["OAuthAccessToken"]
    assert only_token_request(oauth2_mock)["form"]["username"] == "bob"


def test_password_grant_needs_user(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, GrantType="PASSWORD", Password="x") as conn, \
            pytest.raises(ProgrammingError, match=r"needs User"):
        execute_row(conn, "EXEC GetOAuthAccessToken")


# -- REFRESH -----------------------------------------------------------------------------

def test_refresh_procedure_rotates(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock) as conn:
        row = execute_row(conn, "EXEC RefreshOAuthAccessToken OAuthRefreshToken='old-rt-1'")
    assert row["OAuthAccessToken"]
    assert row["OAuthRefreshToken"] not in (None, "", "old-rt-1")
    sent = only_token_request(oauth2_mock)
    assert sent["form"] == {"grant_type": "refresh_token", "refresh_token": "old-rt-1"}


def test_refresh_keeps_sent_token_when_none_returned(oauth2_mock: OAuth2MockServer) -> None:
    oauth2_mock.next_token_response(drop=["refresh_token", "expires_in"])
    with connect(oauth2_mock, GrantType="REFRESH", OAuthRefreshToken="keep-me-rt") as conn:
        row = execute_row(conn, "EXEC GetOAuthAccessToken")
    assert row["OAuthRefreshToken"] == "keep-me-rt"
    assert row["ExpiresIn"] is None


def test_refresh_uses_refresh_token_url(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, OAuthAccessTokenURL="http://127.0.0.1:9/unused",
                 OAuthRefreshTokenURL=oauth2_mock.token_url) as conn:
        row = execute_row(conn, "EXEC RefreshOAuthAccessToken OAuthRefreshToken='rt-2'")
    assert row["OAuthAccessToken"]
    assert only_token_request(oauth2_mock)["form"]["refresh_token"] == "rt-2"


def test_refresh_with_client_auth_post(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, OtherOptions="ClientAuth=POST") as conn:
        execute_row(conn, "EXEC RefreshOAuthAccessToken OAuthRefreshToken='rt-3'")
    sent = only_token_request(oauth2_mock)
    assert basic_credentials(sent) is None
    assert sent["form"]["client_secret"] == oauth2_mock.client_secret


def test_refresh_invalid_grant_is_oauth_error(oauth2_mock: OAuth2MockServer) -> None:
    oauth2_mock.next_token_response(status=400, body={
        "error": "invalid_grant", "error_description": "refresh token revoked"})
    with connect(oauth2_mock) as conn, pytest.raises(OAuthError) as caught:
        execute_row(conn, "EXEC RefreshOAuthAccessToken OAuthRefreshToken='dead-rt-4'")
    error = caught.value
    assert (error.error, error.description, error.status) == (
        "invalid_grant", "refresh token revoked", 400)
    assert "invalid_grant" in str(error) and "refresh token revoked" in str(error)
    assert "dead-rt-4" not in str(error)


# -- OAuthParam, PostData, Scope ---------------------------------------------------------

def test_oauth_param_in_and_out(oauth2_mock: OAuth2MockServer) -> None:
    oauth2_mock.next_token_response(merge={"tenant": "t-42", "extra_number": 7})
    with connect(oauth2_mock, GrantType="CLIENT", **{"OAuthParam:audience": "api://x"}) as conn:
        row = execute_row(conn, "EXEC GetOAuthAccessToken \"OAuthParam:resource\"='urn:res'")
    sent = only_token_request(oauth2_mock)
    assert sent["form"]["audience"] == "api://x"
    assert sent["form"]["resource"] == "urn:res"
    assert row["OAuthParam:tenant"] == "t-42"
    assert row["OAuthParam:extra_number"] == 7
    columns = list(row)
    extras = [c for c in columns if c.startswith("OAuthParam:")]
    assert columns[:4] == ["OAuthAccessToken", "OAuthTokenSecret", "OAuthRefreshToken",
                           "ExpiresIn"]
    assert extras == sorted(extras)


def test_oauth_param_may_not_replace_a_built_parameter(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, GrantType="CLIENT", **{"OAuthParam:scope": "x"}) as conn, \
            pytest.raises(ProgrammingError, match="use Scope"):
        execute_row(conn, "EXEC GetOAuthAccessToken")


def test_post_data_is_sent_verbatim(oauth2_mock: OAuth2MockServer) -> None:
    body = "grant_type=client_credentials&scope=from+postdata&custom=1"
    with connect(oauth2_mock, GrantType="CLIENT", Scope="ignored") as conn:
        row = execute_row(conn, "EXEC GetOAuthAccessToken PostData=?", (body,))
    assert row["OAuthParam:scope"] == "from postdata"
    sent = only_token_request(oauth2_mock)
    assert sent["form"] == {"grant_type": "client_credentials", "scope": "from postdata",
                            "custom": "1"}
    assert sent["headers"]["content-length"] == str(len(body))


# -- CODE, WEB mode ----------------------------------------------------------------------

def test_web_two_step_same_connection(oauth2_mock: OAuth2MockServer) -> None:
    callback = "https://app.example/oauth/callback"
    with connect(oauth2_mock, AuthMode="WEB", CallbackURL=callback, Scope="openid profile",
                 **{"OAuthParam:prompt": "consent"}) as conn:
        first = execute_row(conn, "EXEC GetOAuthAuthorizationURL")
        url = first["URL"]
        query = parse_qs(urlsplit(url).query)
        assert url.startswith(oauth2_mock.authorization_url + "?")
        assert query["response_type"] == ["code"]
        assert query["client_id"] == [oauth2_mock.client_id]
        assert query["redirect_uri"] == [callback]
        assert query["scope"] == ["openid profile"]
        assert query["state"] == [first["State"]]
        assert query["prompt"] == ["consent"]
        assert query["code_challenge_method"] == ["S256"]
        digest = hashlib.sha256(first["PKCEVerifier"].encode()).digest()
        assert query["code_challenge"] == [base64.urlsafe_b64encode(digest).rstrip(b"=").decode()]

        landed = follow_authorization(url)
        assert landed.startswith(callback)
        # The whole callback URL as Verifier; state and PKCE verifier come from the connection.
        row = execute_row(conn, "EXEC GetOAuthAccessToken Verifier=?", (landed,))
    assert row["OAuthAccessToken"] and row["OAuthRefreshToken"]
    sent = only_token_request(oauth2_mock)
    code = parse_qs(urlsplit(landed).query)["code"][0]
    assert sent["form"]["grant_type"] == "authorization_code"
    assert sent["form"]["code"] == code
    assert sent["form"]["redirect_uri"] == callback
    assert sent["form"]["code_verifier"] == first["PKCEVerifier"]  # mock checked the challenge


def test_web_two_step_across_connections_with_bare_code(oauth2_mock: OAuth2MockServer) -> None:
    callback = "http://localhost:8080/cb"
    with connect(oauth2_mock, CallbackURL=callback) as first_conn:
        first = execute_row(first_conn, "EXEC GetOAuthAuthorizationURL")
    landed = follow_authorization(first["URL"])
    code = parse_qs(urlsplit(landed).query)["code"][0]
    with connect(oauth2_mock, CallbackURL=callback) as second_conn:
        row = execute_row(second_conn,
                          "EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?, State=?, "
                          "PKCEVerifier=?", (code, first["State"], first["PKCEVerifier"]))
    assert row["OAuthAccessToken"]
    assert only_token_request(oauth2_mock)["form"]["code_verifier"] == first["PKCEVerifier"]


def test_web_pkce_plain_and_off(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, AuthMode="WEB", OtherOptions="PKCE=PLAIN") as conn:
        first = execute_row(conn, "EXEC GetOAuthAuthorizationURL")
        query = parse_qs(urlsplit(first["URL"]).query)
        assert query["code_challenge_method"] == ["plain"]
        assert query["code_challenge"] == [first["PKCEVerifier"]]
        execute_row(conn, "EXEC GetOAuthAccessToken Verifier=?",
                    (follow_authorization(first["URL"]),))
    with connect(oauth2_mock, AuthMode="WEB", OtherOptions="PKCE=OFF") as conn:
        first = execute_row(conn, "EXEC GetOAuthAuthorizationURL")
        assert first["PKCEVerifier"] is None
        assert "code_challenge" not in first["URL"]
        oauth2_mock.clear()
        execute_row(conn, "EXEC GetOAuthAccessToken Verifier=?",
                    (follow_authorization(first["URL"]),))
    assert "code_verifier" not in only_token_request(oauth2_mock)["form"]


def test_web_state_mismatch(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, AuthMode="WEB") as conn:
        first = execute_row(conn, "EXEC GetOAuthAuthorizationURL")
        landed = follow_authorization(first["URL"])
        with pytest.raises(OAuthError, match="state") as caught:
            execute_row(conn, "EXEC GetOAuthAccessToken Verifier=?, State='another-state'",
                        (landed,))
        assert caught.value.error == "state_mismatch"
        forged = landed.replace(first["State"], "forged-state")
        with pytest.raises(OAuthError, match="state"):
            execute_row(conn, "EXEC GetOAuthAccessToken Verifier=?", (forged,))
    assert oauth2_mock.token_requests() == []


def test_web_callback_error_access_denied(oauth2_mock: OAuth2MockServer) -> None:
    landed = ("https://app.example/cb?error=access_denied&error_description=User+said+no"
              "&state=xyz")
    with connect(oauth2_mock, AuthMode="WEB") as conn, pytest.raises(OAuthError) as caught:
        execute_row(conn, "EXEC GetOAuthAccessToken Verifier=?", (landed,))
    assert caught.value.error == "access_denied"
    assert caught.value.description == "User said no"
    assert "access_denied" in str(caught.value)
    assert oauth2_mock.token_requests() == []


def test_web_needs_verifier(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, AuthMode="WEB") as conn, \
            pytest.raises(ProgrammingError, match="Verifier"):
        execute_row(conn, "EXEC GetOAuthAccessToken")


# -- properties and options --------------------------------------------------------------

@pytest.mark.parametrize(("missing", "grant"), [
    ("OAuthAccessTokenURL", "CLIENT"), ("OAuthClientId", "CLIENT"),
    ("OAuthAccessTokenURL", "PASSWORD"), ("OAuthRefreshToken", "REFRESH"),
])
def test_missing_property_is_named(oauth2_mock: OAuth2MockServer, missing: str,
                                   grant: str) -> None:
    with connect(oauth2_mock, GrantType=grant, User="u", Password="p",
                 **{missing: None}) as conn, pytest.raises(ProgrammingError, match=missing):
        execute_row(conn, "EXEC GetOAuthAccessToken")


def test_authorization_url_needs_authorization_url(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, OAuthAuthorizationURL=None) as conn, \
            pytest.raises(ProgrammingError, match="OAuthAuthorizationURL"):
        execute_row(conn, "EXEC GetOAuthAuthorizationURL")


def test_plain_http_to_remote_host_refused_before_any_request(
        oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, GrantType="CLIENT",
                 OAuthAccessTokenURL="http://tokens.example.com/token") as conn, \
            pytest.raises(ProgrammingError, match="AllowInsecureHTTP"):
        execute_row(conn, "EXEC GetOAuthAccessToken")
    with connect(oauth2_mock, AuthMode="WEB",
                 OAuthAuthorizationURL="http://login.example.com/auth") as conn, \
            pytest.raises(ProgrammingError, match="plain http"):
        execute_row(conn, "EXEC GetOAuthAuthorizationURL")


def test_allow_insecure_http_option(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, AuthMode="WEB", OAuthAuthorizationURL="http://login.example/a",
                 OtherOptions="AllowInsecureHTTP=TRUE") as conn:
        row = execute_row(conn, "EXEC GetOAuthAuthorizationURL")
    assert row["URL"].startswith("http://login.example/a?")


def test_unknown_other_option_suggests(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, GrantType="CLIENT", OtherOptions="ClientAuht=POST") as conn, \
            pytest.raises(ProgrammingError, match="Did you mean ClientAuth"):
        execute_row(conn, "EXEC GetOAuthAccessToken")


def test_bad_other_option_value(oauth2_mock: OAuth2MockServer) -> None:
    with connect(oauth2_mock, GrantType="CLIENT", OtherOptions="PKCE=S512") as conn, \
            pytest.raises(ProgrammingError, match="S256, PLAIN, OFF"):
        execute_row(conn, "EXEC GetOAuthAccessToken")
