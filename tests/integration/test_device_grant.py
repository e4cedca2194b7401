"""The device authorization grant (RFC 8628) against a server of ours that answers
slow_down, access_denied, expired_token, 502/503/504, resets and bad JSON on demand.

The wait runs on a fake clock (``clock``): each test sees exactly when the connector
polled and how long it slept, and none of them sleeps for real.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cdata_oauth
from cdata_oauth.oauth import device
from tests.servers.browser import _reset_webbrowser
from tests.servers.device_server import (
    ACCESS_TOKEN,
    DEVICE_CODE,
    REFRESH_TOKEN,
    USER_CODE,
    DeviceServer,
    good_device_answer,
)

WEB = "EXEC GetOAuthAccessToken GrantType='DEVICE', AuthMode='WEB', DeviceCode=?"
APP = "EXEC GetOAuthAccessToken GrantType='DEVICE'"
SECRET = "device-client-secret-Qm3x"


class FakeClock:
    """The wait's clock: sleeping advances it at once and is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, device_server: DeviceServer) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(device, "_now", fake)
    monkeypatch.setattr(device, "_sleep", fake.sleep)
    device_server.clock = fake
    return fake


@pytest.fixture
def conn(device_server: DeviceServer, clock: FakeClock) -> Iterator[cdata_oauth.Connection]:
    connection = cdata_oauth.connect(**device_server.properties())
    yield connection
    connection.close()


def _row(cursor: cdata_oauth.Cursor) -> dict[str, Any]:
    values = cursor.fetchone()
    assert values is not None
    return {d[0]: v for d, v in zip(cursor.description or (), values, strict=True)}


def _poll_gaps(server: DeviceServer, start: float) -> list[float]:
    times = [start] + [entry["at"] for entry in server.poll_log()]
    return [round(b - a, 3) for a, b in itertools.pairwise(times)]


def _device_code(conn: cdata_oauth.Connection) -> dict[str, Any]:
    return _row(conn.execute("EXEC GetOAuthDeviceCode Scope='read'"))


# -- GetOAuthDeviceCode --------------------------------------------------------------------

def test_get_device_code_returns_the_codes_and_where_to_enter_them(
        conn: cdata_oauth.Connection, device_server: DeviceServer) -> None:
    device_server.device_answer = good_device_answer(extra_field="x")
    cursor = conn.execute("EXEC GetOAuthDeviceCode Scope='read write'")
    names = [d[0] for d in cursor.description or ()]
    assert names == ["DeviceCode", "UserCode", "VerificationURI", "VerificationURIComplete",
                     "ExpiresIn", "Interval", "OAuthParam:extra_field"]
    row = _row(cursor)
    assert row["DeviceCode"] == DEVICE_CODE and row["UserCode"] == USER_CODE
    assert row["ExpiresIn"] == 600 and row["Interval"] == 2
    sent = device_server.log[0]
    assert sent["form"] == {"scope": "read write"}  # BASIC: the client id is in the header
    assert sent["headers"]["Authorization"].startswith("Basic ")


def test_google_style_verification_url_is_accepted(conn: cdata_oauth.Connection,
                                                   device_server: DeviceServer) -> None:
    device_server.device_answer = good_device_answer(
        verification_uri=None, verification_uri_complete=None,
        verification_url="https://www.google.com/device")
    row = _device_code(conn)
    assert row["VerificationURI"] == "https://www.google.com/device"
    assert row["VerificationURIComplete"] is None


@pytest.mark.parametrize("interval", [None, 0, -3, "soon", True])
def test_an_interval_that_is_not_a_positive_number_means_five_seconds(
        conn: cdata_oauth.Connection, device_server: DeviceServer, interval: object) -> None:
    device_server.device_answer = good_device_answer(interval=interval)
    assert _device_code(conn)["Interval"] == 5


@pytest.mark.parametrize("expires_in", [None, 0, -1, "later", False])
def test_an_expires_in_that_is_not_a_positive_number_is_an_error(
        conn: cdata_oauth.Connection, device_server: DeviceServer, expires_in: object) -> None:
    device_server.device_answer = good_device_answer(expires_in=expires_in)
    with pytest.raises(cdata_oauth.OperationalError, match="expires_in") as caught:
        _device_code(conn)
    assert DEVICE_CODE not in str(caught.value)


