"""Failing providers: a local server misbehaves on purpose, one way per case. Each case
gives the documented exception with a message naming the host and what happened, and
leaves the token store exactly as it was."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cdata_oauth
from cdata_oauth.exceptions import OAuthError, OperationalError
from tests.servers.hostile import HostileServer, refused_port
from tests.servers.tls import TokenServer

SECRET = "misbehaving-client-secret-7Qx"
STORED = {"format": "cdata_oauth.tokens/1", "OAuthAccessToken": "stored-access-before",
          "OAuthRefreshToken": "stored-refresh-before", "OAuthTokenSecret": None,
          "OAuthExpiresIn": 3600, "OAuthTokenTimestamp": 1_700_000_000_000}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Path]:
    """A token file holding an earlier token; the test checks it is left untouched."""
    folder = tmp_path / "store"
    folder.mkdir()
    path = folder / "tokens.json"
    path.write_text(json.dumps(STORED, indent=2) + "\n")
    before = path.read_bytes()
    yield path
    assert path.read_bytes() == before, "a failed request changed the token store"
    assert sorted(p.name for p in folder.iterdir()) == ["tokens.json"]


def client_grant(url: str, store: Path, **extra: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "OAuthVersion": "2.0", "GrantType": "CLIENT", "OAuthClientId": "cid",
        "OAuthClientSecret": SECRET, "OAuthAccessTokenURL": url, "Timeout": 10,
        "InitiateOAuth": "OFF", "OAuthSettingsLocation": str(store), **extra}
    with cdata_oauth.connect(**props) as conn:
        cursor = conn.execute("EXEC GetOAuthAccessToken GrantType='CLIENT'")
        row = cursor.fetchone()
        assert row is not None
        return {d[0]: v for d, v in zip(cursor.description or (), row, strict=True)}


def failure(url: str, store: Path, kind: type[Exception] = OperationalError,
            **extra: Any) -> str:
    """The message of the exception the grant raises; it must be exactly ``kind``'s family
    and never leak the client secret."""
    with pytest.raises(kind) as caught:
        client_grant(url, store, **extra)
    message = str(caught.value)
    assert SECRET not in message and SECRET not in repr(caught.value)
    return message


def test_the_store_fixture_sees_a_success(hostile_server: HostileServer,
                                          tmp_path: Path) -> None:
    """Control: the same set-up against a well-behaved path does write the store, so the
    checks below would notice a write."""
    path = tmp_path / "tokens.json"
    row = client_grant(hostile_server.url("/token"), path)
    assert row["OAuthAccessToken"] == "from-the-other-host"
    assert json.loads(path.read_text())["OAuthAccessToken"] == "from-the-other-host"


def test_connection_refused(store: Path) -> None:
    message = failure(f"http://127.0.0.1:{refused_port()}/token", store)
    assert "127.0.0.1" in message and "refused" in message


def test_reset_before_the_answer(hostile_server: HostileServer, store: Path) -> None:
    message = failure(hostile_server.url("/reset-before-answer"), store)
    assert "127.0.0.1" in message and "reset" in message


def test_reset_in_the_middle_of_the_answer(hostile_server: HostileServer, store: Path) -> None:
    message = failure(hostile_server.url("/reset-mid-response"), store)
    assert "127.0.0.1" in message and "cut off" in message


def test_slow_headers_hit_the_timeout(hostile_server: HostileServer, store: Path) -> None:
    message = failure(hostile_server.url("/slow-headers"), store, Timeout=1)
    assert "127.0.0.1" in message and "timed out" in message and "Timeout" in message


def test_a_dripping_body_fails_at_the_timeout_not_per_read(
        hostile_server: HostileServer, store: Path) -> None:
    """One byte a second satisfies every per-read timeout; the whole body must still be
    in within Timeout. (The body is 400+ bytes: without a whole-body deadline this would
    take minutes and the pytest timeout would fail it.)"""
    started = time.monotonic()
    message = failure(hostile_server.url("/drip"), store, Timeout=2)
    assert "127.0.0.1" in message and "timed out" in message and "within 2 seconds" in message
    assert time.monotonic() - started < 60  # a bound against hanging, not a speed claim


def test_headers_dripping_a_byte_a_second_fail_at_the_timeout(
        hostile_server: HostileServer, store: Path) -> None:
    """Per-read timeouts cannot catch this either: the status line and headers come one
    byte a second (300+ bytes), each read gets its byte."""
    message = failure(hostile_server.url("/drip-headers"), store, Timeout=2)
    assert "127.0.0.1" in message and "timed out" in message and "within 2 seconds" in message


def test_a_body_that_stops_coming_fails_at_the_timeout(hostile_server: HostileServer,
                                                       store: Path) -> None:
    message = failure(hostile_server.url("/stall-body"), store, Timeout=1)
    assert "127.0.0.1" in message and "timed out" in message and "within 1 seconds" in message


def test_html_500(hostile_server: HostileServer, store: Path) -> None:
    message = failure(hostile_server.url("/html-500"), store)
    assert "127.0.0.1" in message and "HTTP 500" in message and "Internal Server Error" in message


def test_invalid_json_200(hostile_server: HostileServer, store: Path) -> None:
    message = failure(hostile_server.url("/invalid-json"), store)
    assert "127.0.0.1" in message and "HTTP 200" in message and "neither JSON" in message


def test_200_without_access_token(hostile_server: HostileServer, store: Path) -> None:
    message = failure(hostile_server.url("/no-access-token"), store)
    assert "127.0.0.1" in message and "without an access_token" in message


@pytest.mark.parametrize("path", ["/huge-declared", "/huge-undeclared"])
def test_a_huge_body_is_capped(hostile_server: HostileServer, store: Path, path: str) -> None:
    message = failure(hostile_server.url(path), store)
    assert "127.0.0.1" in message and "larger than 1 MiB" in message


@pytest.mark.parametrize(("path", "when"), [
    ("/throttle-429", "retry after 120 seconds"),
    ("/unavailable-503", "retry after 2099-10-21 07:28:00 UTC"),
])
def test_retry_after_says_when_to_retry(hostile_server: HostileServer, store: Path,
                                        path: str, when: str) -> None:
    message = failure(hostile_server.url(path), store)
    assert "127.0.0.1" in message and path[-3:] in message and when in message


def test_an_oauth_error_with_retry_after_keeps_its_fields(hostile_server: HostileServer,
                                                         store: Path) -> None:
    with pytest.raises(OAuthError) as caught:
        client_grant(hostile_server.url("/slow-down-429"), store)
    assert (caught.value.error, caught.value.status) == ("slow_down", 429)
    assert "retry after 30 seconds" in str(caught.value)


def test_a_redirect_to_another_host_is_not_followed(
        hostile_server: HostileServer, other_host: HostileServer, store: Path) -> None:
    target = other_host.url("/token", host="localhost")
    hostile_server.redirect_to = target
    try:
        message = failure(hostile_server.url("/redirect"), store,
                          OtherOptions="ClientAuth=POST")
    finally:
        hostile_server.redirect_to = None
    assert "127.0.0.1" in message and "HTTP 307" in message and target in message
    assert "not followed" in message
    assert other_host.received == []  # neither the request nor any credential got there
    sent = hostile_server.requests_to("/redirect")[-1]
    assert f"client_secret={SECRET}" in sent.body  # proof there was something to forward


def test_untrusted_tls_certificate(tls_token_server: TokenServer, store: Path) -> None:
    message = failure(tls_token_server.token_url, store)
    assert "TLS with 127.0.0.1 failed" in message and "not trusted" in message
    assert "SSLServerCert" in message
    posts = [s for s in tls_token_server.seen if s[0] == "POST"]
    assert posts == []  # the handshake failed: no request (and no secret) was sent


def test_the_oauth1_exchange_explains_throttling_and_redirects(
        hostile_server: HostileServer, other_host: HostileServer) -> None:
    """OAuth 1.0a answers go through the same checks."""
    props = {"OAuthVersion": "1.0", "OAuthClientId": "consumer", "OAuthClientSecret": SECRET,
             "OAuthRequestTokenURL": hostile_server.url("/throttle-429"),
             "OAuthAuthorizationURL": hostile_server.url("/authorize"), "Timeout": 10}
    with cdata_oauth.connect(**props) as conn:
        with pytest.raises(OperationalError, match="retry after 120 seconds"):
            conn.execute("EXEC GetOAuthAuthorizationURL")
        hostile_server.redirect_to = other_host.url("/token", host="localhost")
        try:
            with pytest.raises(OperationalError, match="not followed"):
                conn.execute("EXEC GetOAuthAuthorizationURL OAuthRequestTokenURL=?",
                             (hostile_server.url("/redirect"),))
        finally:
            hostile_server.redirect_to = None
    assert other_host.received == []
