"""Token stores for fleets, against real engines (Debian redis-server and PostgreSQL on
127.0.0.1, run as unprivileged processes): issue 18's guarantees 1-6.

Workers are separate processes that share nothing but the engine; the refresh count is
the embedded provider's (``grant_counts``).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import cdata_oauth
from cdata_oauth.provider import EmbeddedProvider
from cdata_oauth.tokens.stores import StoreOptions, Token, now_ms, open_store, rekey
from tests.servers.postgres import PostgresServer
from tests.servers.redis import RedisServer, finish_redis, start_redis
from tests.workers import run_workers

ROOT = Path(__file__).resolve().parents[2]
ENGINES = ["redis", "postgres"]


@pytest.fixture
def provider(fresh_provider: EmbeddedProvider) -> EmbeddedProvider:
    fresh_provider.rotate_refresh_tokens = True
    return fresh_provider


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> RedisServer | PostgresServer:
    """The session's engine of each kind."""
    return request.getfixturevalue(f"{request.param}_server")  # type: ignore[no-any-return]


@pytest.fixture(params=ENGINES)
def private_engine(request: pytest.FixtureRequest) -> RedisServer | PostgresServer:
    """An engine of this test's own, which it may stop, restart or freeze."""
    return request.getfixturevalue(f"private_{request.param}")  # type: ignore[no-any-return]


def _url(engine: RedisServer | PostgresServer, **query: str) -> str:
    query.setdefault("key", "t-" + secrets.token_hex(6))
    return engine.url(**query)


def _raw(engine: RedisServer | PostgresServer, url: str) -> tuple[Any, Any]:
    """(version, data) as the engine holds them, read around the store."""
    key = url.split("key=")[1].split("&")[0]
    if isinstance(engine, RedisServer):
        version, data = engine.client().hmget(key, "version", "data")
        return version, data
    table = url.split("table=")[1].split("&")[0] if "table=" in url else "cdata_oauth_tokens"
    rows = engine.sql(f"SELECT version, data FROM {table} WHERE key = %s", (key,))
    return (rows[0][0], rows[0][1]) if rows else (None, None)


def _due_token(provider: EmbeddedProvider, location: str, **extra: Any) -> Token:
    """Sign in (PASSWORD grant) into ``location``, then age the token past its expiry."""
    properties = provider.connection_properties(
        GrantType="PASSWORD", User=provider.user, Password=provider.password,
        OAuthSettingsLocation=location, **extra)
    with cdata_oauth.connect(**properties) as conn:
        conn.execute("EXEC GetOAuthAccessToken")
    store = open_store(location, StoreOptions(encryption_key=extra.get(
        "OAuthSettingsEncryptionKey")))
    token = store.load()
    assert token is not None and token.refresh_token
    aged = Token(token.access_token, token.refresh_token, None, token.expires_in,
                 now_ms() - 2 * 3600 * 1000)
    store.save(aged)
    return aged


# 1. one refresh across hosts; 2. rotation-safe

@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_4_processes_of_8_threads_refresh_once_through_the_engine(
        provider: EmbeddedProvider, engine: RedisServer | PostgresServer, tmp_path: Path,
        encrypted: bool) -> None:
    location = _url(engine)
    extra = {"OAuthSettingsEncryptionKey": "fleet passphrase"} if encrypted else {}
    old = _due_token(provider, location, **extra)
    properties = provider.connection_properties(
        InitiateOAuth="REFRESH", OAuthSettingsLocation=location, Timeout=20, **extra)
    reports = run_workers(tmp_path, properties)
    assert [r["errors"] for r in reports] == [[]] * 4
    tokens = [token for report in reports for token in report["tokens"]]
    assert len(tokens) == 32
    assert provider.grant_counts["refresh_token"] == 1
    stored = open_store(location, StoreOptions(
        encryption_key=extra.get("OAuthSettingsEncryptionKey"))).load()
    assert stored is not None and set(tokens) == {stored.access_token}
    assert stored.access_token != old.access_token
    assert provider.is_access_token_valid(stored.access_token or "")
    # the rotated refresh token was written (the old one is spent at the provider)
    assert stored.refresh_token != old.refresh_token
    assert provider.is_refresh_token_valid(stored.refresh_token or "")
    assert not provider.is_refresh_token_valid(old.refresh_token or "")
    if encrypted:  # the engine never holds a token in clear
        _, data = _raw(engine, location)
        text = data.decode() if isinstance(data, bytes) else str(data)
        assert stored.access_token not in text and stored.refresh_token not in text  # type: ignore[operator]


