"""URLs and proxy settings from users are data: a malformed token URL, authorization URL,
CallbackURL or proxy/firewall setting is a ProgrammingError that says what is wrong,
raised before any request. The malformed values point at a live local server, which
proves that nothing reached it."""

from __future__ import annotations

import ipaddress
import os
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cdata_oauth
from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.oauth.loopback import CallbackListener
from tests.servers.hostile import HostileServer, ScriptedBrowser

SECRET = "url-test-client-secret-91"
EXAMPLES = int(os.environ.get("CDATA_OAUTH_FUZZ_EXAMPLES", "600"))


def props(server: HostileServer, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "OAuthVersion": "2.0", "OAuthClientId": "cid", "OAuthClientSecret": SECRET,
        "OAuthAccessTokenURL": server.url("/token"),
        "OAuthAuthorizationURL": server.url("/authorize"), "Timeout": 5}
    values.update(extra)
    return values


def refused(server: HostileServer, statement: str, **extra: Any) -> str:
    """The ProgrammingError's message; asserts that the server received nothing."""
    with pytest.raises(ProgrammingError) as caught, \
            cdata_oauth.connect(**props(server, **extra)) as conn:
        conn.execute(statement)
    assert server.received == [], [r.path for r in server.received]
    message = str(caught.value)
    assert SECRET not in message
    return message


def token_urls(host: str) -> list[tuple[str, str]]:
    """(malformed URL, a word the message must contain)."""
    return [
        ("not a url", "not an http(s) URL"),
        (f"{host}/token", "not an http(s) URL"),
        (f"ftp://{host}/token", "not an http(s) URL"),
        ("javascript:alert(1)", "not an http(s) URL"),
        ("http://", "not an http(s) URL"),
        ("http:///token", "not an http(s) URL"),
        (f"http://{host}@/token", "not an http(s) URL"),
        (f"http://{host}:1/token", "malformed"),
        ("http://127.0.0.1:99999/token", "malformed"),
        ("http://127.0.0.1:-1/token", "malformed"),
        ("http://127.0.0.1:abc/token", "malformed"),
        (f"http://[{host}/token", "malformed"),
        ("http://[::1]:80x/token", "malformed"),
        (f"http://{host}/token\r\nX-Injected: 1", "'\\r'"),
        (f"http://{host}/token?a=1\nb", "'\\n'"),
        (f"http://{host}/to\tken", "'\\t'"),
        (f"http://{host}/token\x00", "'\\x00'"),
        (f"http://{host}/to ken", "' '"),
        (f"http://{host}\\@evil.example/token", "'\\\\'"),
        ("http://exa mple.com/token", "' '"),
    ]


CASES = len(token_urls("h"))


@pytest.mark.parametrize("index", range(CASES))
def test_malformed_token_url(other_host: HostileServer, index: int) -> None:
    url, words = token_urls(f"127.0.0.1:{other_host.port}")[index]
    message = refused(other_host, "EXEC GetOAuthAccessToken GrantType='CLIENT'",
                      OAuthAccessTokenURL=url)
    assert "OAuthAccessTokenURL" in message and words in message, message


@pytest.mark.parametrize("index", [0, 7, 8, 11, 13, 17])
def test_malformed_refresh_token_url(other_host: HostileServer, index: int) -> None:
    url, words = token_urls(f"127.0.0.1:{other_host.port}")[index]
    message = refused(other_host, "EXEC RefreshOAuthAccessToken OAuthRefreshToken='rt-1'",
                      OAuthRefreshTokenURL=url)
    assert "OAuthRefreshTokenURL" in message and words in message, message


@pytest.mark.parametrize("index", [0, 2, 8, 11, 13, 17, 18])
def test_malformed_authorization_url(other_host: HostileServer, index: int) -> None:
    url, words = token_urls(f"127.0.0.1:{other_host.port}")[index]
    message = refused(other_host, "EXEC GetOAuthAuthorizationURL", OAuthAuthorizationURL=url)
    assert "OAuthAuthorizationURL" in message and words in message, message


