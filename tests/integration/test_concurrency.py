"""threadsafety = 2: 16 threads share one connection (each with its own cursor), or each
has its own, and run GetOAuthAccessToken (CLIENT, PASSWORD) and RefreshOAuthAccessToken
at once against the embedded provider. No error, and no crossed results: each thread
asks with its own user and scope and checks, at the provider, that the token it got was
issued for exactly those."""

from __future__ import annotations

import secrets
import threading
import traceback
from collections.abc import Callable
from typing import Any

import pytest

import cdata_oauth
from cdata_oauth.provider import EmbeddedProvider

THREADS = 16
ROUNDS = 3


def row_of(cursor: cdata_oauth.Cursor) -> dict[str, Any]:
    values = cursor.fetchone()
    assert values is not None and cursor.fetchone() is None
    return {d[0]: v for d, v in zip(cursor.description or (), values, strict=True)}


def all_at_once(count: int, work: Callable[[int], None]) -> None:
    """``work(i)`` in ``count`` threads released together; every failure is re-raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            work(index)
        except BaseException as exc:  # collected and shown below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert errors == [], "".join(traceback.format_exception(errors[0]))


def users(p: EmbeddedProvider) -> list[tuple[str, str]]:
    found = [(f"user-{i}", secrets.token_urlsafe(12)) for i in range(THREADS)]
    with p.store.lock:
        p.store.users.update(dict(found))
    return found


def thread_work(p: EmbeddedProvider, connection_for: Callable[[int], cdata_oauth.Connection],
                accounts: list[tuple[str, str]]) -> Callable[[int], None]:
    def work(index: int) -> None:
        conn = connection_for(index)
        user, password = accounts[index]
        scope = f"scope-{index}"
        for _ in range(ROUNDS):
            cursor = conn.cursor()  # cursors are not shared
            got = row_of(cursor.execute("EXEC GetOAuthAccessToken GrantType='CLIENT', Scope=?",
                                        (scope,)))
            issued = p.store.access_token(got["OAuthAccessToken"])
            assert issued is not None and issued.grant_type == "client_credentials"
            assert issued.scopes == [scope] and got["OAuthParam:scope"] == scope

            got = row_of(cursor.execute(
                "EXEC GetOAuthAccessToken GrantType='PASSWORD', User=?, Password=?, Scope=?",
                (user, password, scope)))
            issued = p.store.access_token(got["OAuthAccessToken"])
            assert issued is not None and issued.grant_type == "password"
            assert (issued.user, issued.scopes) == (user, [scope])
            refresh = got["OAuthRefreshToken"]

            got = row_of(cursor.execute("EXEC RefreshOAuthAccessToken OAuthRefreshToken=?",
                                        (refresh,)))
            issued = p.store.access_token(got["OAuthAccessToken"])
            assert issued is not None and issued.grant_type == "refresh_token"
            assert (issued.user, issued.scopes) == (user, [scope])
            assert got["OAuthRefreshToken"] not in (None, refresh)  # rotated, and ours
            renewed = p.store.refresh_tokens[got["OAuthRefreshToken"]]
            assert renewed.user == user
            cursor.close()

    return work


def expected_counts() -> dict[str, int]:
    total = THREADS * ROUNDS
    return {"client_credentials": total, "password": total, "refresh_token": total}


def test_threads_sharing_one_connection(fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    p.rotate_refresh_tokens = True
    accounts = users(p)
    with cdata_oauth.connect(**p.connection_properties(Timeout=30)) as shared:
        all_at_once(THREADS, thread_work(p, lambda _i: shared, accounts))
    assert dict(p.grant_counts) == expected_counts()


def test_threads_with_their_own_connections(fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    p.rotate_refresh_tokens = True
    accounts = users(p)
    connections = [cdata_oauth.connect(**p.connection_properties(Timeout=30))
                   for _ in range(THREADS)]
    try:
        all_at_once(THREADS, thread_work(p, lambda i: connections[i], accounts))
    finally:
        for conn in connections:
            conn.close()
    assert dict(p.grant_counts) == expected_counts()


@pytest.mark.parametrize("shared_store", [False, True])
def test_a_shared_connection_keeps_the_last_token_of_some_thread(
        fresh_provider: EmbeddedProvider, shared_store: bool, tmp_path: Any) -> None:
    """The connection's stored token after the storm is one that a thread really got
    (never a mix of two answers: access token of one, refresh token of another)."""
    p = fresh_provider
    accounts = users(p)
    extra = {"OAuthSettingsLocation": str(tmp_path / "t.json")} if shared_store else {}
    issued: list[tuple[str, str]] = []
    lock = threading.Lock()
    with cdata_oauth.connect(**p.connection_properties(Timeout=30, **extra)) as shared:
        def work(index: int) -> None:
            user, password = accounts[index]
            row = row_of(shared.cursor().execute(
                "EXEC GetOAuthAccessToken GrantType='PASSWORD', User=?, Password=?",
                (user, password)))
            with lock:
                issued.append((row["OAuthAccessToken"], row["OAuthRefreshToken"]))

        all_at_once(THREADS, work)
        stored = shared.tokens.stored()
    assert stored is not None
    assert (stored.access_token, stored.refresh_token) in issued


FIRST_PARSE = """
import sys, threading
sys.setswitchinterval(1e-6)
from cdata_oauth.sql import parse as sql
barrier, errors = threading.Barrier(16), []
def work():
    barrier.wait()
    try:
        sql.parse("EXEC GetOAuthAccessToken GrantType='CLIENT', Scope=?")
    except Exception as exc:
        errors.append(exc)
threads = [threading.Thread(target=work) for _ in range(16)]
[t.start() for t in threads]
[t.join() for t in threads]
print(len(errors), errors[:1])
"""


def test_the_first_statements_of_a_process_parse_in_parallel() -> None:
    """sqlglot's first load is not thread-safe: 16 threads whose very first statement
    comes at once once got a dialect that cannot parse EXEC (a ProgrammingError for a
    valid statement). Several fresh processes, as the race needs a fresh interpreter."""
    import subprocess
    import sys

    runs = [subprocess.Popen([sys.executable, "-c", FIRST_PARSE], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(8)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert all(out.startswith("0 []") for out in outputs), outputs