def test_a_failed_refresh_leaves_the_entry_as_it_was(
        provider: EmbeddedProvider, engine: RedisServer | PostgresServer) -> None:
    location = _url(engine)
    old = _due_token(provider, location)
    before = _raw(engine, location)
    provider.revoke(old.refresh_token or "")  # the provider will answer invalid_grant
    properties = provider.connection_properties(InitiateOAuth="REFRESH",
                                                OAuthSettingsLocation=location)
    with pytest.raises(cdata_oauth.OAuthError):
        cdata_oauth.connect(**properties)
    assert _raw(engine, location) == before


_STALE_WRITER = """
import sys, time, pathlib
from cdata_oauth.tokens.stores import StoreOptions, Token, open_store
from cdata_oauth.exceptions import OperationalError
location, signal_file = sys.argv[1], sys.argv[2]
options = StoreOptions(timeout=1)
store = open_store(location, options)
try:
    with store.lock():
        store.load()
        pathlib.Path(signal_file).write_text("locked")
        time.sleep(options.lease + 2)        # the lease runs out; another worker takes over
        store.save(Token("at_stale_writer", "rt_stale_writer"))
    print("written")
except OperationalError as exc:
    print("refused:", exc)
"""


def test_a_writer_whose_lease_ran_out_cannot_overwrite_a_newer_entry(
        engine: RedisServer | PostgresServer, tmp_path: Path) -> None:
    location = _url(engine)
    options = StoreOptions(timeout=1)
    open_store(location, options).save(Token("at_first", "rt_first"))
    signal_file = tmp_path / "locked"
    child = subprocess.Popen([sys.executable, "-c", _STALE_WRITER, location, str(signal_file)],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not signal_file.exists():
            assert child.poll() is None and time.monotonic() < deadline, "no lock taken"
            time.sleep(0.02)
        store = open_store(location, options)
        with store.lock():  # waits for the stale holder's lease to end
            assert store.load() == Token("at_first", "rt_first")
            store.save(Token("at_newer", "rt_newer"))
        out = child.communicate(timeout=60)[0]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert out.startswith("refused:"), out
    assert "not written" in out or "Lost the token store" in out, out
    assert open_store(location, options).load() == Token("at_newer", "rt_newer")


# 3. holder killed mid-refresh

_STALLED_HOLDER = """
import json, pathlib, sys, time
import cdata_oauth
from cdata_oauth.dbapi.connection import Connection
properties, signal_file = json.loads(sys.argv[1]), sys.argv[2]
original = Connection.run_procedure
def stalled(self, procedure, args, reusable=False):
    if procedure == "RefreshOAuthAccessToken":   # holding the lock, about to refresh
        pathlib.Path(signal_file).write_text("refreshing")
        time.sleep(600)
    return original(self, procedure, args, reusable)
Connection.run_procedure = stalled
cdata_oauth.connect(**properties)
"""


def test_a_holder_killed_mid_refresh_is_taken_over_when_its_lease_ends(
        provider: EmbeddedProvider, engine: RedisServer | PostgresServer,
        tmp_path: Path) -> None:
    location = _url(engine)
    old = _due_token(provider, location)
    before = _raw(engine, location)
    properties = provider.connection_properties(InitiateOAuth="REFRESH", Timeout=2,
                                                OAuthSettingsLocation=location)
    signal_file = tmp_path / "refreshing"
    holder = subprocess.Popen([sys.executable, "-c", _STALLED_HOLDER, json.dumps(properties),
                               str(signal_file)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not signal_file.exists():
            assert holder.poll() is None and time.monotonic() < deadline, "holder never locked"
            time.sleep(0.02)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert _raw(engine, location) == before  # nothing half-written
    with cdata_oauth.connect(**properties) as conn:  # takes over once the lease ends
        token = conn.tokens.current()
    assert provider.grant_counts["refresh_token"] == 1
    assert token.access_token != old.access_token
    assert provider.is_access_token_valid(token.access_token or "")
    assert open_store(location).load() == token


# 4. engine faults

def _client_properties(provider: EmbeddedProvider, location: str,
                       **extra: Any) -> dict[str, Any]:
    return provider.connection_properties(GrantType="CLIENT", InitiateOAuth="GETANDREFRESH",
                                          OAuthSettingsLocation=location, **extra)


def _scheme(engine: RedisServer | PostgresServer) -> str:
    return "redis" if isinstance(engine, RedisServer) else "postgresql"


def test_an_engine_that_is_down_is_an_operational_error_naming_it_without_the_password(
        embedded_provider: EmbeddedProvider, private_engine: RedisServer | PostgresServer,
        caplog: pytest.LogCaptureFixture) -> None:
    location = _url(private_engine)
    private_engine.stop()
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    with pytest.raises(cdata_oauth.OperationalError) as raised:
        cdata_oauth.connect(**_client_properties(embedded_provider, location, Timeout=3))
    elapsed = time.monotonic() - started
    message = str(raised.value)
    assert f"{_scheme(private_engine)}://127.0.0.1:{private_engine.port}/" in message
    assert private_engine.password not in message
    assert private_engine.password not in caplog.text
    assert elapsed < 3 + 5, elapsed  # within Timeout (a liveness bound, not a speed target)


def test_an_engine_restarted_serves_the_next_statement_without_reconnecting(
        embedded_provider: EmbeddedProvider,
        private_engine: RedisServer | PostgresServer) -> None:
    location = _url(private_engine)
    with cdata_oauth.connect(**_client_properties(embedded_provider, location,
                                                  Timeout=5)) as conn:
        assert conn.tokens.current().access_token
        private_engine.stop()
        private_engine.start()
        token = conn.tokens.current()  # the same connection: the store reconnects
        assert embedded_provider.is_access_token_valid(token.access_token or "")
        assert conn.tokens.stored() == token


def test_a_frozen_engine_costs_at_most_timeout_and_works_again_when_thawed(
        embedded_provider: EmbeddedProvider,
        private_engine: RedisServer | PostgresServer) -> None:
    location = _url(private_engine)
    with cdata_oauth.connect(**_client_properties(embedded_provider, location,
                                                  Timeout=2)) as conn:
        assert conn.tokens.current().access_token
        private_engine.freeze()
        try:
            started = time.monotonic()
            with pytest.raises(cdata_oauth.OperationalError, match="did not answer within 2"):
                conn.tokens.current()
            elapsed = time.monotonic() - started
        finally:
            private_engine.thaw()
        assert elapsed < 2 + 4, elapsed  # bounded by Timeout, not hung
        assert embedded_provider.is_access_token_valid(conn.tokens.current().access_token
                                                       or "")


def test_a_redis_database_the_server_lacks_is_a_programming_error(
        redis_server: RedisServer) -> None:
    store = open_store(redis_server.url(db=99, key="k"))
    with pytest.raises(cdata_oauth.ProgrammingError, match="no database 99") as raised:
        store.load()
    assert redis_server.password not in str(raised.value)


def test_a_postgres_database_that_does_not_exist_is_a_programming_error(
        postgres_server: PostgresServer) -> None:
    store = open_store(postgres_server.url(dbname="nosuchdb"))
    with pytest.raises(cdata_oauth.ProgrammingError, match="nosuchdb") as raised:
        store.load()
    assert postgres_server.password not in str(raised.value)


@pytest.mark.parametrize("table", ["x; DROP TABLE cdata_oauth_tokens; --",
                                   'tokens" OR 1=1 --', "a.b.c", "1abc", ""])
def test_a_table_name_that_is_not_an_identifier_is_refused_before_any_sql(
        postgres_server: PostgresServer, table: str) -> None:
    open_store(postgres_server.url(key="canary")).save(Token("at_canary"))
    with pytest.raises(cdata_oauth.ProgrammingError, match="not a table name") as raised:
        open_store(postgres_server.url(table=table))
    assert postgres_server.password not in str(raised.value)
    assert open_store(postgres_server.url(key="canary")).load() == Token("at_canary")


def test_a_wrong_password_is_an_operational_error_without_the_password(
        engine: RedisServer | PostgresServer) -> None:
    location = _url(engine).replace(engine.password, "WrongPassw0rd")
    with pytest.raises(cdata_oauth.OperationalError, match="refused") as raised:
        open_store(location).load()
    assert "WrongPassw0rd" not in str(raised.value)


def test_a_table_in_a_named_schema_is_created_and_used(
        postgres_server: PostgresServer) -> None:
    postgres_server.sql("CREATE SCHEMA IF NOT EXISTS fleet")
    location = postgres_server.url(key="k", table="fleet.job_tokens")
    open_store(location).save(Token("at_schema"))
    assert open_store(location).load() == Token("at_schema")
    assert postgres_server.sql("SELECT count(*) FROM fleet.job_tokens")[0][0] == 1


# encryption at rest

def test_a_wrong_key_cannot_decrypt_and_leaves_the_entry_untouched(
        engine: RedisServer | PostgresServer) -> None:
    location = _url(engine)
    open_store(location, StoreOptions(encryption_key="right key")).save(Token("at_secret1"))
    before = _raw(engine, location)
    assert b"at_secret1" not in (before[1] if isinstance(before[1], bytes)
                                 else str(before[1]).encode())
    with pytest.raises(cdata_oauth.OperationalError, match="Cannot decrypt"):
        open_store(location, StoreOptions(encryption_key="wrong key")).load()
    with pytest.raises(cdata_oauth.OperationalError, match="encrypted, and "
                       "OAuthSettingsEncryptionKey is not set"):
        open_store(location).load()
    assert _raw(engine, location) == before
    assert open_store(location, StoreOptions(encryption_key="right key")).load() \
        == Token("at_secret1")


def test_a_plaintext_entry_with_a_key_set_is_refused_until_it_is_rekeyed(
        engine: RedisServer | PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    location = _url(engine)
    open_store(location).save(Token("at_plain"))
    before = _raw(engine, location)
    monkeypatch.setenv("CDATA_TEST_KEY", "from the environment")
    keyed = StoreOptions(encryption_key="env:CDATA_TEST_KEY")
    with pytest.raises(cdata_oauth.OperationalError, match="stored in clear"):
        open_store(location, keyed).load()
    assert _raw(engine, location) == before
    assert rekey(location, None, "env:CDATA_TEST_KEY") == Token("at_plain")
    assert open_store(location, keyed).load() == Token("at_plain")
    rekey(location, "env:CDATA_TEST_KEY", "the next key")  # the rotation step
    with pytest.raises(cdata_oauth.OperationalError, match="Cannot decrypt"):
        open_store(location, keyed).load()
    assert open_store(location, StoreOptions(encryption_key="the next key")).load() \
        == Token("at_plain")


# 5. a fresh token costs at most one engine round trip per statement

def test_a_fresh_token_costs_at_most_one_engine_command_per_statement(
        embedded_provider: EmbeddedProvider, engine: RedisServer | PostgresServer) -> None:
    table = "rt_" + secrets.token_hex(4)
    location = _url(engine, table=table) if isinstance(engine, PostgresServer) \
        else _url(engine)
    statements = 50
    with cdata_oauth.connect(**_client_properties(embedded_provider, location)) as conn:
        conn.tokens.current()  # signed in; the connections to the engine are open
        if isinstance(engine, RedisServer):
            before = engine.command_count()
            for _ in range(statements):
                conn.tokens.current()
            used = engine.command_count() - before
        else:
            before = engine.statement_calls(table)
            for _ in range(statements):
                conn.tokens.current()
            used = engine.statement_calls(table) - before
    assert 0 < used <= statements, used


def test_delete_removes_the_entry_for_every_worker(
        embedded_provider: EmbeddedProvider, engine: RedisServer | PostgresServer) -> None:
    """What RevokeOAuthToken and ``cdata-oauth logout`` do: the entry is gone for every
    worker, so the next GETANDREFRESH signs in again."""
    location = _url(engine)
    with cdata_oauth.connect(**_client_properties(embedded_provider, location)) as conn:
        first = conn.tokens.current()
        assert conn.tokens.store.delete() is True
        assert conn.tokens.store.load() is None
        assert conn.tokens.store.delete() is False
        with cdata_oauth.connect(**_client_properties(embedded_provider, location)) as other:
            assert other.tokens.current().access_token != first.access_token


# 6. the location's password is masked everywhere

def test_the_location_password_is_masked_in_sys_connection_props_repr_and_messages(
        embedded_provider: EmbeddedProvider, engine: RedisServer | PostgresServer,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    location = _url(engine)
    properties = _client_properties(embedded_provider, location,
                                    OAuthSettingsEncryptionKey="props key 123")
    with cdata_oauth.connect(**properties) as conn:
        rows = dict(conn.execute("SELECT Name, Value FROM sys_connection_props").fetchall())
        shown = [rows["OAuthSettingsLocation"], repr(conn), repr(conn.tokens),
                 repr(conn.tokens.store), conn.tokens.location or ""]
        assert rows["OAuthAccessToken"]  # the token itself is still shown, as before
        assert rows["OAuthSettingsEncryptionKey"] == "********"
    assert all(engine.password not in text for text in shown), shown
    assert all("props key 123" not in text for text in shown), shown
    assert rows["OAuthSettingsLocation"].startswith(f"{_scheme(engine)}://********@127.0.0.1")
    with pytest.raises(cdata_oauth.OperationalError) as raised:
        cdata_oauth.connect(**{**properties, "OAuthSettingsEncryptionKey": "another key"})
    assert engine.password not in str(raised.value)
    assert engine.password not in caplog.text and "props key 123" not in caplog.text


def test_threads_of_one_process_share_one_engine_entry(
        embedded_provider: EmbeddedProvider, engine: RedisServer | PostgresServer) -> None:
    location = _url(engine)
    properties = _client_properties(embedded_provider, location)
    tokens: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with cdata_oauth.connect(**properties) as conn:
                tokens.append(conn.tokens.access_token())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and len(set(tokens)) == 1 and len(tokens) == 8


def test_rediss_verifies_the_server_against_the_given_ca(test_pki: Any) -> None:
    server = start_redis(ca=test_pki.ca)
    try:
        trusted = server.url(scheme="rediss", key="tls", ca=str(test_pki.ca_pem))
        open_store(trusted).save(Token("at_over_tls"))
        assert open_store(trusted).load() == Token("at_over_tls")
        with pytest.raises(cdata_oauth.OperationalError) as raised:  # system CAs only
            open_store(server.url(scheme="rediss", key="tls2")).load()
        assert f"rediss://127.0.0.1:{server.port}/0" in str(raised.value)
        assert server.password not in str(raised.value)
    finally:
        finish_redis(server)
