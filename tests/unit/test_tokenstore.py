"""The token store: JSON file written atomically with mode 0600, memory:// sharing, clear
errors for files that cannot be parsed, and crash safety (a writer killed mid-write)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cdata_oauth
from cdata_oauth.tokens.stores import (
    FileTokenStore,
    LocalTokenStore,
    MemoryTokenStore,
    Token,
    default_location,
    now_ms,
    open_store,
)

ROOT = Path(__file__).resolve().parents[2]


def _token(access: str = "at_one", refresh: str | None = "rt_one", expires_in: int = 3600,
           age: float = 0.0) -> Token:
    return Token(access, refresh, None, expires_in, now_ms() - int(age * 1000))


# --- the file ---------------------------------------------------------------------------

def test_file_round_trip_holds_token_refresh_expiry_and_timestamp(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    assert store.load() is None
    token = _token()
    store.save(token)
    assert store.load() == token
    data = json.loads(path.read_text())
    assert data["OAuthAccessToken"] == "at_one"
    assert data["OAuthRefreshToken"] == "rt_one"
    assert data["OAuthExpiresIn"] == 3600
    assert data["OAuthTokenTimestamp"] == token.timestamp
    assert store.location == str(path)


def test_file_and_new_folder_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "tokens.json"
    FileTokenStore(path).save(_token())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_saving_over_a_readable_file_makes_it_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    store.save(_token("at_old"))
    os.chmod(path, 0o644)
    store.save(_token("at_new"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = store.load()
    assert loaded is not None and loaded.access_token == "at_new"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("content, reason", [
    (b"{not json", "not JSON"),
    (b"\xff\xfe\x00garbage", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"format": "something-else/9"}', "format"),
    (b'{"format": "cdata_oauth.tokens/1", "OAuthAccessToken": 42}', "OAuthAccessToken"),
    (b'{"format": "cdata_oauth.tokens/1", "OAuthExpiresIn": "soon"}', "OAuthExpiresIn"),
])
def test_a_file_that_cannot_be_parsed_is_an_error_naming_it(tmp_path: Path, content: bytes,
                                                             reason: str) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(content)
    with pytest.raises(cdata_oauth.OperationalError) as caught:
        FileTokenStore(path).load()
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)
    assert path.read_bytes() == content


def test_a_corrupt_file_stops_the_connection_and_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(b'{"OAuthAccessToken": "at_half')
    with pytest.raises(cdata_oauth.OperationalError, match="cannot be parsed") as caught:
        cdata_oauth.connect(OAuthVersion="2.0", InitiateOAuth="REFRESH",
                            OAuthRefreshToken="rt_given", OAuthSettingsLocation=str(path),
                            OAuthAccessTokenURL="http://127.0.0.1:9/token")
    assert str(path) in str(caught.value)
    assert "rt_given" not in str(caught.value)
    assert path.read_bytes() == b'{"OAuthAccessToken": "at_half'


def test_an_empty_file_is_an_empty_store(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.touch()
    store = FileTokenStore(path)
    assert store.load() is None
    store.save(_token())
    assert store.load() is not None


def test_a_folder_is_not_a_settings_location(tmp_path: Path) -> None:
    with pytest.raises(cdata_oauth.ProgrammingError, match="is a folder"):
        open_store(str(tmp_path))


# --- memory:// --------------------------------------------------------------------------

def test_memory_stores_share_by_id_only() -> None:
    first = open_store("memory://tokenstore-share")
    second = open_store("memory://tokenstore-share")
    other = open_store("memory://tokenstore-other")
    assert isinstance(first, MemoryTokenStore)
    first.save(_token("at_shared"))
    loaded = second.load()
    assert loaded is not None and loaded.access_token == "at_shared"
    assert other.load() is None
    assert first.location == "memory://tokenstore-share"


def test_memory_without_an_id_is_refused() -> None:
    with pytest.raises(cdata_oauth.ProgrammingError, match="needs an id"):
        open_store("memory://")


# --- timing -----------------------------------------------------------------------------

def test_due_within_the_leeway_and_after_expiry() -> None:
    now = time.time()
    issued = int((now - 3600 + 30) * 1000)  # 30 s left
    assert Token("at", None, None, 3600, issued).is_due(leeway=60, now=now)
    assert not Token("at", None, None, 3600, issued).is_due(leeway=10, now=now)
    assert Token("at", None, None, 3600, int((now - 4000) * 1000)).is_due(leeway=0, now=now)
    assert not Token("at", None, None, 3600, int(now * 1000)).is_due(leeway=60, now=now)


def test_leeway_is_capped_at_half_a_short_lifetime() -> None:
    now = time.time()
    fresh = Token("at", None, None, 20, int(now * 1000))  # 20 s token, 60 s leeway
    assert not fresh.is_due(leeway=60, now=now)
    assert fresh.is_due(leeway=60, now=now + 11)


def test_unknown_lifetime_is_not_due_but_no_token_is() -> None:
    assert not Token("at", "rt").is_due(leeway=60)
    assert Token(None, "rt").is_due(leeway=60)


def test_token_repr_masks_secrets() -> None:
    text = repr(_token("at_secret_value", "rt_secret_value"))
    assert "at_secret_value" not in text and "rt_secret_value" not in text


# --- default location -------------------------------------------------------------------

def test_default_location_is_per_app_under_the_config_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.platform in ("win32", "darwin"):
        pytest.skip("the XDG layout is Linux's")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    one = default_location("client-a", "https://idp.example/token")
    two = default_location("client-b", "https://idp.example/token")
    assert Path(one).parent == tmp_path / "cdata_oauth"
    assert one != two
    assert one == default_location("client-a", "https://idp.example/token")


def test_default_location_is_used_when_none_is_given(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.platform in ("win32", "darwin"):
        pytest.skip("the XDG layout is Linux's")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    expected = default_location("client-x", "http://127.0.0.1:9/token")
    token = Token("at_default", None, None, 3600, now_ms())
    FileTokenStore(expected).save(token)
    conn = cdata_oauth.connect(OAuthVersion="2.0", InitiateOAuth="REFRESH",
                               OAuthClientId="client-x",
                               OAuthAccessTokenURL="http://127.0.0.1:9/token")
    assert conn.tokens.location == expected
    assert conn.tokens.current() == token
    conn.close()


# --- crash safety -----------------------------------------------------------------------

_CHILD = """
import pathlib, sys, time
from cdata_oauth.tokens import stores as tokenstore
stage, path, ready = sys.argv[1:4]
def pause(at):
    if at == stage:
        pathlib.Path(ready).write_text(at)
        time.sleep(600)
