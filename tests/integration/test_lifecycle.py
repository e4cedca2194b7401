"""InitiateOAuth and OAuthSettingsLocation against the embedded provider (rotation on):
expiry and leeway, GETANDREFRESH with and without a stored token, REFRESH with a
verifier on a fresh store, memory:// sharing, sys_connection_props and BearerAuth."""

from __future__ import annotations

import stat
import threading
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

import cdata_oauth
from cdata_oauth.provider import EmbeddedProvider
from cdata_oauth.tokens.stores import FileTokenStore, Token, now_ms


class InProcessBrowser(webbrowser.BaseBrowser):
    """A 'browser' that loads the URL with requests and follows the provider's redirect
    to the loopback listener, as a user clicking through would."""

    def __init__(self) -> None:
        super().__init__("cdata-oauth-test-browser")
        self.opened: list[str] = []
        self.lock = threading.Lock()

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        with self.lock:
            self.opened.append(url)
        requests.get(url, timeout=30)
        return True


@pytest.fixture
def browser() -> Iterator[InProcessBrowser]:
    instance = InProcessBrowser()
    webbrowser.register(instance.name, None, instance, preferred=True)
    try:
        yield instance
    finally:
        order = getattr(webbrowser, "_tryorder", None)
        if order and instance.name in order:
            order.remove(instance.name)


@pytest.fixture
def provider(fresh_provider: EmbeddedProvider) -> EmbeddedProvider:
    fresh_provider.rotate_refresh_tokens = True
    return fresh_provider


def _connect(provider: EmbeddedProvider, **overrides: Any) -> cdata_oauth.Connection:
    return cdata_oauth.connect(**provider.connection_properties(**overrides))


def _password_token(provider: EmbeddedProvider, location: str) -> Token:
    """Sign in once with the PASSWORD grant; the storing hook writes ``location``."""
    with _connect(provider, GrantType="PASSWORD", User=provider.user,
                  Password=provider.password, OAuthSettingsLocation=location) as conn:
        conn.execute("EXEC GetOAuthAccessToken").fetchone()
        token = conn.tokens.stored()
    assert token is not None and token.access_token and token.refresh_token
    return token


def _age(location: str, seconds_left: float) -> Token:
    """Rewrite the stored token as if issued long ago, ``seconds_left`` before expiry."""
    store = FileTokenStore(location)
    token = store.load()
    assert token is not None and token.expires_in is not None
    aged = Token(token.access_token, token.refresh_token, None, token.expires_in,
                 now_ms() - int((token.expires_in - seconds_left) * 1000))
    store.save(aged)
    return aged


def _props(conn: cdata_oauth.Connection) -> dict[str, Any]:
    return dict(conn.execute("SELECT Name, Value FROM sys_connection_props").fetchall())


# --- the storing hook ---------------------------------------------------------------------

def test_every_token_procedure_updates_the_store(provider: EmbeddedProvider,
                                                 tmp_path: Path) -> None:
    location = str(tmp_path / "tokens.json")
    first = _password_token(provider, location)
    assert first.expires_in == provider.access_token_lifetime
    with _connect(provider, OAuthSettingsLocation=location) as conn:
        row = conn.execute("EXEC RefreshOAuthAccessToken OAuthRefreshToken=?",
                           (first.refresh_token,)).fetchone()
    stored = FileTokenStore(location).load()
    assert stored is not None and row is not None
    assert stored.access_token == row[0] != first.access_token
    assert stored.refresh_token != first.refresh_token  # rotated, and the new one kept
    assert provider.is_refresh_token_valid(stored.refresh_token or "")
    assert not provider.is_refresh_token_valid(first.refresh_token or "")
    assert stat.S_IMODE(Path(location).stat().st_mode) == 0o600


def test_the_old_refresh_token_is_kept_when_the_server_sends_none(
        provider: EmbeddedProvider, tmp_path: Path) -> None:
    location = str(tmp_path / "tokens.json")
    first = _password_token(provider, location)
    provider.rotate_refresh_tokens = False
    with _connect(provider, OAuthSettingsLocation=location) as conn:
        conn.execute("EXEC RefreshOAuthAccessToken OAuthRefreshToken=?", (first.refresh_token,))
        assert conn.tokens.stored().refresh_token == first.refresh_token  # type: ignore[union-attr]
    stored = FileTokenStore(location).load()
    assert stored is not None and stored.access_token != first.access_token
    assert stored.refresh_token == first.refresh_token


# --- expiry and leeway ----------------------------------------------------------------------

