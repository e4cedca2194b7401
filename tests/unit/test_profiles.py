"""The ``Profile`` property: a table of a TOML profiles file gives connection properties to
connect(), connection strings and SQLAlchemy URLs alike; explicit properties win; a bad,
loose or misspelt profile is a ProgrammingError naming the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import cdata_oauth
from cdata_oauth.config.profiles import PROFILES_VARIABLE, load_profile, profiles_path
from cdata_oauth.config.properties import ConnectionProperties
from cdata_oauth.exceptions import ProgrammingError

PROFILES = """\
[work]
OAuthVersion = "2.0"
OAuthClientId = "work-app"
OAuthClientSecret = "work-secret-xyz"
OAuthAccessTokenURL = "http://127.0.0.1:9/token"
Timeout = 30
Proxy_Auto = true

[public]
OAuthClientId = "public-app"
"""


@pytest.fixture
def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "profiles.toml"
    path.write_text(PROFILES, encoding="utf-8")
    path.chmod(0o600)
    monkeypatch.setenv(PROFILES_VARIABLE, str(path))
    return path


def test_profile_gives_its_properties_typed(profiles: Path) -> None:
    properties = ConnectionProperties.from_sources("Profile=work")
    assert properties["OAuthClientId"] == "work-app"
    assert properties["Timeout"] == 30 and properties["Proxy_Auto"] is True
    assert properties.explicit("OAuthAccessTokenURL")
    assert "work-secret-xyz" not in repr(properties)


def test_profile_names_are_case_insensitive(profiles: Path) -> None:
    assert load_profile("WORK")["oauthclientid"] == "work-app"


def test_explicit_properties_win_over_the_profile(profiles: Path) -> None:
    from_string = ConnectionProperties.from_sources("Profile=work;OAuthClientId=mine")
    assert from_string["OAuthClientId"] == "mine"
    from_keywords = ConnectionProperties.from_sources("Profile=work", Timeout=5)
    assert from_keywords["Timeout"] == 5
    assert from_keywords["OAuthClientSecret"] == "work-secret-xyz"


def test_connect_takes_a_profile(profiles: Path) -> None:
    with cdata_oauth.connect(Profile="work") as connection:
        assert connection.properties["OAuthClientId"] == "work-app"
    with cdata_oauth.connect("Profile=public;OAuthVersion=2.0") as connection:
        assert connection.properties["OAuthClientId"] == "public-app"


def test_sqlalchemy_url_takes_a_profile(profiles: Path) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine("cdata_oauth:///?Profile=work")
    raw = engine.raw_connection()
    try:
        assert raw.driver_connection.properties["OAuthClientId"] == "work-app"
    finally:
        raw.close()
        engine.dispose()


def test_default_file_is_in_the_config_folder(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.delenv(PROFILES_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert profiles_path() == tmp_path / "cdata_oauth" / "profiles.toml"
    with pytest.raises(ProgrammingError, match="does not exist"):
        ConnectionProperties.from_sources(Profile="work")


def test_unknown_profile_names_the_nearest(profiles: Path) -> None:
    with pytest.raises(ProgrammingError) as caught:
        ConnectionProperties.from_sources(Profile="wrok")
    message = str(caught.value)
    assert "Did you mean work?" in message and str(profiles) in message
    assert "public" in message  # the known profiles


def test_unknown_property_names_the_nearest_and_the_profile(profiles: Path) -> None:
    profiles.write_text('[work]\nOAuthClientSecrt = "s3cret-abc"\n', encoding="utf-8")
    with pytest.raises(ProgrammingError) as caught:
        ConnectionProperties.from_sources(Profile="work")
    message = str(caught.value)
    assert "OAuthClientSecrt" in message and "OAuthClientSecret" in message
    assert "[work]" in message and "s3cret-abc" not in message


def test_bad_toml_names_the_file_and_the_line(profiles: Path) -> None:
    profiles.write_text('[work]\nOAuthClientId = "app"\nScope = read\n', encoding="utf-8")
    with pytest.raises(ProgrammingError, match=r"not valid TOML.*line 3") as caught:
        ConnectionProperties.from_sources(Profile="work")
    assert str(profiles) in str(caught.value)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_loose_file_with_a_secret_is_refused(profiles: Path) -> None:
    profiles.chmod(0o640)
    with pytest.raises(ProgrammingError, match=f"chmod 600 {profiles}") as caught:
        ConnectionProperties.from_sources(Profile="public")  # the file holds a secret
    assert "work-secret-xyz" not in str(caught.value)
    profiles.write_text(PROFILES.split("[public]")[1].join(["[public]", ""]),
                        encoding="utf-8")
    assert ConnectionProperties.from_sources(Profile="public")["OAuthClientId"] == "public-app"


def test_a_profile_may_not_name_a_profile_or_hold_tables(profiles: Path) -> None:
    profiles.write_text('[a]\nProfile = "b"\n[b]\nOAuthClientId = "x"\n', encoding="utf-8")
    with pytest.raises(ProgrammingError, match="cannot name another profile"):
        ConnectionProperties.from_sources(Profile="a")
    profiles.write_text('[a]\nScope = ["read", "write"]\n', encoding="utf-8")
    with pytest.raises(ProgrammingError, match=r"Scope .* is a list"):
        ConnectionProperties.from_sources(Profile="a")


def test_a_bad_value_in_a_profile_is_a_programming_error(profiles: Path) -> None:
    profiles.write_text('[a]\nTimeout = "soon"\n', encoding="utf-8")
    with pytest.raises(ProgrammingError, match="Timeout"):
        ConnectionProperties.from_sources(Profile="a")