@pytest.mark.parametrize("field", ["device_code", "user_code", "verification_uri"])
def test_a_device_answer_without_a_required_field_names_it(
        conn: cdata_oauth.Connection, device_server: DeviceServer, field: str) -> None:
    changes: dict[str, Any] = {field: None}
    device_server.device_answer = good_device_answer(**changes)
    with pytest.raises(cdata_oauth.OperationalError, match=f"without {field}") as caught:
        _device_code(conn)
    assert not isinstance(caught.value, cdata_oauth.OAuthError)
    assert DEVICE_CODE not in str(caught.value)


@pytest.mark.parametrize("answer", [
    (200, "application/json", b'{"device_code": "abc", '),
    (200, "text/html", b"<html><body>Sign in</body></html>"),
    (200, "application/json", b'["device_code"]'),
    (200, "application/json", b""),
])
def test_a_device_answer_that_is_not_json_is_an_operational_error(
        conn: cdata_oauth.Connection, device_server: DeviceServer,
        answer: tuple[int, str, bytes]) -> None:
    device_server.device_answer = answer
    with pytest.raises(cdata_oauth.OperationalError, match="not a JSON object") as caught:
        _device_code(conn)
    assert "OAuthDeviceAuthorizationURL" in str(caught.value)


def test_a_device_endpoint_error_is_an_oauth_error(conn: cdata_oauth.Connection,
                                                   device_server: DeviceServer) -> None:
    device_server.device_answer = (401, "application/json",
                                   b'{"error": "invalid_client", "error_description": "no"}')
    with pytest.raises(cdata_oauth.OAuthError) as caught:
        _device_code(conn)
    assert caught.value.error == "invalid_client" and caught.value.status == 401


def test_a_device_endpoint_failure_without_an_oauth_error_is_operational(
        conn: cdata_oauth.Connection, device_server: DeviceServer) -> None:
    device_server.device_answer = (500, "text/plain", b"boom")
    with pytest.raises(cdata_oauth.OperationalError, match="HTTP 500") as caught:
        _device_code(conn)
    assert not isinstance(caught.value, cdata_oauth.OAuthError)


def test_without_a_device_authorization_url_the_error_names_the_property(
        device_server: DeviceServer, clock: FakeClock) -> None:
    props = device_server.properties(OAuthDeviceAuthorizationURL=None)
    with cdata_oauth.connect(**props) as conn:
        with pytest.raises(cdata_oauth.ProgrammingError, match="OAuthDeviceAuthorizationURL"):
            conn.execute("EXEC GetOAuthDeviceCode")
        with pytest.raises(cdata_oauth.ProgrammingError, match="OAuthDeviceAuthorizationURL"):
            conn.execute(APP)
    assert device_server.log == []


def test_web_mode_without_a_device_code_names_the_input(conn: cdata_oauth.Connection,
                                                        device_server: DeviceServer) -> None:
    with pytest.raises(cdata_oauth.ProgrammingError, match="DeviceCode"):
        conn.execute("EXEC GetOAuthAccessToken GrantType='DEVICE', AuthMode='WEB'")
    assert device_server.log == []


# -- polling ----------------------------------------------------------------------------------

def test_web_mode_polls_every_interval_until_the_tokens_arrive(
        conn: cdata_oauth.Connection, device_server: DeviceServer, clock: FakeClock) -> None:
    code = _device_code(conn)
    start = clock.now
    device_server.polls = ["pending", "pending", "tokens"]
    row = _row(conn.execute(WEB, (code["DeviceCode"],)))
    assert row["OAuthAccessToken"] == ACCESS_TOKEN
    assert row["OAuthRefreshToken"] == REFRESH_TOKEN and row["ExpiresIn"] == 3600
    assert row["OAuthParam:token_type"] == "Bearer"
    assert _poll_gaps(device_server, start) == [2, 2, 2]  # the code's interval, from the start
    polls = device_server.poll_log()
    assert {p["form"]["grant_type"] for p in polls} == {device.DEVICE_GRANT}
    assert {p["form"]["device_code"] for p in polls} == {DEVICE_CODE}
    assert max(clock.sleeps) <= device.TICK  # short steps: Ctrl-C is seen at once
    assert conn.tokens.stored() is not None


def test_slow_down_adds_five_seconds_to_the_interval(
        conn: cdata_oauth.Connection, device_server: DeviceServer, clock: FakeClock) -> None:
    code = _device_code(conn)
    start = clock.now
    device_server.polls = ["pending", "slow_down", "pending", "slow_down", "tokens"]
    _row(conn.execute(WEB, (code["DeviceCode"],)))
    assert _poll_gaps(device_server, start) == [2, 2, 7, 7, 12]


