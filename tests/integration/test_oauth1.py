"""The OAuth 1.0a flow end to end against the oauthlib-based provider on 127.0.0.1:
WEB two-step, APP mode with headless chromium, every SignMethod, provider errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from requests_oauthlib import OAuth1

import cdata_oauth
from cdata_oauth import NotSupportedError, OAuthError, OperationalError, ProgrammingError
from tests.servers.oauth1_provider import ConsumerApp, OAuth1Provider, SigningKeyFiles

CALLBACK = "http://127.0.0.1:9/back"  # the browser is sent here; nothing needs to listen


def _row(cursor: Any) -> dict[str, Any]:
    row = cursor.fetchone()
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}


def _verifier(landing: str) -> str:
    return dict(parse_qsl(urlsplit(landing).query or landing))["oauth_verifier"]


def _resource_ok(provider: OAuth1Provider, app: ConsumerApp, token: str, secret: str) -> bool:
    """The access token works: an independent client (requests-oauthlib) reads a
    protected resource with it."""
    auth = OAuth1(app.key, app.secret, token, secret)
    return requests.get(provider.resource_url, auth=auth, timeout=10).status_code == 200


def test_web_two_step_across_two_connections(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register(extra={"user_id": "42", "screen_name": "jane"})
    props = oauth1_provider.connection_properties(app, CallbackURL=CALLBACK)
    with cdata_oauth.connect(**props) as first:
        step1 = _row(first.execute("EXEC GetOAuthAuthorizationURL"))
    assert step1["URL"].startswith(oauth1_provider.authorization_url + "?")
    assert dict(parse_qsl(urlsplit(step1["URL"]).query))["oauth_token"] == \
        step1["OAuthAccessToken"]
    assert step1["OAuthTokenSecret"]
    sent = oauth1_provider.requests_to("/request_token")[-1].oauth
    assert sent["oauth_callback"] == CALLBACK and sent["oauth_signature_method"] == "HMAC-SHA1"

    landing = oauth1_provider.authorize(step1["URL"])  # the user approves in a browser
    assert landing.startswith(CALLBACK + "?")
    with cdata_oauth.connect(**props) as second:  # another process, another connection
        cursor = second.execute(
            "EXEC GetOAuthAccessToken AuthMode='WEB', OAuthAccessToken=?, "
            "OAuthAccessTokenSecret=?, Verifier=?",
            (step1["OAuthAccessToken"], step1["OAuthTokenSecret"], landing))
        result = _row(cursor)
    assert result["OAuthParam:user_id"] == "42"
    assert result["OAuthParam:screen_name"] == "jane"
    assert result["OAuthRefreshToken"] is None and result["ExpiresIn"] is None
    assert result["OAuthAccessToken"] != step1["OAuthAccessToken"]
    assert _resource_ok(oauth1_provider, app, result["OAuthAccessToken"],
                        result["OAuthTokenSecret"])
    columns = [d[0] for d in cursor.description]
    assert columns[:4] == ["OAuthAccessToken", "OAuthTokenSecret", "OAuthRefreshToken",
                           "ExpiresIn"]


def test_web_second_exec_on_the_same_connection_may_omit_the_request_token(
        oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    with cdata_oauth.connect(**oauth1_provider.connection_properties(app)) as conn:
        step1 = _row(conn.execute("EXEC GetOAuthAuthorizationURL"))
        # no CallbackURL: out of band; the provider shows the verifier to the user
        assert oauth1_provider.requests_to("/request_token")[-1].oauth["oauth_callback"] == \
            "oob"
        verifier = _verifier(oauth1_provider.authorize(step1["URL"]))
        result = _row(conn.execute("EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?",
                                   (verifier,)))
    assert _resource_ok(oauth1_provider, app, result["OAuthAccessToken"],
                        result["OAuthTokenSecret"])


def test_request_token_is_used_once(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    with cdata_oauth.connect(**oauth1_provider.connection_properties(app)) as conn:
        step1 = _row(conn.execute("EXEC GetOAuthAuthorizationURL"))
        verifier = _verifier(oauth1_provider.authorize(step1["URL"]))
        exchange = ("EXEC GetOAuthAccessToken AuthMode='WEB', OAuthAccessToken=?, "
                    "OAuthAccessTokenSecret=?, Verifier=?")
        args = (step1["OAuthAccessToken"], step1["OAuthTokenSecret"], verifier)
        conn.execute(exchange, args)
        with pytest.raises(OAuthError) as caught:
            conn.execute(exchange, args)
    assert caught.value.error == "token_rejected" and caught.value.status == 401
    assert step1["OAuthTokenSecret"] not in str(caught.value)


@pytest.mark.parametrize("method", ["HMAC-SHA1", "HMAC-SHA256", "PLAINTEXT", "RSA-SHA1"])
def test_each_sign_method(oauth1_provider: OAuth1Provider, oauth1_test_key: SigningKeyFiles,
                          method: str) -> None:
    app = oauth1_provider.register(rsa_public_pem=oauth1_test_key.public_pem)
    extra = {"Cert": oauth1_test_key.pfx_path, "CertPassword": oauth1_test_key.password,
             "OAuthClientSecret": None} if method == "RSA-SHA1" else {}
    props = oauth1_provider.connection_properties(app, SignMethod=method, **extra)
    with cdata_oauth.connect(**props) as conn:
        step1 = _row(conn.execute("EXEC GetOAuthAuthorizationURL"))
        verifier = _verifier(oauth1_provider.authorize(step1["URL"]))
        result = _row(conn.execute("EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?",
                                   (verifier,)))
    for path in ("/request_token", "/access_token"):
        assert oauth1_provider.requests_to(path)[-1].oauth["oauth_signature_method"] == method
    assert _resource_ok(oauth1_provider, app, result["OAuthAccessToken"],
                        result["OAuthTokenSecret"])


def test_cert_without_sign_method_means_rsa_sha1(oauth1_provider: OAuth1Provider,
                                                 oauth1_test_key: SigningKeyFiles) -> None:
    app = oauth1_provider.register(rsa_public_pem=oauth1_test_key.public_pem)
    props = oauth1_provider.connection_properties(
        app, Cert=oauth1_test_key.pfx_path, CertPassword=oauth1_test_key.password)
    with cdata_oauth.connect(**props) as conn:
        conn.execute("EXEC GetOAuthAuthorizationURL")
        assert oauth1_provider.requests_to("/request_token")[-1].oauth[
            "oauth_signature_method"] == "RSA-SHA1"
        # an explicit SignMethod wins over the Cert, even when it names the default
        conn.execute("EXEC GetOAuthAuthorizationURL SignMethod='HMAC-SHA1'")
        assert oauth1_provider.requests_to("/request_token")[-1].oauth[
            "oauth_signature_method"] == "HMAC-SHA1"
    with cdata_oauth.connect(**props, SignMethod="PLAINTEXT") as conn:
        conn.execute("EXEC GetOAuthAuthorizationURL")
        assert oauth1_provider.requests_to("/request_token")[-1].oauth[
            "oauth_signature_method"] == "PLAINTEXT"


def test_rsa_with_another_key_fails_at_the_provider(
        oauth1_provider: OAuth1Provider, oauth1_test_key: SigningKeyFiles,
        tmp_path: Any) -> None:
    from tests.servers.oauth1_provider import make_rsa_key, public_pem

    app = oauth1_provider.register(rsa_public_pem=public_pem(make_rsa_key()))
    props = oauth1_provider.connection_properties(
        app, Cert=oauth1_test_key.pfx_path, CertPassword=oauth1_test_key.password)
    with cdata_oauth.connect(**props) as conn, pytest.raises(OAuthError) as caught:
        conn.execute("EXEC GetOAuthAuthorizationURL")
    assert caught.value.error == "signature_invalid"


def test_pfx_problems_reach_the_statement(oauth1_provider: OAuth1Provider,
                                          oauth1_test_key: SigningKeyFiles,
                                          tmp_path: Any) -> None:
    app = oauth1_provider.register(rsa_public_pem=oauth1_test_key.public_pem)
    props = oauth1_provider.connection_properties(app, Cert=oauth1_test_key.pfx_path,
                                                  CertPassword="wrong-password")
    with cdata_oauth.connect(**props) as conn, \
            pytest.raises(ProgrammingError, match="password is wrong") as caught:
        conn.execute("EXEC GetOAuthAuthorizationURL")
    assert "wrong-password" not in str(caught.value)
    props = oauth1_provider.connection_properties(app, Cert=str(tmp_path / "absent.pfx"))
    with cdata_oauth.connect(**props) as conn, \
            pytest.raises(ProgrammingError, match="does not exist"):
        conn.execute("EXEC GetOAuthAuthorizationURL")
    props = oauth1_provider.connection_properties(app, SignMethod="RSA-SHA1")
    with cdata_oauth.connect(**props) as conn, pytest.raises(ProgrammingError, match="Cert"):
        conn.execute("EXEC GetOAuthAuthorizationURL")
    assert not oauth1_provider.requests_to("/nothing-was-sent")


def test_wrong_consumer_secret(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    props = oauth1_provider.connection_properties(app, OAuthClientSecret="not-the-secret")
    with cdata_oauth.connect(**props) as conn, pytest.raises(OAuthError) as caught:
        conn.execute("EXEC GetOAuthAuthorizationURL")
    error = caught.value
    assert (error.error, error.status) == ("signature_invalid", 401)
    assert "signature_invalid" in str(error) and "401" in str(error)
    assert "OAuthClientSecret" in str(error)  # says what to check
    assert "not-the-secret" not in str(error)


def test_unknown_consumer_key(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    props = oauth1_provider.connection_properties(app, OAuthClientId="x" * 24)
    with cdata_oauth.connect(**props) as conn, pytest.raises(OAuthError) as caught:
        conn.execute("EXEC GetOAuthAuthorizationURL")
    assert caught.value.error == "consumer_key_unknown"


def test_wrong_verifier_and_wrong_token_secret(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    with cdata_oauth.connect(**oauth1_provider.connection_properties(app)) as conn:
        step1 = _row(conn.execute("EXEC GetOAuthAuthorizationURL"))
        verifier = _verifier(oauth1_provider.authorize(step1["URL"]))
        exchange = ("EXEC GetOAuthAccessToken AuthMode='WEB', OAuthAccessToken=?, "
                    "OAuthAccessTokenSecret=?, Verifier=?")
        with pytest.raises(OAuthError) as caught:
            conn.execute(exchange, (step1["OAuthAccessToken"], step1["OAuthTokenSecret"],
                                    "W" * 30))
        assert caught.value.error == "verifier_invalid"
        with pytest.raises(OAuthError) as caught:  # a tampered request: wrong token secret
            conn.execute(exchange, (step1["OAuthAccessToken"], "tampered", verifier))
        assert caught.value.error == "signature_invalid"
        result = _row(conn.execute(exchange, (step1["OAuthAccessToken"],
                                              step1["OAuthTokenSecret"], verifier)))
    assert _resource_ok(oauth1_provider, app, result["OAuthAccessToken"],
                        result["OAuthTokenSecret"])


def test_callback_url_for_another_request_token(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    props = oauth1_provider.connection_properties(app, CallbackURL=CALLBACK)
    with cdata_oauth.connect(**props) as conn:
        first = _row(conn.execute("EXEC GetOAuthAuthorizationURL"))
        second = _row(conn.execute("EXEC GetOAuthAuthorizationURL"))
        landing = oauth1_provider.authorize(second["URL"])
        with pytest.raises(ProgrammingError, match="another request token"):
            conn.execute("EXEC GetOAuthAccessToken AuthMode='WEB', OAuthAccessToken=?, "
                         "Verifier=?", (first["OAuthAccessToken"], landing))
        # the callback URL alone names its token; its secret is remembered
        result = _row(conn.execute("EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?",
                                   (landing,)))
    assert _resource_ok(oauth1_provider, app, result["OAuthAccessToken"],
                        result["OAuthTokenSecret"])


def test_oauth_params_are_sent_and_signed(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    props = oauth1_provider.connection_properties(app, **{"OAuthParam:app_name": "demo app"})
    with cdata_oauth.connect(**props) as conn:
        step1 = _row(conn.execute("EXEC GetOAuthAuthorizationURL Scope='read write'"))
        assert dict(parse_qsl(urlsplit(step1["URL"]).query))["app_name"] == "demo app"
        got = dict(parse_qsl(oauth1_provider.requests_to("/request_token")[-1].body))
        assert got == {"app_name": "demo app", "scope": "read write"}
        verifier = _verifier(oauth1_provider.authorize(step1["URL"]))
        conn.execute("EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?, "
                     "[OAuthParam:x_mode]='full'", (verifier,))
    got = dict(parse_qsl(oauth1_provider.requests_to("/access_token")[-1].body))
    assert got == {"app_name": "demo app", "x_mode": "full"}  # accepted, so signed


def test_other_options_realm_and_version(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    props = oauth1_provider.connection_properties(
        app, OtherOptions="Realm=photos;SendOAuthVersion=FALSE")
    with cdata_oauth.connect(**props) as conn:
        conn.execute("EXEC GetOAuthAuthorizationURL")
    sent = oauth1_provider.requests_to("/request_token")[-1].oauth
    assert sent["realm"] == "photos" and "oauth_version" not in sent
    with cdata_oauth.connect(**oauth1_provider.connection_properties(app)) as conn:
        conn.execute("EXEC GetOAuthAuthorizationURL")
    sent = oauth1_provider.requests_to("/request_token")[-1].oauth
    assert "realm" not in sent and sent["oauth_version"] == "1.0"


def test_reserved_oauth_param_is_refused(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    props = oauth1_provider.connection_properties(app)
    with cdata_oauth.connect(**props) as conn, \
            pytest.raises(ProgrammingError, match="use CallbackURL"):
        conn.execute("EXEC GetOAuthAuthorizationURL [OAuthParam:oauth_callback]='x'")


def test_post_data_is_the_body(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    with cdata_oauth.connect(**oauth1_provider.connection_properties(app)) as conn:
        step1 = _row(conn.execute("EXEC GetOAuthAuthorizationURL"))
        verifier = _verifier(oauth1_provider.authorize(step1["URL"]))
        conn.execute("EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?, "
                     "PostData='device=printer&lang=en'", (verifier,))
    received = oauth1_provider.requests_to("/access_token")[-1]
    assert received.body == "device=printer&lang=en"
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_json_post_data_is_covered_by_the_body_hash(oauth1_provider: OAuth1Provider) -> None:
    import base64
    import hashlib

    app = oauth1_provider.register()
    body = '{"device": "printer"}'
    with cdata_oauth.connect(**oauth1_provider.connection_properties(app)) as conn:
        step1 = _row(conn.execute("EXEC GetOAuthAuthorizationURL"))
        verifier = _verifier(oauth1_provider.authorize(step1["URL"]))
        conn.execute("EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?, PostData=?",
                     (verifier, body))
    received = oauth1_provider.requests_to("/access_token")[-1]
    assert received.body == body and received.headers["Content-Type"] == "application/json"
    assert received.oauth["oauth_body_hash"] == \
        base64.b64encode(hashlib.sha1(body.encode()).digest()).decode()


def test_refresh_is_not_supported(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    with cdata_oauth.connect(**oauth1_provider.connection_properties(app)) as conn, \
            pytest.raises(NotSupportedError, match=r"OAuth 1\.0a has no refresh grant"):
        conn.execute("EXEC RefreshOAuthAccessToken OAuthRefreshToken='abc'")
    assert not oauth1_provider.requests_to("/refresh")


def test_missing_request_token_url_suggests_oauth_2(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    props = oauth1_provider.connection_properties(app, OAuthRequestTokenURL=None)
    with cdata_oauth.connect(**props) as conn, \
            pytest.raises(ProgrammingError, match=r"OAuthRequestTokenURL.*OAuthVersion=2\.0"):
        conn.execute("EXEC GetOAuthAuthorizationURL")


def test_plain_http_only_to_loopback(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    props = oauth1_provider.connection_properties(
        app, OAuthRequestTokenURL="http://provider.example/request_token")
    with cdata_oauth.connect(**props) as conn, pytest.raises(ProgrammingError, match="https"):
        conn.execute("EXEC GetOAuthAuthorizationURL")


def test_web_needs_a_verifier(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    with cdata_oauth.connect(**oauth1_provider.connection_properties(app)) as conn, \
            pytest.raises(ProgrammingError, match="needs Verifier"):
        conn.execute("EXEC GetOAuthAccessToken AuthMode='WEB'")


def test_web_needs_the_request_token(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    with cdata_oauth.connect(**oauth1_provider.connection_properties(app)) as conn, \
            pytest.raises(ProgrammingError, match="needs the request token"):
        conn.execute("EXEC GetOAuthAccessToken AuthMode='WEB', Verifier='abc'")


def test_denied_in_callback_url(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    with cdata_oauth.connect(**oauth1_provider.connection_properties(app)) as conn, \
            pytest.raises(OAuthError, match="denied") as caught:
        conn.execute("EXEC GetOAuthAccessToken AuthMode='WEB', "
                     "Verifier='http://127.0.0.1:9/back?denied=abc'")
    assert caught.value.error == "access_denied"


# -- answers a provider should not give --------------------------------------------------

@pytest.mark.parametrize(("path", "expected", "match"), [
    ("/bad/html", OperationalError, r"HTTP 200 with a body that is not form-encoded"),
    ("/bad/notoken", OperationalError, r"HTTP 200 without oauth_token \(it sent: "),
    ("/bad/500", OperationalError, r"HTTP 500"),
    ("/bad/header-problem", OAuthError, r"HTTP 401\): timestamp_refused; check this"),
])
def test_bad_provider_answers(oauth1_provider: OAuth1Provider, path: str,
                              expected: type[Exception], match: str) -> None:
    app = oauth1_provider.register()
    props = oauth1_provider.connection_properties(
        app, SignMethod="PLAINTEXT", OAuthRequestTokenURL=oauth1_provider.base_url + path)
    with cdata_oauth.connect(**props) as conn, pytest.raises(expected, match=match) as caught:
        conn.execute("EXEC GetOAuthAuthorizationURL")
    message = str(caught.value)
    assert app.secret not in message  # /bad/500 echoes the PLAINTEXT signature
    if path == "/bad/500":
        assert "internal failure for signature ********&" in message
    assert "s3cr3tvalue" not in message  # /bad/notoken's token secret
    if expected is OAuthError:
        assert isinstance(caught.value, OAuthError) and caught.value.status == 401


def test_connection_refused_names_the_host(oauth1_provider: OAuth1Provider) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = oauth1_provider.register()
    props = oauth1_provider.connection_properties(
        app, OAuthRequestTokenURL=f"http://127.0.0.1:{port}/request_token")
    with cdata_oauth.connect(**props) as conn, \
            pytest.raises(OperationalError, match=r"127\.0\.0\.1"):
        conn.execute("EXEC GetOAuthAuthorizationURL")


# -- APP mode with a real browser --------------------------------------------------------

def test_app_mode_with_headless_chromium(oauth1_provider: OAuth1Provider,
                                         headless_browser: Any) -> None:
    app = oauth1_provider.register(extra={"user_id": "7"})
    props = oauth1_provider.connection_properties(
        app, CallbackURL="http://127.0.0.1:0/oauth1/callback", Timeout=60)
    with cdata_oauth.connect(**props) as conn:
        result = _row(conn.execute("EXEC GetOAuthAccessToken"))
    assert result["OAuthParam:user_id"] == "7"
    callback = oauth1_provider.requests_to("/request_token")[-1].oauth["oauth_callback"]
    assert callback.startswith("http://127.0.0.1:") and callback.endswith("/oauth1/callback")
    assert not callback.startswith("http://127.0.0.1:0/")  # the port actually bound
    assert "Authorization complete" in headless_browser.wait_for_output("Authorization complete")
    assert _resource_ok(oauth1_provider, app, result["OAuthAccessToken"],
                        result["OAuthTokenSecret"])


def test_app_mode_user_denies(oauth1_provider: OAuth1Provider, headless_browser: Any) -> None:
    app = oauth1_provider.register(deny=True)
    props = oauth1_provider.connection_properties(app, Timeout=60)
    with cdata_oauth.connect(**props) as conn, pytest.raises(OAuthError) as caught:
        conn.execute("EXEC GetOAuthAccessToken AuthMode='APP'")
    assert caught.value.error == "access_denied"
    assert all(r.oauth.get("oauth_consumer_key") != app.key  # no exchange was tried
               for r in oauth1_provider.requests_to("/access_token"))


def test_app_mode_without_browser_prints_the_url(oauth1_provider: OAuth1Provider,
                                                 no_browser: Any,
                                                 capfd: pytest.CaptureFixture[str]) -> None:
    app = oauth1_provider.register()
    props = oauth1_provider.connection_properties(app, Timeout=2)
    with cdata_oauth.connect(**props) as conn, \
            pytest.raises(OperationalError, match="timed out waiting for the browser"):
        conn.execute("EXEC GetOAuthAccessToken")
    printed = capfd.readouterr().err
    assert oauth1_provider.authorization_url + "?oauth_token=" in printed


def test_app_mode_needs_a_loopback_callback(oauth1_provider: OAuth1Provider) -> None:
    app = oauth1_provider.register()
    props = oauth1_provider.connection_properties(app, CallbackURL="https://app.example/cb")
    before = len(oauth1_provider.requests_to("/request_token"))
    with cdata_oauth.connect(**props) as conn, \
            pytest.raises(ProgrammingError, match="AuthMode=WEB"):
        conn.execute("EXEC GetOAuthAccessToken")
    assert len(oauth1_provider.requests_to("/request_token")) == before  # checked first