def test_a_valid_stored_token_is_used_without_a_request(provider: EmbeddedProvider,
                                                        tmp_path: Path) -> None:
    location = str(tmp_path / "tokens.json")
    _password_token(provider, location)
    stored = _age(location, 600)
    before = dict(provider.grant_counts)
    with _connect(provider, InitiateOAuth="REFRESH", OAuthSettingsLocation=location) as conn:
        assert conn.tokens.current() == stored
    assert dict(provider.grant_counts) == before


@pytest.mark.parametrize("seconds_left", [30, -10])
def test_a_token_within_the_leeway_or_expired_is_refreshed(
        provider: EmbeddedProvider, tmp_path: Path, seconds_left: float) -> None:
    location = str(tmp_path / "tokens.json")
    _password_token(provider, location)
    old = _age(location, seconds_left)
    with _connect(provider, InitiateOAuth="REFRESH", OAuthSettingsLocation=location) as conn:
        new = conn.tokens.current()
    assert provider.grant_counts["refresh_token"] == 1
    assert new.access_token != old.access_token
    assert provider.is_access_token_valid(new.access_token or "")
    assert FileTokenStore(location).load() == new
    assert new.refresh_token != old.refresh_token


def test_the_leeway_is_adjustable(provider: EmbeddedProvider, tmp_path: Path) -> None:
    location = str(tmp_path / "tokens.json")
    _password_token(provider, location)
    old = _age(location, 600)
    with _connect(provider, InitiateOAuth="REFRESH", OAuthSettingsLocation=location) as conn:
        assert conn.tokens.current() == old
        conn.tokens.leeway = 900
        assert conn.tokens.current().access_token != old.access_token
    assert provider.grant_counts["refresh_token"] == 1


def test_given_tokens_with_timing_are_used_and_without_are_refreshed(
        provider: EmbeddedProvider, tmp_path: Path) -> None:
    token = _password_token(provider, "memory://lifecycle-given")
    given = {"OAuthAccessToken": token.access_token, "OAuthRefreshToken": token.refresh_token}
    with _connect(provider, InitiateOAuth="REFRESH", OAuthExpiresIn=3600,
                  OAuthTokenTimestamp=now_ms(), **given,
                  OAuthSettingsLocation=str(tmp_path / "a.json")) as conn:
        assert conn.tokens.current().access_token == token.access_token
    assert provider.grant_counts["refresh_token"] == 0
    with _connect(provider, InitiateOAuth="REFRESH", **given,
                  OAuthSettingsLocation=str(tmp_path / "b.json")) as conn:
        assert conn.tokens.current().access_token != token.access_token
    assert provider.grant_counts["refresh_token"] == 1


def test_off_does_nothing_on_connect(provider: EmbeddedProvider, tmp_path: Path) -> None:
    location = str(tmp_path / "tokens.json")
    _password_token(provider, location)
    old = _age(location, -1)
    before = dict(provider.grant_counts)
    with _connect(provider, OAuthSettingsLocation=location) as conn:
        assert conn.tokens.stored() == old
    assert dict(provider.grant_counts) == before
    assert FileTokenStore(location).load() == old
    with _connect(provider, OAuthSettingsLocation=str(tmp_path / "none.json")):
        pass
    assert not (tmp_path / "none.json").exists()


def test_a_closed_connection_gives_no_token(provider: EmbeddedProvider) -> None:
    conn = _connect(provider, GrantType="CLIENT")
    conn.close()
    with pytest.raises(cdata_oauth.InterfaceError, match="closed"):
        conn.tokens.current()
    assert provider.grant_counts["client_credentials"] == 0


# --- GETANDREFRESH ------------------------------------------------------------------------

def test_getandrefresh_without_a_token_signs_in_through_the_browser(
        provider: EmbeddedProvider, tmp_path: Path, browser: InProcessBrowser) -> None:
    location = str(tmp_path / "tokens.json")
    with _connect(provider, InitiateOAuth="GETANDREFRESH", OAuthSettingsLocation=location,
                  Timeout=30) as conn:
        token = conn.tokens.current()
    assert len(browser.opened) == 1
    assert urlsplit(browser.opened[0]).path == urlsplit(provider.authorization_url).path
    assert provider.grant_counts["authorization_code"] == 1
    assert FileTokenStore(location).load() == token
    assert provider.is_access_token_valid(token.access_token or "")
    # the next run uses the stored token: no browser, no request
    with _connect(provider, InitiateOAuth="GETANDREFRESH", OAuthSettingsLocation=location):
        pass
    assert len(browser.opened) == 1
    assert sum(provider.grant_counts.values()) == 1


