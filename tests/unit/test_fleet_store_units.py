"""Fleet stores without servers: encryption at rest (file store), the entry-point store
registry, URL checks, a missing driver, masking of the location's password."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import cdata_oauth
from cdata_oauth.config.properties import ConnectionProperties
from cdata_oauth.tokens import engines, stores
from cdata_oauth.tokens.encryption import EntryCipher
from cdata_oauth.tokens.stores import (
    ENTRY_POINT_GROUP,
    STORE_SCHEMES,
    StoreOptions,
    Token,
    open_store,
    rekey,
)

KEY = StoreOptions(encryption_key="correct horse battery staple")


def test_an_encrypted_file_holds_no_token_in_clear_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    open_store(str(path), KEY).save(Token("at_very_secret", "rt_very_secret", None, 3600, 1))
    text = path.read_text()
    assert "at_very_secret" not in text and "rt_very_secret" not in text
    assert json.loads(text)["format"] == "cdata_oauth.tokens.sealed/1"
    assert open_store(str(path), KEY).load() == Token("at_very_secret", "rt_very_secret",
                                                      None, 3600, 1)


def test_every_write_draws_a_fresh_salt_and_nonce(tmp_path: Path) -> None:
    cipher = EntryCipher(b"pass")
    first, second = (json.loads(cipher.seal(b"same")) for _ in range(2))
    assert first["kdf"]["salt"] != second["kdf"]["salt"]
    assert first["nonce"] != second["nonce"]
    assert cipher.open(first, "here") == cipher.open(second, "here") == b"same"


def test_an_altered_entry_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    open_store(str(path), KEY).save(Token("at_x"))
    envelope = json.loads(path.read_text())
    body = bytearray(envelope["ciphertext"].encode())
    body[5] = ord("A") if body[5] != ord("A") else ord("B")
    envelope["ciphertext"] = body.decode()
    path.write_text(json.dumps(envelope))
    before = path.read_bytes()
    with pytest.raises(cdata_oauth.OperationalError, match="Cannot decrypt"):
        open_store(str(path), KEY).load()
    assert path.read_bytes() == before


@pytest.mark.parametrize("written, read, message", [
    (KEY, StoreOptions(encryption_key="other"), "Cannot decrypt"),
    (KEY, StoreOptions(), "is encrypted, and OAuthSettingsEncryptionKey is not set"),
    (StoreOptions(), KEY, "stored in clear"),
])
def test_fail_closed_both_ways_with_the_file_left_untouched(
        tmp_path: Path, written: StoreOptions, read: StoreOptions, message: str) -> None:
    path = tmp_path / "tokens.json"
    open_store(str(path), written).save(Token("at_y"))
    before = path.read_bytes()
    with pytest.raises(cdata_oauth.OperationalError, match=message) as raised:
        open_store(str(path), read).load()
    assert "correct horse" not in str(raised.value)
    assert path.read_bytes() == before


def test_the_key_may_come_from_the_environment_or_a_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tokens.json"
    monkeypatch.setenv("CDATA_FLEET_KEY", "k-from-env")
    (tmp_path / "key.txt").write_text("k-from-env\n")
    open_store(str(path), StoreOptions(encryption_key="env:CDATA_FLEET_KEY")).save(Token("at_z"))
    by_file = StoreOptions(encryption_key=f"file:{tmp_path / 'key.txt'}")
    assert open_store(str(path), by_file).load() == Token("at_z")
    monkeypatch.delenv("CDATA_FLEET_KEY")
    with pytest.raises(cdata_oauth.ProgrammingError, match="CDATA_FLEET_KEY"):
        open_store(str(path), StoreOptions(encryption_key="env:CDATA_FLEET_KEY"))


def test_rekey_encrypts_a_plain_file_and_rotates_its_key(tmp_path: Path) -> None:
    path = str(tmp_path / "tokens.json")
    open_store(path).save(Token("at_r"))
    rekey(path, None, "one")
    rekey(path, "one", "two")
    assert open_store(path, StoreOptions(encryption_key="two")).load() == Token("at_r")
    with pytest.raises(cdata_oauth.OperationalError, match="Cannot decrypt"):
        open_store(path, StoreOptions(encryption_key="one")).load()


def test_memory_stores_are_never_encrypted() -> None:
    store = open_store("memory://fleet-units", KEY)
    store.save(Token("at_m"))
    assert open_store("memory://fleet-units").load() == Token("at_m")


def test_the_connection_property_encrypts_the_store(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    open_store(str(path), StoreOptions(encryption_key="prop key")).save(
        Token("at_p", None, None, 3600, stores.now_ms()))
    with cdata_oauth.connect(OAuthSettingsLocation=str(path), InitiateOAuth="REFRESH",
                             OAuthSettingsEncryptionKey="prop key") as conn:
        assert conn.tokens.access_token() == "at_p"
        rows = dict(conn.execute("SELECT Name, Value FROM sys_connection_props").fetchall())
    assert rows["OAuthSettingsEncryptionKey"] == "********"
    assert "prop key" not in repr(conn)


class VaultStore:
    """A store a package could add through the entry point group."""

    entries: dict[str, Token] = {}

    def __init__(self, location: str, options: StoreOptions) -> None:
        self.name = location

    @property
    def location(self) -> str:
        return self.name

    def load(self) -> Token | None:
        return self.entries.get(self.name)

    def save(self, token: Token) -> None:
        self.entries[self.name] = token

    def lock(self) -> Any:
        return stores._shared_lock(self.name, self.name, None).hold()


def test_a_store_declared_as_an_entry_point_serves_its_scheme(
        monkeypatch: pytest.MonkeyPatch) -> None:
    point = metadata.EntryPoint("vault", f"{__name__}:VaultStore", ENTRY_POINT_GROUP)
    asked: list[str] = []

    def entry_points(group: str) -> list[metadata.EntryPoint]:
        asked.append(group)
        return [point]

    monkeypatch.setattr(stores, "entry_points", entry_points)
    monkeypatch.setattr(stores, "_plugins_read", False)
    try:
        store = open_store("vault://team/job")
        store.save(Token("at_vault"))
        assert isinstance(store, VaultStore)
        assert open_store("vault://team/job").load() == Token("at_vault")
        with pytest.raises(cdata_oauth.ProgrammingError, match="vault://"):
            open_store("nosuch://x")  # the message lists the plug-in's scheme too
        assert asked == [ENTRY_POINT_GROUP]  # read once
    finally:
        STORE_SCHEMES.pop("vault", None)


def test_a_broken_entry_point_is_a_programming_error(monkeypatch: pytest.MonkeyPatch) -> None:
    point = metadata.EntryPoint("brokenstore", "no_such_module_x:Store", ENTRY_POINT_GROUP)
    monkeypatch.setattr(stores, "entry_points", lambda group: [point])
    monkeypatch.setattr(stores, "_plugins_read", False)
    try:
        with pytest.raises(cdata_oauth.ProgrammingError, match="cannot be loaded"):
            open_store("brokenstore://x")
    finally:
        STORE_SCHEMES.pop("brokenstore", None)


@pytest.mark.parametrize("location, extra", [
    ("redis://:pw9secret@127.0.0.1:6379/0", "redis"),
    ("postgresql://u:pw9secret@127.0.0.1:5432/db", "postgres"),
])
def test_a_missing_driver_names_the_extra_to_install(
        monkeypatch: pytest.MonkeyPatch, location: str, extra: str) -> None:
    monkeypatch.setattr(engines, "optional_module", lambda name: None)
    with pytest.raises(cdata_oauth.ProgrammingError,
                       match=rf"pip install cdata_oauth\[{extra}\]") as raised:
        open_store(location)
    assert "pw9secret" not in str(raised.value)


@pytest.mark.parametrize("location, message", [
    ("redis://:pw9secret@127.0.0.1:notaport/0", "not a valid URL"),
    ("redis://:pw9secret@127.0.0.1:6379/zero", "not a number"),
    ("redis://:pw9secret@127.0.0.1:6379/0?colour=red", "unknown option 'colour'"),
    ("redis://:pw9secret@127.0.0.1:6379/0?key=a%20b", "not a valid entry name"),
    ("redis://:pw9secret@/0", "names no host"),
    ("postgresql://u:pw9secret@127.0.0.1:5432/", "names no database"),
    ("postgresql://u:pw9secret@127.0.0.1:5432/db?table=t;drop", "not a table name"),
])
def test_a_bad_engine_url_is_a_programming_error_with_the_password_masked(
        location: str, message: str) -> None:
    with pytest.raises(cdata_oauth.ProgrammingError, match=message) as raised:
        open_store(location)
    assert "pw9secret" not in str(raised.value)


def test_the_lease_is_timeout_plus_the_margin() -> None:
    assert StoreOptions(timeout=30).lease == 30 + stores.LEASE_MARGIN
    assert StoreOptions(timeout=0).lease == stores.LOCK_TIMEOUT + stores.LEASE_MARGIN


def test_a_location_password_is_masked_in_the_properties_repr_and_kept_secret() -> None:
    properties = ConnectionProperties({"OAuthSettingsLocation":
                                       "redis://ops:pw9secret@cache:6379/0"})
    assert "pw9secret" not in repr(properties)
    assert "redis://********@cache:6379/0" in repr(properties)
    assert "pw9secret" in properties.secrets()


def test_the_default_entry_name_separates_clients_scopes_and_users() -> None:
    names = {stores.default_entry_name("c", "u", "s", "alice"),
             stores.default_entry_name("c", "u", "s", "bob"),
             stores.default_entry_name("c", "u", "other", "alice"),
             stores.default_entry_name("d", "u", "s", "alice")}
    assert len(names) == 4
    assert stores.default_entry_name("c", "u", "s", "alice") \
        == stores.default_entry_name("c", "u", "s", "alice")
