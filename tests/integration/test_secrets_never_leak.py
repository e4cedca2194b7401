"""No secret leaves the process in clear: a full run of every flow (OAuth 2.0 CLIENT,
PASSWORD, REFRESH, CODE WEB and APP; OAuth 1.0a WEB with HMAC and with an RSA key from a
password-protected PFX; through a proxy and a SOCKS5 firewall with passwords), plus the
failures users meet (wrong secrets, forged state, refused connections, servers that echo
what they were sent), collecting every secret value used on the way. Then every exception
(message, repr, formatted traceback with its causes), every repr of connection, cursor,
properties, inputs and tokens, the 'cdata_oauth' logger at DEBUG, the LogFile, stdout and
stderr, and the pages the loopback listener answered are searched for each: zero hits."""

from __future__ import annotations

import base64
import logging
import secrets
import socket
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import pytest
import requests

import cdata_oauth
from cdata_oauth.exceptions import Error, OAuthError, OperationalError, ProgrammingError
from cdata_oauth.provider import EmbeddedProvider
from tests.integration.test_loopback_listener import with_query
from tests.servers.badserver import BadServer
from tests.servers.dante import Dante
from tests.servers.hostile import ScriptedBrowser, refused_port
from tests.servers.oauth1_provider import OAuth1Provider, SigningKeyFiles
from tests.servers.squid import Squid

SECRET_FIELDS = ("code", "code_verifier", "refresh_token", "password", "client_secret",
                 "access_token", "oauth_verifier", "oauth_token", "oauth_token_secret")
SECRET_COLUMNS = ("OAuthAccessToken", "OAuthRefreshToken", "OAuthTokenSecret", "PKCEVerifier")


class Watch:
    """Collects secrets and every text that leaves the connector, then compares them."""

    def __init__(self, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                 capsys: pytest.CaptureFixture[str]) -> None:
        self.log_file = tmp_path / "http.log"
        self.caplog, self.capsys = caplog, capsys
        self.secrets: set[str] = set()
        self.texts: list[tuple[str, str]] = []
        self.connections: list[cdata_oauth.Connection] = []
        self.failures = 0
        caplog.set_level(logging.DEBUG, logger="cdata_oauth")

    def secret(self, *values: object) -> None:
        for value in values:
            if value is None or len(str(value)) < 6:
                continue
            text = str(value)
            self.secrets.update({text, quote_plus(text), quote(text, safe="")})

    def text(self, source: str, value: str) -> None:
        self.texts.append((source, value))

    def connect(self, **props: Any) -> cdata_oauth.Connection:
        props.setdefault("LogFile", str(self.log_file))
        props.setdefault("Timeout", 20)
        self.secret(*(v for k, v in props.items() if _secret_property(k)))
        conn = cdata_oauth.connect(**props)
        bind = conn.binder.bind

        def bind_and_watch(script: Any, args: Any, reusable: bool = False) -> Any:
            inputs = bind(script, args, reusable)
            self.secret(*inputs.secrets())
            self.text("repr(Inputs)", repr(inputs))
            return inputs

        conn.binder.bind = bind_and_watch  # type: ignore[method-assign]
        self.connections.append(conn)
        return conn

    def row(self, conn: cdata_oauth.Connection, statement: str,
            params: Any = None) -> dict[str, Any]:
        cursor = conn.cursor()
        cursor.execute(statement, params)
        self.text("repr(cursor)", repr(cursor))
        values = cursor.fetchone()
        assert values is not None
        row = {d[0]: v for d, v in zip(cursor.description or (), values, strict=True)}
        self.secret(*(row.get(c) for c in SECRET_COLUMNS))
        return row

    def fails(self, kind: type[Error], run: Callable[[], Any], *secret_values: object
              ) -> Error:
        """Run, expect ``kind``; keep its message, repr and whole formatted traceback."""
        self.secret(*secret_values)
        with pytest.raises(kind) as caught:
            run()
        error = caught.value
        self.failures += 1
        self.text(f"str({type(error).__name__})", str(error))
        self.text(f"repr({type(error).__name__})", repr(error))
        self.text("traceback", "".join(traceback.format_exception(error)))
        return error

    def harvest(self, provider: EmbeddedProvider) -> None:
        """Every secret the embedded provider received (codes, verifiers, credentials)."""
        for request in provider.token_requests:
            self.secret(*(v for k, v in request.form.items() if k in SECRET_FIELDS))
            auth = request.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                self.secret(auth, auth[6:])

    def check(self) -> None:
        """Zero hits of any secret in anything the connector showed."""
        for conn in self.connections:
            self.text("repr(connection)", repr(conn))
            self.text("repr(properties)", repr(conn.properties))
            self.text("repr(tokens)", repr(conn.tokens))
            self.text("repr(stored token)", repr(conn.tokens.stored()))
            for cache in list(conn.context._caches.values()):
                for transport in cache.values():
                    self.text("repr(TransportSettings)", repr(transport.settings))
            conn.close()
        records = self.caplog.records
        assert records, "the DEBUG logger recorded nothing: the check would prove nothing"
        for record in records:
            self.text("log record", record.getMessage())
        self.text("caplog", self.caplog.text)
        log_text = self.log_file.read_text() if self.log_file.exists() else ""
        assert ">>> POST" in log_text, "the LogFile recorded no request"
        self.text("LogFile", log_text)
        captured = self.capsys.readouterr()
        self.text("stdout", captured.out)
        self.text("stderr", captured.err)
        assert len(self.secrets) >= 3
        hits = sorted({(source, _short(secret)) for source, text in self.texts
                       for secret in self.secrets if secret in text})
        assert hits == [], f"secrets leaked: {hits}"


