"""The device grant against the embedded provider: its device authorization endpoint,
its verification page (a link with the user code, or the form), its token grant's
answers (pending, denied, expired, another client's code), the token lifecycle with
GrantType=DEVICE, and Ctrl-C in a real process."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import cdata_oauth
from cdata_oauth.provider import EmbeddedProvider

WEB = "EXEC GetOAuthAccessToken GrantType='DEVICE', AuthMode='WEB', DeviceCode=?"
APP = "EXEC GetOAuthAccessToken GrantType='DEVICE'"
ROOT = Path(__file__).resolve().parents[2]


def _row(cursor: cdata_oauth.Cursor) -> dict[str, Any]:
    values = cursor.fetchone()
    assert values is not None
    return {d[0]: v for d, v in zip(cursor.description or (), values, strict=True)}


@pytest.fixture
def person(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Approves each prompted code through the provider's page (GET of the complete URI);
    yields the user codes it saw."""
    for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    seen: list[str] = []

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            url = getattr(record, "verification_uri_complete", None)
            if url:
                seen.append(getattr(record, "user_code"))  # noqa: B009
                threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 10},
                                 daemon=True).start()

    handler = Handler(logging.INFO)
    logger = logging.getLogger("cdata_oauth")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_web_mode_the_verification_form_approves_the_code(
        fresh_provider: EmbeddedProvider) -> None:
    with cdata_oauth.connect(**fresh_provider.connection_properties(Timeout=30)) as conn:
        code = _row(conn.execute("EXEC GetOAuthDeviceCode"))
        assert code["VerificationURI"] == fresh_provider.verification_url
        assert code["Interval"] == 1 and code["ExpiresIn"] == 600
        form = requests.get(code["VerificationURI"], timeout=10)
        assert form.status_code == 200 and 'name="user_code"' in form.text
        wrong = requests.post(code["VerificationURI"], data={"user_code": "BBBB-BBBB"},
                              timeout=10)
        assert wrong.status_code == 400 and "unknown" in wrong.text
        typed = code["UserCode"].lower().replace("-", " - ")  # as a person might type it
        approved = requests.post(code["VerificationURI"], data={"user_code": typed},
                                 timeout=10)
        assert approved.status_code == 200 and "Device approved" in approved.text
        row = _row(conn.execute(WEB, (code["DeviceCode"],)))
    assert fresh_provider.is_access_token_valid(row["OAuthAccessToken"])
    assert fresh_provider.is_refresh_token_valid(row["OAuthRefreshToken"])
    assert fresh_provider.grant_counts["urn:ietf:params:oauth:grant-type:device_code"] == 1


def test_a_device_code_is_used_once(fresh_provider: EmbeddedProvider) -> None:
    with cdata_oauth.connect(**fresh_provider.connection_properties(Timeout=30)) as conn:
        code = _row(conn.execute("EXEC GetOAuthDeviceCode"))
        requests.get(code["VerificationURIComplete"], timeout=10)
        _row(conn.execute(WEB, (code["DeviceCode"],)))
        with pytest.raises(cdata_oauth.OAuthError) as caught:
            conn.execute(WEB, (code["DeviceCode"],))
    assert caught.value.error == "invalid_grant"


def test_a_denied_code_is_access_denied(fresh_provider: EmbeddedProvider) -> None:
    fresh_provider.approve = False
    with cdata_oauth.connect(**fresh_provider.connection_properties(Timeout=30)) as conn:
        code = _row(conn.execute("EXEC GetOAuthDeviceCode"))
        page = requests.get(code["VerificationURIComplete"], timeout=10)
        assert "Device denied" in page.text
        with pytest.raises(cdata_oauth.OAuthError, match="declined") as caught:
            conn.execute(WEB, (code["DeviceCode"],))
        assert conn.tokens.stored() is None
    assert caught.value.error == "access_denied"


def test_an_expired_code_is_expired_token(fresh_provider: EmbeddedProvider) -> None:
    with cdata_oauth.connect(**fresh_provider.connection_properties(Timeout=30)) as conn:
        code = _row(conn.execute("EXEC GetOAuthDeviceCode"))
        with fresh_provider.store.lock:
            fresh_provider.store.device_codes[code["DeviceCode"]].expires_at = 0
        page = requests.get(code["VerificationURIComplete"], timeout=10)
        assert page.status_code == 400  # the person is told too
        with pytest.raises(cdata_oauth.OAuthError) as caught:
            conn.execute(WEB, (code["DeviceCode"],))
    assert caught.value.error == "expired_token"


