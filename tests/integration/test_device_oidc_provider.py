"""The device grant (RFC 8628) against panva's oidc-provider (features.deviceFlow), with
headless Chromium as the person who opens the verification URI, enters the user code,
logs in and consents: WEB mode (GetOAuthDeviceCode, then GetOAuthAccessToken while the
browser signs in on another thread) and APP mode (the connector prompts; the person is
BROWSER, or reads the prompt's log record), for a confidential and a public client."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cdata_oauth
from tests.servers.oidc_provider import (
    CONFIDENTIAL_ID,
    CONFIDENTIAL_SECRET,
    PUBLIC_ID,
    OidcProvider,
)

SCOPE = "openid offline_access read"
WEB = "EXEC GetOAuthAccessToken GrantType='DEVICE', AuthMode='WEB', DeviceCode=?"


def _properties(provider: OidcProvider, public: bool = False, **extra: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "OAuthVersion": "2.0", "OAuthClientId": PUBLIC_ID if public else CONFIDENTIAL_ID,
        "OAuthDeviceAuthorizationURL": provider.issuer + "/device/auth",
        "OAuthAccessTokenURL": provider.issuer + "/token", "Scope": SCOPE, "Timeout": 120,
        **extra}
    if not public:
        props["OAuthClientSecret"] = CONFIDENTIAL_SECRET
    return props


def _row(cursor: cdata_oauth.Cursor) -> dict[str, Any]:
    values = cursor.fetchone()
    assert values is not None
    return {d[0]: v for d, v in zip(cursor.description or (), values, strict=True)}


class Person:
    """Chromium signing in on another thread; ``result`` is the final page, or the error."""

    def __init__(self, provider: OidcProvider, url: str, user_code: str | None = None,
                 deny: bool = False) -> None:
        self.result: dict[str, str] | Exception | None = None
        self.thread = threading.Thread(target=self._run, args=(provider, url, user_code, deny),
                                       daemon=True)
        self.thread.start()

    def _run(self, provider: OidcProvider, url: str, user_code: str | None, deny: bool) -> None:
        try:
            self.result = provider.sign_in(url, user_code=user_code, deny=deny)
        except Exception as exc:  # reported by finish()
            self.result = exc

    def finish(self) -> dict[str, str]:
        self.thread.join(120)
        assert isinstance(self.result, dict), self.result
        return self.result


def test_web_mode_confidential_client_while_chromium_enters_the_user_code(
        oidc_provider: OidcProvider) -> None:
    with cdata_oauth.connect(**_properties(oidc_provider)) as conn:
        code = _row(conn.execute("EXEC GetOAuthDeviceCode"))
        assert code["VerificationURI"] == oidc_provider.issuer + "/device"
        assert code["ExpiresIn"] == 600 and code["Interval"] == 5  # oidc-provider sends none
        person = Person(oidc_provider, code["VerificationURI"], user_code=code["UserCode"])
        row = _row(conn.execute(WEB, (code["DeviceCode"],)))
        assert "Sign-in Success" in person.finish()["text"]
        assert row["OAuthAccessToken"] and row["OAuthRefreshToken"]
        assert row["OAuthParam:id_token"].count(".") == 2
        refreshed = _row(conn.execute("EXEC RefreshOAuthAccessToken OAuthRefreshToken=?",
                                      (row["OAuthRefreshToken"],)))
    assert refreshed["OAuthAccessToken"] not in (None, row["OAuthAccessToken"])


def test_web_mode_public_client_with_the_complete_verification_uri(
        oidc_provider: OidcProvider) -> None:
    with cdata_oauth.connect(**_properties(oidc_provider, public=True)) as conn:
        code = _row(conn.execute("EXEC GetOAuthDeviceCode"))
        assert code["VerificationURIComplete"].endswith("user_code=" + code["UserCode"])
        person = Person(oidc_provider, code["VerificationURIComplete"])
        row = _row(conn.execute(WEB, (code["DeviceCode"],)))
        person.finish()
    assert row["OAuthAccessToken"] and row["OAuthRefreshToken"]


def test_web_mode_a_person_who_declines_ends_it_as_access_denied(
        oidc_provider: OidcProvider) -> None:
    with cdata_oauth.connect(**_properties(oidc_provider)) as conn:
        code = _row(conn.execute("EXEC GetOAuthDeviceCode"))
        person = Person(oidc_provider, code["VerificationURIComplete"], deny=True)
        with pytest.raises(cdata_oauth.OAuthError) as caught:
            conn.execute(WEB, (code["DeviceCode"],))
        person.finish()
        assert conn.tokens.stored() is None
    assert caught.value.error == "access_denied"
    assert code["DeviceCode"] not in str(caught.value)


def test_app_mode_public_client_chromium_as_browser_opens_the_complete_uri(
        oidc_browser: OidcProvider, capsys: pytest.CaptureFixture[str]) -> None:
    with cdata_oauth.connect(**_properties(oidc_browser, public=True)) as conn:
        row = _row(conn.execute("EXEC GetOAuthAccessToken GrantType='DEVICE'"))
    assert row["OAuthAccessToken"] and row["OAuthRefreshToken"]
    shown = capsys.readouterr()
    assert f"To sign in, open {oidc_browser.issuer}/device and enter " in shown.err
    assert "To sign in" not in shown.out


class _PersonReadingTheLog(logging.Handler):
    """Reads the prompt's log record and signs in with the URI and user code it carries."""

    def __init__(self, provider: OidcProvider) -> None:
        super().__init__(logging.INFO)
        self.provider = provider
        self.people: list[Person] = []

    def emit(self, record: logging.LogRecord) -> None:
        code = getattr(record, "user_code", None)
        if code:
            self.people.append(Person(self.provider, getattr(record, "verification_uri"),  # noqa: B009
                                      user_code=code))


@pytest.fixture
def person_reading_the_log(oidc_provider: OidcProvider, monkeypatch: pytest.MonkeyPatch
                           ) -> Iterator[_PersonReadingTheLog]:
    monkeypatch.delenv("BROWSER", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    handler = _PersonReadingTheLog(oidc_provider)
    logger = logging.getLogger("cdata_oauth")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_app_mode_confidential_client_the_person_reads_the_log_record(
        oidc_provider: OidcProvider, person_reading_the_log: _PersonReadingTheLog) -> None:
    with cdata_oauth.connect(**_properties(oidc_provider)) as conn:
        row = _row(conn.execute("EXEC GetOAuthAccessToken GrantType='DEVICE'"))
    assert [p.finish()["text"].startswith("Sign-in Success")
            for p in person_reading_the_log.people] == [True]
    assert row["OAuthAccessToken"] and row["OAuthParam:id_token"]


def test_getandrefresh_signs_in_once_then_refreshes_without_prompting(
        oidc_provider: OidcProvider, person_reading_the_log: _PersonReadingTheLog,
        tmp_path: Path) -> None:
    props = _properties(oidc_provider, GrantType="DEVICE", InitiateOAuth="GETANDREFRESH",
                        OAuthSettingsLocation=str(tmp_path / "tokens.json"))
    with cdata_oauth.connect(**props) as conn:
        first = conn.tokens.current()
    assert first.access_token and first.refresh_token
    assert len(person_reading_the_log.people) == 1
    person_reading_the_log.people[0].finish()
    with cdata_oauth.connect(**props) as conn:
        assert conn.tokens.current().access_token == first.access_token  # stored, valid
        renewed = conn.tokens.refresh()
    assert renewed.access_token not in (None, first.access_token)
    assert len(person_reading_the_log.people) == 1  # no second prompt