def test_without_an_interval_the_connector_polls_every_five_seconds(
        conn: cdata_oauth.Connection, device_server: DeviceServer, clock: FakeClock) -> None:
    device_server.device_answer = good_device_answer(interval=None)
    start = clock.now
    device_server.polls = ["pending", "tokens"]
    row = _row(conn.execute(APP))
    assert row["OAuthAccessToken"] == ACCESS_TOKEN
    assert _poll_gaps(device_server, start) == [5, 5]


def test_a_device_code_from_elsewhere_is_polled_at_once_then_every_five_seconds(
        conn: cdata_oauth.Connection, device_server: DeviceServer, clock: FakeClock) -> None:
    start = clock.now
    device_server.polls = ["pending", "tokens"]
    row = _row(conn.execute(WEB, ("a-code-this-connection-never-saw",)))
    assert row["OAuthAccessToken"] == ACCESS_TOKEN
    assert _poll_gaps(device_server, start) == [0, 5]


@pytest.mark.parametrize("answer, error", [("denied", "access_denied"),
                                           ("expired", "expired_token"),
                                           ("invalid_grant", "invalid_grant")])
def test_a_final_oauth_error_ends_the_wait_and_stores_nothing(
        conn: cdata_oauth.Connection, device_server: DeviceServer, answer: str,
        error: str) -> None:
    code = _device_code(conn)
    device_server.polls = ["pending", answer, "tokens"]
    with pytest.raises(cdata_oauth.OAuthError) as caught:
        conn.execute(WEB, (code["DeviceCode"],))
    assert caught.value.error == error and caught.value.status == 400
    assert error in str(caught.value)
    assert len(device_server.poll_log()) == 2  # it stopped at the error
    assert conn.tokens.stored() is None
    assert DEVICE_CODE not in str(caught.value) and SECRET not in str(caught.value)


def test_access_denied_says_the_sign_in_was_declined(conn: cdata_oauth.Connection,
                                                     device_server: DeviceServer) -> None:
    device_server.polls = ["denied"]
    with pytest.raises(cdata_oauth.OAuthError, match="declined") as caught:
        conn.execute(APP)
    assert caught.value.description == "The user said no"


def test_expired_token_says_to_start_again(conn: cdata_oauth.Connection,
                                           device_server: DeviceServer) -> None:
    device_server.polls = ["expired"]
    with pytest.raises(cdata_oauth.OAuthError, match=r"expired.*new code"):
        conn.execute(APP)


@pytest.mark.parametrize("transient", ["503", "502", "504", "reset"])
def test_three_transient_failures_in_a_row_are_retried(
        conn: cdata_oauth.Connection, device_server: DeviceServer, clock: FakeClock,
        transient: str) -> None:
    code = _device_code(conn)
    start = clock.now
    device_server.polls = [transient] * 3 + ["tokens"]
    row = _row(conn.execute(WEB, (code["DeviceCode"],)))
    assert row["OAuthAccessToken"] == ACCESS_TOKEN
    assert _poll_gaps(device_server, start) == [2, 2, 2, 2]  # retried at the next interval


@pytest.mark.parametrize("transient, shown", [("503", "HTTP 503"), ("reset", "reset")])
def test_a_fourth_transient_failure_in_a_row_ends_the_wait(
        conn: cdata_oauth.Connection, device_server: DeviceServer, transient: str,
        shown: str) -> None:
    code = _device_code(conn)
    device_server.polls = [transient] * 4 + ["tokens"]
    with pytest.raises(cdata_oauth.OperationalError, match="4 times in a row") as caught:
        conn.execute(WEB, (code["DeviceCode"],))
    assert shown in str(caught.value)
    assert not isinstance(caught.value, cdata_oauth.OAuthError)
    assert len(device_server.poll_log()) == 4
    assert conn.tokens.stored() is None


def test_transient_failures_count_only_in_a_row(conn: cdata_oauth.Connection,
                                                device_server: DeviceServer) -> None:
    device_server.polls = ["503", "reset", "502", "pending", "504", "503", "reset", "tokens"]
    row = _row(conn.execute(APP))
    assert row["OAuthAccessToken"] == ACCESS_TOKEN
    assert len(device_server.poll_log()) == 8