def _short(secret: str) -> str:
    return secret[:4] + "..." if len(secret) > 8 else "..."


def _secret_property(name: str) -> bool:
    from cdata_oauth.config.properties import lookup_property

    try:
        return bool(lookup_property(name).secret)
    except Exception:
        return False


@pytest.fixture
def watch(tmp_path: Path, caplog: pytest.LogCaptureFixture,
          capsys: pytest.CaptureFixture[str]) -> Iterator[Watch]:
    yield Watch(tmp_path, caplog, capsys)


def wrong() -> str:
    return "wrong-" + secrets.token_urlsafe(12)


# -- OAuth 2.0 -------------------------------------------------------------------------

def test_client_password_refresh_and_their_failures(fresh_provider: EmbeddedProvider,
                                                    watch: Watch, tmp_path: Path) -> None:
    p = fresh_provider
    watch.secret(p.client_secret, p.password)
    client = watch.connect(**p.connection_properties(GrantType="CLIENT"))
    assert p.is_access_token_valid(watch.row(client, "EXEC GetOAuthAccessToken")
                                   ["OAuthAccessToken"])
    owner = watch.connect(**p.connection_properties(GrantType="PASSWORD", User=p.user,
                                                   Password=p.password))
    first = watch.row(owner, "EXEC GetOAuthAccessToken")
    second = watch.row(owner, "EXEC RefreshOAuthAccessToken OAuthRefreshToken=?",
                       (first["OAuthRefreshToken"],))
    third = watch.row(owner, "EXEC GetOAuthAccessToken GrantType='REFRESH', "
                             "OAuthRefreshToken=?", (second["OAuthRefreshToken"],))
    renewed = watch.connect(**p.connection_properties(
        InitiateOAuth="REFRESH", OAuthRefreshToken=third["OAuthRefreshToken"],
        OAuthSettingsLocation=str(tmp_path / "tokens.json")))
    token = renewed.tokens.current()
    watch.secret(token.access_token, token.refresh_token)
    assert p.is_access_token_valid(str(token.access_token))

    bad_secret = wrong()
    error = watch.fails(OAuthError, lambda: watch.row(watch.connect(
        **p.connection_properties(GrantType="CLIENT", OAuthClientSecret=bad_secret)),
        "EXEC GetOAuthAccessToken"), bad_secret)
    assert isinstance(error, OAuthError) and error.error == "invalid_client"
    bad_password = wrong()
    watch.fails(OAuthError, lambda: watch.row(watch.connect(**p.connection_properties(
        GrantType="PASSWORD", User=p.user, Password=bad_password)),
        "EXEC GetOAuthAccessToken"), bad_password)
    watch.fails(OAuthError, lambda: watch.row(  # a spent (rotated) refresh token
        owner, "EXEC RefreshOAuthAccessToken OAuthRefreshToken=?",
        (first["OAuthRefreshToken"],)))
    watch.fails(OperationalError, lambda: watch.row(watch.connect(**p.connection_properties(
        GrantType="PASSWORD", User=p.user, Password=p.password,
        OAuthAccessTokenURL=f"http://127.0.0.1:{refused_port()}/token")),
        "EXEC GetOAuthAccessToken"))
    watch.harvest(p)
    watch.check()


