"""Single flight: when 32 threads, or 4 processes of 8 threads, find the token due at once,
exactly one refresh reaches the provider (rotation on), every caller gets its token, and
the rotated refresh token is the one stored."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

import cdata_oauth
from cdata_oauth.provider import EmbeddedProvider
from cdata_oauth.tokens.stores import Token, now_ms, open_store
from tests.workers import run_workers

ROOT = Path(__file__).resolve().parents[2]
THREADS = 32


@pytest.fixture
def provider(fresh_provider: EmbeddedProvider) -> EmbeddedProvider:
    fresh_provider.rotate_refresh_tokens = True
    return fresh_provider


def _due_token(provider: EmbeddedProvider, location: str) -> Token:
    """Sign in (PASSWORD grant) into ``location``, then age the token past its expiry."""
    properties = provider.connection_properties(
        GrantType="PASSWORD", User=provider.user, Password=provider.password,
        OAuthSettingsLocation=location)
    with cdata_oauth.connect(**properties) as conn:
        conn.execute("EXEC GetOAuthAccessToken")
    store = open_store(location)
    token = store.load()
    assert token is not None and token.refresh_token
    aged = Token(token.access_token, token.refresh_token, None, token.expires_in,
                 now_ms() - 2 * 3600 * 1000)
    store.save(aged)
    return aged


def _all_at_once(count: int, work: Callable[[], str]) -> list[str]:
    """Run ``work`` in ``count`` threads released together; re-raise the first failure."""
    barrier = threading.Barrier(count)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait(timeout=60)
            value = work()
        except BaseException as exc:  # reported below
            with lock:
                errors.append(exc)
            return
        with lock:
            results.append(value)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    assert len(results) == count
    return results


def _check_one_refresh(provider: EmbeddedProvider, location: str, old: Token,
                       tokens: list[str]) -> None:
    assert provider.grant_counts["refresh_token"] == 1
    stored = open_store(location).load()
    assert stored is not None
    assert set(tokens) == {stored.access_token}
    assert stored.access_token != old.access_token
    assert provider.is_access_token_valid(stored.access_token or "")
    assert stored.refresh_token != old.refresh_token
    assert provider.is_refresh_token_valid(stored.refresh_token or "")
    assert not provider.is_refresh_token_valid(old.refresh_token or "")


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_32_threads_opening_connections_refresh_once(provider: EmbeddedProvider,
                                                     tmp_path: Path, kind: str) -> None:
    location = str(tmp_path / "tokens.json") if kind == "file" else \
        f"memory://single-flight-{id(provider)}"
    old = _due_token(provider, location)
    properties = provider.connection_properties(InitiateOAuth="REFRESH",
                                                OAuthSettingsLocation=location)

    def open_and_read() -> str:
        with cdata_oauth.connect(**properties) as conn:
            return conn.tokens.access_token()

    _check_one_refresh(provider, location, old, _all_at_once(THREADS, open_and_read))


def test_32_threads_sharing_a_connection_refresh_once(provider: EmbeddedProvider,
                                                      tmp_path: Path) -> None:
    location = str(tmp_path / "tokens.json")
    _due_token(provider, location)
    properties = provider.connection_properties(InitiateOAuth="OFF",
                                                OAuthSettingsLocation=location)
    with cdata_oauth.connect(**properties) as conn:
        old = conn.tokens.stored()
        assert old is not None
        tokens = _all_at_once(THREADS, conn.tokens.access_token)
    _check_one_refresh(provider, location, old, tokens)


def test_32_threads_answered_401_refresh_once(provider: EmbeddedProvider,
                                              tmp_path: Path) -> None:
    location = str(tmp_path / "tokens.json")
    _due_token(provider, location)
    properties = provider.connection_properties(InitiateOAuth="REFRESH",
                                                OAuthSettingsLocation=location)
    with cdata_oauth.connect(**properties) as conn:
        first = conn.tokens.stored()
        assert first is not None and provider.grant_counts["refresh_token"] == 1
        with provider.store.lock:  # the provider revokes the token everyone holds
            del provider.store.access_tokens[first.access_token or ""]
        auth = cdata_oauth.BearerAuth(conn)

        def call() -> str:
            answer = requests.get(provider.userinfo_url, auth=auth, timeout=60)
            assert answer.status_code == 200
            return str(answer.request.headers["Authorization"])

        headers = _all_at_once(THREADS, call)
    assert provider.grant_counts["refresh_token"] == 2
    stored = open_store(location).load()
    assert stored is not None and stored.access_token != first.access_token
    assert set(headers) == {f"Bearer {stored.access_token}"}


def test_4_processes_of_8_threads_refresh_once(provider: EmbeddedProvider,
                                               tmp_path: Path) -> None:
    location = str(tmp_path / "tokens.json")
    old = _due_token(provider, location)
    properties: dict[str, Any] = provider.connection_properties(
        InitiateOAuth="REFRESH", OAuthSettingsLocation=location)
    reports = run_workers(tmp_path, properties)  # each finds the token due at once
    assert [r["errors"] for r in reports] == [[]] * 4
    tokens = [token for report in reports for token in report["tokens"]]
    assert len(tokens) == 32
    _check_one_refresh(provider, location, old, tokens)