@pytest.mark.parametrize("answer, match", [("500", "HTTP 500"), ("badjson", "neither JSON")])
def test_any_other_failed_poll_ends_the_wait(conn: cdata_oauth.Connection,
                                             device_server: DeviceServer, answer: str,
                                             match: str) -> None:
    device_server.polls = ["pending", answer, "tokens"]
    with pytest.raises(cdata_oauth.OperationalError, match=match):
        conn.execute(APP)
    assert len(device_server.poll_log()) == 2
    assert conn.tokens.stored() is None


# -- how long it waits --------------------------------------------------------------------

def test_timeout_ends_the_wait_and_says_how_long_the_code_was_still_valid(
        device_server: DeviceServer, clock: FakeClock) -> None:
    with cdata_oauth.connect(**device_server.properties(Timeout=30)) as conn:
        start = clock.now
        with pytest.raises(cdata_oauth.OperationalError) as caught:
            conn.execute(APP)
        message = str(caught.value)
        assert "within 30 seconds (Timeout)" in message
        assert "still valid for 570 more seconds" in message
        assert "larger Timeout" in message and "Timeout=0" in message
        assert clock.now - start == pytest.approx(30)
        assert conn.tokens.stored() is None


def test_the_wait_ends_when_the_code_expires_before_timeout(
        device_server: DeviceServer, clock: FakeClock) -> None:
    device_server.device_answer = good_device_answer(expires_in=20)
    with cdata_oauth.connect(**device_server.properties(Timeout=60)) as conn:
        start = clock.now
        with pytest.raises(cdata_oauth.OperationalError, match="device code expired"):
            conn.execute(APP)
        assert clock.now - start == pytest.approx(20)


def test_timeout_zero_waits_until_the_code_expires(device_server: DeviceServer,
                                                   clock: FakeClock) -> None:
    device_server.device_answer = good_device_answer(expires_in=90)
    with cdata_oauth.connect(**device_server.properties(Timeout=0)) as conn:
        start = clock.now
        with pytest.raises(cdata_oauth.OperationalError, match="device code expired"):
            conn.execute(APP)
        assert clock.now - start == pytest.approx(90)  # past the default Timeout of 60
        assert len(device_server.poll_log()) == 44  # every 2 s for 90 s, none at the end