def test_getandrefresh_with_a_stored_token_refreshes_it_when_due(
        provider: EmbeddedProvider, tmp_path: Path, browser: InProcessBrowser) -> None:
    location = str(tmp_path / "tokens.json")
    _password_token(provider, location)
    old = _age(location, -1)
    with _connect(provider, InitiateOAuth="GETANDREFRESH", OAuthSettingsLocation=location):
        pass
    stored = FileTokenStore(location).load()
    assert stored is not None and stored.access_token != old.access_token
    assert provider.grant_counts["refresh_token"] == 1
    assert browser.opened == []


def test_getandrefresh_signs_in_again_when_the_refresh_token_is_dead(
        provider: EmbeddedProvider, tmp_path: Path, browser: InProcessBrowser) -> None:
    location = str(tmp_path / "tokens.json")
    FileTokenStore(location).save(Token("at_dead", "rt_dead", None, 3600, 0))
    with _connect(provider, InitiateOAuth="GETANDREFRESH", OAuthSettingsLocation=location,
                  Timeout=30) as conn:
        token = conn.tokens.current()
    assert len(browser.opened) == 1
    assert provider.grant_counts["authorization_code"] == 1
    assert token.refresh_token not in (None, "rt_dead")


# --- REFRESH --------------------------------------------------------------------------------

def test_refresh_exchanges_the_verifier_once_on_a_fresh_store(provider: EmbeddedProvider,
                                                              tmp_path: Path) -> None:
    callback = "http://127.0.0.1:33333/callback"
    with _connect(provider, CallbackURL=callback) as conn:
        url, state, pkce = _authorization(conn)
    # the user opens the URL on another machine and copies the code from the redirect
    answer = requests.get(url, allow_redirects=False, timeout=30)
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    location = str(tmp_path / "headless.json")
    settings = {"InitiateOAuth": "REFRESH", "OAuthVerifier": code, "CallbackURL": callback,
                "OAuthSettingsLocation": location, "State": state, "PKCEVerifier": pkce}
    with _connect(provider, **settings) as conn:
        token = conn.tokens.current()
    assert provider.grant_counts["authorization_code"] == 1
    assert FileTokenStore(location).load() == token
    assert token.refresh_token
    # the same settings again: the store answers, the spent code is not sent again
    with _connect(provider, **settings) as conn:
        assert conn.tokens.current() == token
    assert provider.grant_counts["authorization_code"] == 1


def _authorization(conn: cdata_oauth.Connection) -> tuple[str, str, str | None]:
    cursor = conn.execute("EXEC GetOAuthAuthorizationURL")
    row = dict(zip([d[0] for d in cursor.description or ()], cursor.fetchone() or (),
                   strict=True))
    return row["URL"], row["State"], row.get("PKCEVerifier")


def test_refresh_with_nothing_to_refresh_is_a_clear_error(provider: EmbeddedProvider,
                                                          tmp_path: Path) -> None:
    location = str(tmp_path / "empty.json")
    with pytest.raises(cdata_oauth.ProgrammingError) as caught:
        _connect(provider, InitiateOAuth="REFRESH", OAuthSettingsLocation=location)
    assert location in str(caught.value)
    assert "OAuthRefreshToken" in str(caught.value)
    assert not Path(location).exists()


def test_a_rejected_refresh_token_is_an_oauth_error_without_the_token(
        provider: EmbeddedProvider, tmp_path: Path) -> None:
    with pytest.raises(cdata_oauth.OAuthError) as caught:
        _connect(provider, InitiateOAuth="REFRESH", OAuthRefreshToken="rt_not_issued_here",
                 OAuthSettingsLocation=str(tmp_path / "t.json"))
    assert caught.value.error == "invalid_grant"
    assert "rt_not_issued_here" not in str(caught.value)


# --- memory:// --------------------------------------------------------------------------------

def test_memory_locations_are_shared_by_connections_of_a_process(
        provider: EmbeddedProvider) -> None:
    with _connect(provider, InitiateOAuth="GETANDREFRESH", GrantType="CLIENT",
                  OAuthSettingsLocation="memory://lifecycle-shared") as first:
        token = first.tokens.current()
        with _connect(provider, InitiateOAuth="REFRESH",
                      OAuthSettingsLocation="memory://lifecycle-shared") as second:
            assert second.tokens.current() == token
        assert provider.grant_counts["client_credentials"] == 1
        with _connect(provider, InitiateOAuth="GETANDREFRESH", GrantType="CLIENT",
                      OAuthSettingsLocation="memory://lifecycle-elsewhere") as third:
            assert third.tokens.current().access_token != token.access_token
    assert provider.grant_counts["client_credentials"] == 2