def test_a_server_that_echoes_the_request_is_masked(bad_server: BadServer, watch: Watch,
                                                    fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    conn = watch.connect(**p.connection_properties(
        GrantType="PASSWORD", User=p.user, Password=p.password, OtherOptions="ClientAuth=POST",
        OAuthAccessTokenURL=bad_server.url("/echo-500")))
    error = watch.fails(OperationalError, lambda: watch.row(conn, "EXEC GetOAuthAccessToken"))
    assert "HTTP 500" in str(error)
    sent = bad_server.log[-1]["body"]
    assert p.password in str(sent)  # the server did echo secrets: there was something to mask
    watch.row(watch.connect(**p.connection_properties(GrantType="CLIENT")),
              "EXEC GetOAuthAccessToken")  # one success, so the LogFile has a full exchange
    watch.harvest(p)
    watch.check()


def test_code_web_two_step_and_forged_state(fresh_provider: EmbeddedProvider,
                                            watch: Watch) -> None:
    p = fresh_provider
    watch.secret(p.client_secret)
    first = watch.connect(**p.connection_properties(GrantType="CODE", AuthMode="WEB"))
    step1 = watch.row(first, "EXEC GetOAuthAuthorizationURL")
    landing = ScriptedBrowser.landing(step1["URL"])
    code = dict(parse_qsl(urlsplit(landing).query))["code"]
    watch.secret(code, landing)
    second = watch.connect(**p.connection_properties(GrantType="CODE", AuthMode="WEB"))
    tokens = watch.row(second, "EXEC GetOAuthAccessToken Verifier=?, PKCEVerifier=?, State=?",
                       (landing, step1["PKCEVerifier"], step1["State"]))
    assert p.is_access_token_valid(tokens["OAuthAccessToken"])
    watch.fails(OAuthError, lambda: watch.row(  # the code again: spent
        second, "EXEC GetOAuthAccessToken Verifier=?, PKCEVerifier=?",
        (code, step1["PKCEVerifier"])))
    again = watch.row(first, "EXEC GetOAuthAuthorizationURL")
    landing2 = ScriptedBrowser.landing(again["URL"])
    watch.secret(dict(parse_qsl(urlsplit(landing2).query))["code"])
    error = watch.fails(OAuthError, lambda: watch.row(
        first, "EXEC GetOAuthAccessToken Verifier=?",
        (with_query(landing2, state="forged-" + secrets.token_hex(8)),)))
    assert isinstance(error, OAuthError) and error.error == "state_mismatch"
    watch.harvest(p)
    watch.check()


def test_code_app_with_an_in_process_browser(fresh_provider: EmbeddedProvider, watch: Watch,
                                             scripted_browser: ScriptedBrowser) -> None:
    p = fresh_provider
    pages: list[str] = []

    def script(url: str) -> None:
        landing = ScriptedBrowser.landing(url)
        watch.secret(dict(parse_qsl(urlsplit(landing).query)).get("code"))
        for forged in (with_query(landing, state="nope"), with_query(landing, code=None)):
            pages.append(requests.get(forged, timeout=10).text)
        pages.append(requests.get(landing, timeout=10).text)

    scripted_browser.script = script
    conn = watch.connect(**p.connection_properties(GrantType="CODE", AuthMode="APP"))
    row = watch.row(conn, "EXEC GetOAuthAccessToken")
    assert p.is_access_token_valid(row["OAuthAccessToken"]) and scripted_browser.errors == []
    for page in pages:
        watch.text("listener page", page)
    public = watch.connect(**p.connection_properties(  # PKCE with a public client
        GrantType="CODE", AuthMode="APP", OAuthClientId=p.public_client_id,
        OAuthClientSecret=None))
    watch.row(public, "EXEC GetOAuthAccessToken")
    watch.harvest(p)
    assert any(r.form.get("code_verifier") for r in p.token_requests)
    watch.check()


# -- OAuth 1.0a ------------------------------------------------------------------------

def test_oauth1_web_hmac_and_rsa_with_a_pfx_password(
        oauth1_provider: OAuth1Provider, oauth1_test_key: SigningKeyFiles,
        watch: Watch) -> None:
    app = oauth1_provider.register(rsa_public_pem=oauth1_test_key.public_pem)
    watch.secret(app.secret, oauth1_test_key.password)
    for extra in ({}, {"Cert": oauth1_test_key.pfx_path,
                       "CertPassword": oauth1_test_key.password, "OAuthClientSecret": None}):
        conn = watch.connect(**oauth1_provider.connection_properties(app, **extra))
        step1 = watch.row(conn, "EXEC GetOAuthAuthorizationURL")
        landing = oauth1_provider.authorize(step1["URL"])
        verifier = dict(parse_qsl(urlsplit(landing).query or landing))["oauth_verifier"]
        watch.secret(verifier, landing)
        row = watch.row(conn, "EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?",
                        (verifier,))
        assert row["OAuthAccessToken"] and row["OAuthTokenSecret"]
    sent = oauth1_provider.requests_to("/access_token")[-1].oauth
    assert sent["oauth_signature_method"] == "RSA-SHA1"

    bad = wrong()
    error = watch.fails(OAuthError, lambda: watch.row(watch.connect(
        **oauth1_provider.connection_properties(app, OAuthClientSecret=bad)),
        "EXEC GetOAuthAuthorizationURL"), bad)
    assert isinstance(error, OAuthError) and error.error == "signature_invalid"
    watch.fails(OperationalError, lambda: watch.row(watch.connect(  # echoes the signature
        **oauth1_provider.connection_properties(
            app, SignMethod="PLAINTEXT",
            OAuthRequestTokenURL=oauth1_provider.base_url + "/bad/500")),
        "EXEC GetOAuthAuthorizationURL"))
    bad_password = wrong()
    watch.fails(ProgrammingError, lambda: watch.row(watch.connect(
        **oauth1_provider.connection_properties(
            app, Cert=oauth1_test_key.pfx_path, CertPassword=bad_password)),
        "EXEC GetOAuthAuthorizationURL"), bad_password)
    for request in oauth1_provider.received:
        watch.secret(request.oauth.get("oauth_signature"), request.oauth.get("oauth_verifier"))
    watch.check()


# -- proxies and firewalls -------------------------------------------------------------

def test_proxy_and_socks5_passwords(embedded_provider: EmbeddedProvider, squid: Squid,
                                    dante_auth: Dante, watch: Watch) -> None:
    p = embedded_provider
    assert dante_auth.password is not None
    pair = base64.b64encode(f"{squid.basic_user}:{squid.basic_password}".encode()).decode()
    watch.secret(p.client_secret, squid.basic_password, dante_auth.password, pair)
    proxy = {"Proxy_Server": "127.0.0.1", "Proxy_Port": squid.ports["basic"],
             "Proxy_User": squid.basic_user, "Proxy_Password": squid.basic_password}
    socks5 = {"Firewall_Type": "SOCKS5", "Firewall_Server": "127.0.0.1",
              "Firewall_Port": dante_auth.port, "Firewall_User": dante_auth.user,
              "Firewall_Password": dante_auth.password}
    for route in (proxy, {**proxy, "Proxy_SSLType": "TUNNEL"}, socks5):
        conn = watch.connect(**p.connection_properties(GrantType="CLIENT", **route))
        assert p.is_access_token_valid(watch.row(conn, "EXEC GetOAuthAccessToken")
                                       ["OAuthAccessToken"])
    bad_proxy, bad_socks = wrong(), wrong()
    watch.fails(OperationalError, lambda: watch.row(watch.connect(**p.connection_properties(
        GrantType="CLIENT", **{**proxy, "Proxy_Password": bad_proxy})),
        "EXEC GetOAuthAccessToken"), bad_proxy)
    watch.fails(OperationalError, lambda: watch.row(watch.connect(**p.connection_properties(
        GrantType="CLIENT", **{**socks5, "Firewall_Password": bad_socks})),
        "EXEC GetOAuthAccessToken"), bad_socks)
    with socket.socket() as probe:  # an unreachable proxy, credentials given
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    watch.fails(OperationalError, lambda: watch.row(watch.connect(**p.connection_properties(
        GrantType="CLIENT", **{**proxy, "Proxy_Port": dead})), "EXEC GetOAuthAccessToken"))
    watch.check()