@pytest.mark.parametrize("index", [0, 8, 11, 13])
def test_malformed_authorization_url_in_app_mode_opens_no_browser(
        other_host: HostileServer, scripted_browser: ScriptedBrowser, index: int) -> None:
    url, words = token_urls(f"127.0.0.1:{other_host.port}")[index]
    message = refused(other_host, "EXEC GetOAuthAccessToken GrantType='CODE', AuthMode='APP'",
                      OAuthAuthorizationURL=url, CallbackURL="http://127.0.0.1:0/cb")
    assert words in message and scripted_browser.opened == []


BAD_CALLBACKS = [
    ("not a url", "not an absolute URL"),
    ("/relative/callback", "not an absolute URL"),
    ("http:///cb", "not an absolute URL"),
    ("http://127.0.0.1:99999/cb", "malformed"),
    ("http://127.0.0.1:abc/cb", "malformed"),
    ("http://[::1/cb", "malformed"),
    ("http://127.0.0.1:0/cb\r\nX: y", "'\\r'"),
    ("http://127.0.0.1:0/c b", "' '"),
    ("http://127.0.0.1:0\\@evil.example/cb", "'\\\\'"),
]


@pytest.mark.parametrize(("callback", "words"), BAD_CALLBACKS)
@pytest.mark.parametrize("statement", [
    "EXEC GetOAuthAuthorizationURL",
    "EXEC GetOAuthAccessToken GrantType='CODE', AuthMode='WEB', Verifier='code-1'",
    "EXEC GetOAuthAccessToken GrantType='CODE', AuthMode='APP'",
])
def test_malformed_callback_url(other_host: HostileServer, scripted_browser: ScriptedBrowser,
                                callback: str, words: str, statement: str) -> None:
    message = refused(other_host, statement, CallbackURL=callback)
    assert "CallbackURL" in message and words in message, message
    assert scripted_browser.opened == []


@pytest.mark.parametrize("statement", ["EXEC GetOAuthAuthorizationURL",
                                       "EXEC GetOAuthAccessToken"])
def test_malformed_oauth1_callback_url(other_host: HostileServer, statement: str) -> None:
    message = refused(other_host, statement, OAuthVersion="1.0", CallbackURL="http://[::1/cb",
                      OAuthRequestTokenURL=other_host.url("/request_token"))
    assert "CallbackURL" in message and "malformed" in message


def test_well_formed_web_callbacks_are_accepted(other_host: HostileServer) -> None:
    """The check is about form, not policy: a web app's or a custom-scheme redirect."""
    for callback in ("https://app.example/callback", "com.example.app:/oauth2redirect",
                     "http://127.0.0.1:0/cb"):
        with cdata_oauth.connect(**props(other_host, CallbackURL=callback)) as conn:
            url = conn.execute("EXEC GetOAuthAuthorizationURL").fetchone()
        assert url is not None and "redirect_uri=" in url[0]
    assert other_host.received == []


BAD_ROUTES: list[tuple[dict[str, Any], str]] = [
    ({"Proxy_Server": "127.0.0.1", "Proxy_Port": "abc"}, "Proxy_Port"),
    ({"Proxy_Server": "127.0.0.1", "Proxy_Port": 70000}, "Proxy_Port"),
    ({"Proxy_Server": "127.0.0.1", "Proxy_Port": -5}, "Proxy_Port"),
    ({"Proxy_Server": "http://127.0.0.1:{port}"}, "Proxy_Server"),
    ({"Proxy_Server": "bad host", "Proxy_Port": "{port}"}, "Proxy_Server"),
    ({"Proxy_Server": "127.0.0.1:{port}"}, "Proxy_Port"),
    ({"Proxy_Server": "user:pw@127.0.0.1", "Proxy_Port": "{port}"}, "Proxy_Server"),
    ({"Proxy_Server": "127.0.0.1\r\nX: y", "Proxy_Port": "{port}"}, "Proxy_Server"),
    ({"Proxy_Server": "127.0.0.1\\evil", "Proxy_Port": "{port}"}, "Proxy_Server"),
    ({"Proxy_Server": "[::1", "Proxy_Port": "{port}"}, "Proxy_Server"),
    ({"Proxy_Server": "[127.0.0.1]", "Proxy_Port": "{port}"}, "Proxy_Server"),
    ({"Firewall_Type": "SOCKS5", "Firewall_Server": "127.0.0.1", "Firewall_Port": "x"},
     "Firewall_Port"),
    ({"Firewall_Type": "BOGUS", "Firewall_Server": "127.0.0.1", "Firewall_Port": "{port}"},
     "Firewall_Type"),
    ({"Firewall_Type": "SOCKS5", "Firewall_Server": "", "Firewall_Port": "{port}"},
     "Firewall_Server"),
    ({"Firewall_Type": "SOCKS5", "Firewall_Server": "socks5://127.0.0.1",
      "Firewall_Port": "{port}"}, "Firewall_Server"),
    ({"Firewall_Type": "SOCKS4", "Firewall_Server": "127.0.0.1\x00",
      "Firewall_Port": "{port}"}, "Firewall_Server"),
]