# --- reading the token ----------------------------------------------------------------------

def test_sys_connection_props_shows_the_current_token(provider: EmbeddedProvider,
                                                      tmp_path: Path) -> None:
    location = str(tmp_path / "tokens.json")
    _password_token(provider, location)
    _age(location, -1)
    with _connect(provider, InitiateOAuth="REFRESH", OAuthSettingsLocation=location) as conn:
        token = conn.tokens.current()
        props = _props(conn)
        assert props["OAuthAccessToken"] == token.access_token
        assert props["OAuthRefreshToken"] == token.refresh_token
        assert props["OAuthExpiresIn"] == str(token.expires_in)
        assert props["OAuthTokenTimestamp"] == str(token.timestamp)
        assert props["OAuthSettingsLocation"] == location
        assert props["InitiateOAuth"] == "REFRESH"
        assert props["OAuthClientSecret"] == provider.client_secret
        assert conn.tokens.access_token() == token.access_token
        value = conn.execute("SELECT Value FROM sys_connection_props WHERE Name = ?",
                             ("OAuthAccessToken",)).fetchone()
        assert value == (token.access_token,)
        assert token.access_token not in repr(conn.tokens.stored())


def test_a_manual_get_on_an_off_connection_is_readable(provider: EmbeddedProvider) -> None:
    with _connect(provider, GrantType="CLIENT") as conn:
        assert conn.tokens.location is None
        row = conn.execute("EXEC GetOAuthAccessToken").fetchone()
        assert row is not None
        access = row[0]
        assert _props(conn)["OAuthAccessToken"] == access
        assert conn.tokens.current().access_token == access


# --- BearerAuth -------------------------------------------------------------------------------

def test_bearer_auth_sends_the_token_and_renews_it_after_a_401(
        provider: EmbeddedProvider, tmp_path: Path) -> None:
    location = str(tmp_path / "tokens.json")
    first = _password_token(provider, location)
    with _connect(provider, InitiateOAuth="REFRESH", OAuthSettingsLocation=location) as conn:
        auth = cdata_oauth.BearerAuth(conn)
        assert requests.get(provider.userinfo_url, auth=auth, timeout=30).status_code == 200
        assert provider.grant_counts["refresh_token"] == 0
        with provider.store.lock:  # the provider revokes the token
            del provider.store.access_tokens[first.access_token or ""]
        answer = requests.get(provider.userinfo_url, auth=auth, timeout=30)
        assert answer.status_code == 200
        assert [r.status_code for r in answer.history] == [401]
        assert provider.grant_counts["refresh_token"] == 1
        renewed = conn.tokens.stored()
        assert renewed is not None and renewed.access_token != first.access_token
        assert answer.request.headers["Authorization"] == f"Bearer {renewed.access_token}"


def test_bearer_auth_renews_a_due_token_before_sending(provider: EmbeddedProvider,
                                                       tmp_path: Path) -> None:
    location = str(tmp_path / "tokens.json")
    _password_token(provider, location)
    with _connect(provider, InitiateOAuth="REFRESH", OAuthSettingsLocation=location) as conn:
        old = _age(location, 5)
        answer = requests.get(provider.userinfo_url, auth=cdata_oauth.BearerAuth(conn),
                              timeout=30)
    assert answer.status_code == 200 and answer.history == []
    assert provider.grant_counts["refresh_token"] == 1
    assert answer.request.headers["Authorization"] != f"Bearer {old.access_token}"


def test_bearer_auth_gives_up_after_one_retry(provider: EmbeddedProvider,
                                              tmp_path: Path) -> None:
    location = str(tmp_path / "tokens.json")
    _password_token(provider, location)
    lifetime = provider.access_token_lifetime
    with _connect(provider, InitiateOAuth="REFRESH", OAuthSettingsLocation=location) as conn:
        provider.access_token_lifetime = -5  # every token the provider issues is dead
        stored = FileTokenStore(location).load()
        assert stored is not None
        with provider.store.lock:
            del provider.store.access_tokens[stored.access_token or ""]
        answer = requests.get(provider.userinfo_url, auth=cdata_oauth.BearerAuth(conn),
                              timeout=30)
    provider.access_token_lifetime = lifetime
    assert answer.status_code == 401
    assert len(answer.history) == 1
    assert provider.grant_counts["refresh_token"] == 1


def test_import_does_not_load_requests() -> None:
    import subprocess
    import sys

    code = ("import sys, cdata_oauth; assert 'requests' not in sys.modules; "
            "cdata_oauth.BearerAuth; assert 'requests' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
