"""AuthMode=APP: the loopback listener, a real headless chromium, and what happens when the
browser is missing, lies about state, is denied, never comes back, or the port is taken."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

import cdata_oauth
from cdata_oauth.exceptions import Error, OAuthError, OperationalError, ProgrammingError
from cdata_oauth.oauth.loopback import CallbackListener
from tests.servers.browser import HeadlessBrowser
from tests.servers.oauth2_mock import OAuth2MockServer, execute_row

WAIT_SECONDS = 60  # upper bound for background steps; never a speed assertion


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_closed(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


class Background:
    """Runs one EXEC in a thread; the test plays the browser meanwhile."""

    def __init__(self, call: Callable[[], dict[str, Any]]) -> None:
        self.row: dict[str, Any] | None = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                self.row = call()
            except BaseException as exc:
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def result(self) -> dict[str, Any]:
        self.thread.join(WAIT_SECONDS)
        assert not self.thread.is_alive(), "the EXEC did not finish"
        if self.error is not None:
            raise self.error
        assert self.row is not None
        return self.row


def app_exec(mock: OAuth2MockServer, **overrides: Any) -> Background:
    props = mock.connection_properties(**overrides)
    return Background(lambda: execute_row(cdata_oauth.connect(**props),
                                          "EXEC GetOAuthAccessToken"))


def printed_url(capsys: pytest.CaptureFixture[str], job: Background) -> str:
    """The authorization URL the connector printed to stderr for lack of a browser."""
    seen = ""
    done = threading.Event()
    while not done.wait(0.05):
        seen += capsys.readouterr().err
        for line in seen.splitlines():
            if line.startswith("http://") and "/authorize?" in line:
                return line.strip()
        if not job.thread.is_alive():
            job.result()
            raise AssertionError("the EXEC ended without printing a URL: " + seen)
    raise AssertionError("unreachable")


def test_app_mode_with_headless_chromium(oauth2_mock: OAuth2MockServer,
                                         headless_browser: HeadlessBrowser) -> None:
    job = app_exec(oauth2_mock, Timeout=WAIT_SECONDS, Scope="openid")
    row = job.result()
    assert row["OAuthAccessToken"] and row["OAuthRefreshToken"]
    authorize = oauth2_mock.requests("/authorize")
    assert len(authorize) == 1
    assert "HeadlessChrome" in authorize[0]["headers"]["user-agent"]
    query = authorize[0]["query"]
    assert query["code_challenge_method"] == "S256"
    redirect_uri = query["redirect_uri"]
    assert redirect_uri.startswith("http://127.0.0.1:") and redirect_uri.endswith("/callback")
    sent = oauth2_mock.token_requests()[0]["form"]
    assert sent["redirect_uri"] == redirect_uri
    assert sent["grant_type"] == "authorization_code"
    assert len(sent["code_verifier"]) == 43  # 256 random bits; the mock checked the challenge
    assert port_is_closed(urlsplit(redirect_uri).port or 0)


def test_no_browser_prints_url(oauth2_mock: OAuth2MockServer, no_browser: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    job = app_exec(oauth2_mock)
    url = printed_url(capsys, job)
    landed = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
    callback = landed.split("?", 1)[0]
    # Paths other than the callback (a browser's favicon request) do not end the wait.
    assert requests.get(callback.rsplit("/", 1)[0] + "/favicon.ico", timeout=10).status_code \
        == 404
    page = requests.get(landed, timeout=10)
    assert page.status_code == 200 and "close this window" in page.text
    assert job.result()["OAuthAccessToken"]
    assert port_is_closed(urlsplit(callback).port or 0)


def test_blocking_browser_command_does_not_stall(oauth2_mock: OAuth2MockServer,
                                                 no_browser: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    seen_url = tmp_path / "url.txt"
    release = tmp_path / "release"
    command = tmp_path / "slow-browser"
    command.write_text(f"#!/bin/sh\necho \"$1\" > {seen_url}\n"
                       f"i=0; while [ ! -e {release} ] && [ $i -lt 600 ]; do sleep 0.1; "
                       "i=$((i+1)); done\nexit 0\n")
    command.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(command))
    try:
        job = app_exec(oauth2_mock)
        done = threading.Event()
        while not (seen_url.exists() and seen_url.read_text().strip()):
            assert job.thread.is_alive(), job.result()
            done.wait(0.05)
        requests.get(seen_url.read_text().strip(), timeout=10)  # follows to the listener
        assert job.result()["OAuthAccessToken"]  # while the browser command still runs
    finally:
        release.touch()


def test_wrong_state_is_refused_and_waiting_goes_on(oauth2_mock: OAuth2MockServer,
                                                    no_browser: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    job = app_exec(oauth2_mock)
    url = printed_url(capsys, job)
    redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
    forged = requests.get(redirect_uri, params={"code": "stolen", "state": "forged"},
                          timeout=10)
    assert forged.status_code == 400 and "state" in forged.text
    assert job.thread.is_alive()
    requests.get(url, timeout=10)
    assert job.result()["OAuthAccessToken"]
    codes = [r["form"]["code"] for r in oauth2_mock.token_requests()]
    assert "stolen" not in codes and len(codes) == 1


def test_access_denied_on_callback(oauth2_mock: OAuth2MockServer, no_browser: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    job = app_exec(oauth2_mock)
    url = printed_url(capsys, job)
    query = parse_qs(urlsplit(url).query)
    page = requests.get(query["redirect_uri"][0], timeout=10, params={
        "error": "access_denied", "error_description": "The user declined",
        "state": query["state"][0]})
    assert "access_denied" in page.text
    with pytest.raises(OAuthError) as caught:
        job.result()
    assert caught.value.error == "access_denied"
    assert caught.value.description == "The user declined"
    assert oauth2_mock.token_requests() == []


def test_timeout_waiting_for_browser(oauth2_mock: OAuth2MockServer, no_browser: Path) -> None:
    port = free_port()
    job = app_exec(oauth2_mock, Timeout=1, CallbackURL=f"http://127.0.0.1:{port}/cb")
    with pytest.raises(OperationalError, match="timed out waiting for the browser"):
        job.result()
    assert port_is_closed(port)


def test_port_already_in_use(oauth2_mock: OAuth2MockServer, no_browser: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        job = app_exec(oauth2_mock, CallbackURL=f"http://127.0.0.1:{port}/cb")
        with pytest.raises(OperationalError, match=f"port {port}"):
            job.result()
    assert "/authorize?" not in capsys.readouterr().err  # no browser was sent anywhere
    assert oauth2_mock.requests() == []


@pytest.mark.parametrize("callback", ["https://127.0.0.1:8443/cb", "http://app.example/cb"])
def test_app_mode_needs_loopback_http_callback(oauth2_mock: OAuth2MockServer,
                                               callback: str) -> None:
    with pytest.raises(ProgrammingError, match="AuthMode=WEB"):
        app_exec(oauth2_mock, CallbackURL=callback).result()


def test_listener_interface_directly() -> None:
    with CallbackListener("http://localhost/done", timeout=WAIT_SECONDS) as listener:
        assert listener.redirect_uri.startswith("http://localhost:")
        port = urlsplit(listener.redirect_uri).port or 0
        assert port > 0
        answers: list[int] = []
        requester = threading.Thread(target=lambda: answers.extend(
            requests.get(listener.redirect_uri, params=p, timeout=10).status_code
            for p in ({"n": "1"}, {"n": "2"})), daemon=True)
        requester.start()
        got = listener.wait(lambda params: None if params.get("n") == "2" else "not yet")
        requester.join(WAIT_SECONDS)
        assert got == {"n": "2"}
        assert answers == [400, 200]
    assert port_is_closed(port)
    with pytest.raises(Error):
        listener.wait(lambda params: None)