@pytest.mark.parametrize(("settings", "words"), BAD_ROUTES)
def test_malformed_proxy_and_firewall_settings(other_host: HostileServer,
                                               settings: dict[str, Any], words: str) -> None:
    """The proxy 'is' the live server: a lenient parse would connect to it."""
    filled = {k: v.replace("{port}", str(other_host.port)) if isinstance(v, str) else v
              for k, v in settings.items()}
    message = refused(other_host, "EXEC GetOAuthAccessToken GrantType='CLIENT'", **filled)
    assert words in message, message


@pytest.mark.parametrize("version", ["2.0", "1.0"])
def test_a_malformed_callback_url_given_as_verifier(other_host: HostileServer,
                                                   version: str) -> None:
    message = refused(other_host, "EXEC GetOAuthAccessToken GrantType='CODE', AuthMode='WEB', "
                      "Verifier='http://[::1/cb?code=abc&oauth_verifier=abc'",
                      OAuthVersion=version, OAuthRequestTokenURL=other_host.url("/rt"))
    assert "Verifier" in message and "malformed" in message


# -- property-based: any text as a URL is accepted or refused cleanly -------------------

URL_PIECES = st.sampled_from([
    "http://", "https://", "127.0.0.1", "localhost", "[::1]", "[", "]", ":", ":0", ":65536",
    ":80", "/", "/cb", "?", "#", "@", "\\", " ", "\t", "\r\n", "\x00", "%", "%zz", "é",
    "oob", "x-app:", "..", "//"])
URL_TEXT = st.lists(st.one_of(URL_PIECES, st.text(max_size=4)), max_size=8).map("".join)
URL_FUZZ = settings(max_examples=EXAMPLES // 2, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@URL_FUZZ
@given(callback=URL_TEXT, authorize=URL_TEXT)
def test_any_callback_and_authorization_url_text(callback: str, authorize: str) -> None:
    """GetOAuthAuthorizationURL sends nothing, so every input is safe to try: it returns
    a URL or raises a PEP 249 error with a message; the URL it returns parses."""
    values = {"OAuthVersion": "2.0", "OAuthClientId": "cid", "OAuthAuthorizationURL": authorize,
              "CallbackURL": callback}
    try:
        with cdata_oauth.connect(**values) as conn:
            row = conn.execute("EXEC GetOAuthAuthorizationURL").fetchone()
    except cdata_oauth.Error as exc:
        assert not isinstance(exc, cdata_oauth.InternalError), exc
        assert str(exc).strip()
        return
    assert row is not None
    made = urlsplit(row[0])
    assert made.scheme in ("http", "https") and made.hostname
    assert not any(c.isspace() or ord(c) < 32 for c in row[0])


@URL_FUZZ
@given(callback=URL_TEXT)
def test_any_callback_text_for_the_listener(callback: str) -> None:
    """The loopback listener binds loopback or refuses with a PEP 249 error."""
    try:
        listener = CallbackListener(callback, 1)
    except cdata_oauth.Error as exc:
        assert isinstance(exc, ProgrammingError | cdata_oauth.OperationalError), exc
        return
    with listener:
        assert ipaddress.ip_address(listener._server.socket.getsockname()[0]).is_loopback