def test_ctrl_c_ends_the_wait_and_stores_nothing(
        conn: cdata_oauth.Connection, device_server: DeviceServer, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(seconds: float) -> None:
        clock.sleep(seconds)
        if len(device_server.poll_log()) >= 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(device, "_sleep", interrupted)
    device_server.polls = ["pending"] * 5 + ["tokens"]
    with pytest.raises(KeyboardInterrupt):
        conn.execute(APP)
    assert len(device_server.poll_log()) == 2
    assert conn.tokens.stored() is None


# -- APP mode: what the person is told ----------------------------------------------------

def test_app_mode_tells_the_person_on_stderr_and_in_a_log_record(
        conn: cdata_oauth.Connection, device_server: DeviceServer,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BROWSER", raising=False)
    device_server.polls = ["tokens"]
    with caplog.at_level(logging.INFO, logger="cdata_oauth"):
        row = _row(conn.execute(APP))
    assert row["OAuthAccessToken"] == ACCESS_TOKEN
    shown = capsys.readouterr()
    assert shown.out == ""  # stdout belongs to the caller's program
    assert (f"To sign in, open http://127.0.0.1/device and enter {USER_CODE}"
            in shown.err)
    assert f"http://127.0.0.1/device?user_code={USER_CODE}" in shown.err
    records = [r for r in caplog.records if r.name == "cdata_oauth" and
               r.levelno == logging.INFO and "To sign in" in r.getMessage()]
    assert len(records) == 1
    record = records[0]
    assert getattr(record, "user_code") == USER_CODE  # noqa: B009
    assert getattr(record, "verification_uri") == "http://127.0.0.1/device"  # noqa: B009
    assert getattr(record, "expires_in") == 600  # noqa: B009
    assert DEVICE_CODE not in caplog.text and DEVICE_CODE not in shown.err


def test_app_mode_opens_the_complete_uri_in_the_browser_without_waiting_for_it(
        conn: cdata_oauth.Connection, device_server: DeviceServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    opened, release = tmp_path / "opened.txt", tmp_path / "release"
    browser = tmp_path / "browser.sh"
    # a browser that does not finish until the test releases it, after the statement
    # returned: a connector that waited for it would never return
    browser.write_text(f'#!/bin/sh\nwhile [ ! -f {release} ]; do sleep 0.05; done\n'
                       f'echo "$1" > {opened}\n')
    browser.chmod(0o755)
    _reset_webbrowser(monkeypatch)
    monkeypatch.setenv("BROWSER", str(browser))
    device_server.polls = ["pending", "tokens"]
    _row(conn.execute(APP))
    release.touch()
    for _ in range(200):
        if opened.exists() and opened.read_text().strip():
            break
        time.sleep(0.05)
    assert opened.read_text().strip() == f"http://127.0.0.1/device?user_code={USER_CODE}"


def test_app_mode_opens_no_console_browser_on_a_host_without_a_display(
        conn: cdata_oauth.Connection, device_server: DeviceServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(device.sys, "platform", "linux")
    opened: list[str] = []
    monkeypatch.setattr(device.webbrowser, "open", lambda url, *a, **k: opened.append(url))
    device_server.polls = ["tokens"]
    _row(conn.execute(APP))
    assert opened == []


# -- client authentication and secrets --------------------------------------------------------

def test_client_auth_post_sends_the_secret_in_both_bodies(device_server: DeviceServer,
                                                           clock: FakeClock) -> None:
    device_server.polls = ["tokens"]
    props = device_server.properties(OtherOptions="ClientAuth=POST")
    with cdata_oauth.connect(**props) as conn:
        _row(conn.execute(APP))
    for entry in device_server.log:
        assert entry["form"]["client_id"] == "device-client"
        assert entry["form"]["client_secret"] == SECRET
        assert "Authorization" not in entry["headers"]


def test_a_public_client_sends_only_its_client_id(device_server: DeviceServer,
                                                  clock: FakeClock) -> None:
    device_server.polls = ["tokens"]
    props = device_server.properties(OAuthClientSecret=None)
    with cdata_oauth.connect(**props) as conn:
        _row(conn.execute(APP))
    first, poll = device_server.log
    assert first["form"] == {"client_id": "device-client"}
    assert poll["form"] == {"grant_type": device.DEVICE_GRANT, "device_code": DEVICE_CODE,
                            "client_id": "device-client"}
    assert all("Authorization" not in e["headers"] for e in device_server.log)


def test_basic_client_auth_on_the_polls(conn: cdata_oauth.Connection,
                                        device_server: DeviceServer) -> None:
    device_server.polls = ["tokens"]
    _row(conn.execute(APP))
    poll = device_server.poll_log()[0]
    assert poll["headers"]["Authorization"].startswith("Basic ")
    assert "client_secret" not in poll["form"] and "client_id" not in poll["form"]


def test_oauth_params_go_along_but_not_the_device_code(conn: cdata_oauth.Connection,
                                                       device_server: DeviceServer) -> None:
    _row(conn.execute("EXEC GetOAuthDeviceCode [OAuthParam:audience]='api'"))
    assert device_server.log[0]["form"]["audience"] == "api"
    with pytest.raises(cdata_oauth.ProgrammingError, match="DeviceCode"):
        conn.execute(f"{WEB}, [OAuthParam:device_code]='x'", ("y",))


def test_device_code_and_tokens_never_leak_into_messages_logs_or_logfile(
        device_server: DeviceServer, clock: FakeClock, tmp_path: Path,
        caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    log_file = tmp_path / "device.log"
    props = device_server.properties(LogFile=str(log_file))
    messages: list[str] = []
    with caplog.at_level(logging.DEBUG), cdata_oauth.connect(**props) as conn:
        code = _device_code(conn)
        device_server.polls = ["pending", "503", "reset", "badjson"]
        with pytest.raises(cdata_oauth.OperationalError) as caught:
            conn.execute(WEB, (code["DeviceCode"],))
        messages.append(str(caught.value))
        messages.append(repr(conn.binder.bind(conn.catalog.lookup("GetOAuthAccessToken"),
                                              (("DeviceCode", DEVICE_CODE),))))
        device_server.polls = ["denied"]
        with pytest.raises(cdata_oauth.OAuthError) as denied:
            conn.execute(WEB, (code["DeviceCode"],))
        messages.append(str(denied.value))
        device_server.polls = ["tokens"]
        _row(conn.execute(APP))
    logged = log_file.read_text()
    assert "device_authorization" in logged and "/token" in logged
    shown = capsys.readouterr()
    everything = "\n".join([*messages, logged, caplog.text, shown.out, shown.err])
    for secret in (DEVICE_CODE, SECRET, ACCESS_TOKEN, REFRESH_TOKEN):
        assert secret not in everything, secret
    assert re.search(r"device_code[\"=: ]+\*{8}", logged)