def test_another_clients_device_code_is_refused(fresh_provider: EmbeddedProvider) -> None:
    public = fresh_provider.connection_properties(
        OAuthClientId=fresh_provider.public_client_id, OAuthClientSecret=None, Timeout=30)
    with cdata_oauth.connect(**public) as conn:
        code = _row(conn.execute("EXEC GetOAuthDeviceCode"))
    requests.get(code["VerificationURIComplete"], timeout=10)
    with cdata_oauth.connect(**fresh_provider.connection_properties(Timeout=30)) as conn, \
            pytest.raises(cdata_oauth.OAuthError) as caught:
        conn.execute(WEB, (code["DeviceCode"],))
    assert caught.value.error == "invalid_grant"


def test_a_wrong_client_secret_is_refused_at_the_device_endpoint(
        fresh_provider: EmbeddedProvider) -> None:
    props = fresh_provider.connection_properties(OAuthClientSecret="wrong-secret-123")
    with cdata_oauth.connect(**props) as conn, pytest.raises(cdata_oauth.OAuthError) as caught:
        conn.execute("EXEC GetOAuthDeviceCode")
    assert caught.value.error == "invalid_client"
    assert "wrong-secret-123" not in str(caught.value)


def test_app_mode_public_client(fresh_provider: EmbeddedProvider, person: list[str]) -> None:
    public = fresh_provider.connection_properties(
        OAuthClientId=fresh_provider.public_client_id, OAuthClientSecret=None, Timeout=30)
    with cdata_oauth.connect(**public) as conn:
        row = _row(conn.execute(APP))
    assert len(person) == 1
    assert fresh_provider.is_access_token_valid(row["OAuthAccessToken"])
    poll = fresh_provider.token_requests[-1]
    assert poll.auth_method == "none" and poll.status == 200


def test_getandrefresh_with_device_signs_in_once_then_refreshes_without_prompting(
        fresh_provider: EmbeddedProvider, person: list[str], tmp_path: Path) -> None:
    fresh_provider.access_token_lifetime = 0  # every stored token is due at once
    props = fresh_provider.connection_properties(
        GrantType="DEVICE", InitiateOAuth="GETANDREFRESH", Timeout=30,
        OAuthSettingsLocation=str(tmp_path / "tokens.json"))
    with cdata_oauth.connect(**props) as conn:
        first = conn.tokens.stored()
    assert first is not None and first.refresh_token and len(person) == 1
    with cdata_oauth.connect(**props) as conn:  # due: refreshed, not signed in again
        second = conn.tokens.stored()
    assert second is not None and second.access_token != first.access_token
    assert len(person) == 1
    counts = fresh_provider.grant_counts
    assert counts["urn:ietf:params:oauth:grant-type:device_code"] == 1
    assert counts["refresh_token"] == 1


_WAITER = textwrap.dedent("""
    import sys
    import cdata_oauth
    from cdata_oauth.provider import EmbeddedProvider

    with EmbeddedProvider(device_interval=3600) as provider:
        props = provider.connection_properties(
            GrantType="DEVICE", InitiateOAuth="GETANDREFRESH", Timeout=0,
            OAuthSettingsLocation=sys.argv[1])
        try:
            cdata_oauth.connect(**props)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
        print("connected", flush=True)
""")


def test_ctrl_c_in_a_real_process_ends_the_wait_and_stores_nothing(tmp_path: Path) -> None:
    store = tmp_path / "tokens.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    process = subprocess.Popen([sys.executable, "-c", _WAITER, str(store)], cwd=tmp_path,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert process.stderr is not None
        prompt = process.stderr.readline()  # the wait has begun: it polls once an hour
        assert prompt.startswith("To sign in, open http://127.0.0.1:"), prompt
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)  # an hour's interval: not by waiting
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    assert out.strip() == "interrupted"
    assert not store.exists() or json.loads(store.read_text() or "{}").get(
        "access_token") in (None, "")