tokenstore._crash_hook = pause
new = tokenstore.Token("at_new_" + "x" * 400, "rt_new", None, 3600, tokenstore.now_ms())
tokenstore.FileTokenStore(path).save(new)
"""


@pytest.mark.parametrize("stage", ["partial", "synced"])
def test_a_writer_killed_mid_write_leaves_the_previous_file_intact(tmp_path: Path,
                                                                   stage: str) -> None:
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    previous = _token("at_previous", "rt_previous")
    store.save(previous)
    before = path.read_bytes()
    ready = tmp_path / "ready"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, stage, str(path), str(ready)],
                             cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert child.poll() is None, "the writer exited before the pause"
            assert time.monotonic() < deadline, "the writer never reached the pause"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(temps) == 1, "the kill should land while the temporary file exists"
    assert b"at_new_" in temps[0].read_bytes()  # the new token was being written...
    assert path.read_bytes() == before  # ...but the file still holds the previous one
    assert store.load() == previous
    store.save(_token("at_after"))  # and the store stays usable
    assert store.load().access_token == "at_after"  # type: ignore[union-attr]


def test_a_location_with_an_unknown_scheme_is_refused_listing_the_known_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``vault://user:pw@host/0`` is not a relative file path (which would create a folder
    named ``vault:``); without a store for it, it fails and never shows the password."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(cdata_oauth.ProgrammingError, match="memory://") as raised:
        open_store("vault://user:TopSecret9@127.0.0.1:6379/0")
    assert "vault://" in str(raised.value) and "redis://" in str(raised.value)
    assert "TopSecret9" not in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_scope_and_token_type_are_kept_and_old_records_still_load(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t.json")
    store.save(Token("at", "rt", None, 3600, 1_000, "read write", "Bearer"))
    loaded = store.load()
    assert loaded is not None
    assert (loaded.scope, loaded.token_type) == ("read write", "Bearer")
    record = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    del record["Scope"], record["TokenType"]  # as the first format version wrote it
    (tmp_path / "t.json").write_text(json.dumps(record), encoding="utf-8")
    assert store.load() == Token("at", "rt", None, 3600, 1_000)


def test_delete_removes_the_entry_of_each_store(tmp_path: Path) -> None:
    for store in (FileTokenStore(tmp_path / "t.json"), MemoryTokenStore("delete-test"),
                  LocalTokenStore()):
        assert store.delete() is False
        store.save(Token("at"))
        assert store.delete() is True
        assert store.load() is None
    assert not (tmp_path / "t.json").exists()
