"""Connection properties: the connection-string reader, keywords, validation, masking."""

from __future__ import annotations

import decimal
import enum
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import cdata_oauth
from cdata_oauth.config.options import parse_other_options
from cdata_oauth.config.properties import REGISTRY, ConnectionProperties, parse_connection_string
from cdata_oauth.provider import EmbeddedProvider

# (connection string, {property: value expected after connect})
GOOD: list[tuple[str, dict[str, Any]]] = [
    ("OAuthClientId=abc;OAuthClientSecret='p;w=d';CallbackURL=http://127.0.0.1:33333;",
     {"OAuthClientId": "abc", "OAuthClientSecret": "p;w=d",
      "CallbackURL": "http://127.0.0.1:33333"}),
    ('OAuthClientSecret="p;w=d"', {"OAuthClientSecret": "p;w=d"}),
    ("OAuthClientSecret='it''s'", {"OAuthClientSecret": "it's"}),
    ('OAuthClientSecret="say ""hi"""', {"OAuthClientSecret": 'say "hi"'}),
    ('OAuthClientSecret="it\'s"', {"OAuthClientSecret": "it's"}),
    ("OAuthClientSecret='say \"hi\"'", {"OAuthClientSecret": 'say "hi"'}),
    ("OAuthClientSecret=''''", {"OAuthClientSecret": "'"}),
    ("OAuthClientSecret=''", {"OAuthClientSecret": ""}),
    ("  OAuthClientId  =  abc  ;  Scope =  read write  ", {"OAuthClientId": "abc",
                                                           "Scope": "read write"}),
    ("OAuthClientId = 'a b ' ; Scope=x", {"OAuthClientId": "a b ", "Scope": "x"}),
    ("OAuthClientId=abc", {"OAuthClientId": "abc"}),
    ("OAuthClientId=abc;;;Scope=s;;", {"OAuthClientId": "abc", "Scope": "s"}),
    ("oauthclientid=abc;SCOPE=s;timeout=5", {"OAuthClientId": "abc", "Scope": "s",
                                             "Timeout": 5}),
    ("CallbackURL=http://127.0.0.1:1/cb?a=1&b=2", {"CallbackURL": "http://127.0.0.1:1/cb?a=1&b=2"}),
    ("Scope=", {"Scope": ""}),
    ("Timeout= 30 ", {"Timeout": 30}),
    ("authmode=web;oauthversion=2.0;granttype=client",
     {"AuthMode": "WEB", "OAuthVersion": "2.0", "GrantType": "CLIENT"}),
    ("SignMethod=hmac-sha256;Proxy_Auto=true", {"SignMethod": "HMAC-SHA256", "Proxy_Auto": True}),
    ("OAuthParam:prompt=consent;oauthparam:access_type=offline",
     {"OAuthParam:prompt": "consent", "OAuthParam:access_type": "offline"}),
    ("", {}),
    (";", {}),
]


@pytest.mark.parametrize(("text", "expected"), GOOD)
def test_connection_string_forms(text: str, expected: dict[str, Any]) -> None:
    conn = cdata_oauth.connect(text)
    assert {name: conn.properties[name] for name in conn.properties} == expected
    for name, value in expected.items():
        assert conn.properties[name.upper()] == value
        assert conn.properties.explicit(name.lower())


def test_keywords_and_string_together_keywords_win() -> None:
    conn = cdata_oauth.connect("Timeout=10;OAuthClientId=abc", timeout=30, Scope="s")
    assert conn.properties["Timeout"] == 30
    assert conn.properties["OAuthClientId"] == "abc"
    assert conn.properties["Scope"] == "s"
    assert cdata_oauth.connect(OAuthClientId="x", Timeout="15").properties["Timeout"] == 15


def test_defaults_are_not_explicit() -> None:
    props = cdata_oauth.connect().properties
    assert props["Timeout"] == 60
    assert props["OAuthVersion"] == "1.0"
    assert not props.explicit("Timeout")
    assert list(props) == []


def test_registry_has_every_spec_input() -> None:
    names = ["OAuthVersion", "AuthMode", "OAuthRequestTokenURL", "OAuthAuthorizationURL",
             "OAuthAccessTokenURL", "CallbackURL", "OAuthClientId", "OAuthClientSecret",
             "OAuthAccessToken", "OAuthAccessTokenSecret", "OAuthRefreshToken", "GrantType",
             "Verifier", "SignMethod", "Cert", "CertPassword", "OtherOptions", "PostData",
             "Timeout", "LogFile", "Proxy_Auto", "Proxy_Server", "Proxy_Port", "Proxy_User",
             "Proxy_Password", "Proxy_AuthScheme", "Proxy_SSLType", "Firewall_Type",
             "Firewall_Server", "Firewall_Port", "Firewall_User", "Firewall_Password",
             "Scope", "Location"]
    for name in names:
        spec = REGISTRY[name.lower()]
        assert spec.name == name
        assert spec.description
        if spec.kind == "enum":
            assert spec.default in spec.allowed
    for secret in ("OAuthClientSecret", "OAuthAccessToken", "OAuthRefreshToken", "Verifier",
                   "CertPassword", "Proxy_Password", "Firewall_Password", "PostData"):
        assert REGISTRY[secret.lower()].secret, secret
    for public in ("OAuthClientId", "OAuthAccessTokenURL", "CallbackURL", "Timeout"):
        assert not REGISTRY[public.lower()].secret, public


# (connection string or keywords, words the ProgrammingError must hold)
BAD: list[tuple[Any, tuple[str, ...]]] = [
    ("OAuthClientIdd=abc", ("Unknown connection property 'OAuthClientIdd'",
                            "Did you mean OAuthClientId")),
    ("Timout=5", ("'Timout'", "Did you mean Timeout")),
    ({"OAuthClientSecert": "x"}, ("Did you mean OAuthClientSecret",)),
    ("Zzyzx=1", ("Unknown connection property 'Zzyzx'", "spelling")),
    ("OAuthVersion=3.0", ("OAuthVersion", "'3.0'", "one of 1.0, 2.0")),
    ("AuthMode=browser", ("AuthMode", "one of APP, WEB")),
    ("GrantType=implicit", ("GrantType", "CODE, PASSWORD, CLIENT, REFRESH")),
    ("Timeout=abc", ("Timeout", "'abc'", "whole number")),
    ("Timeout=1.5", ("Timeout", "whole number")),
    ({"Timeout": True}, ("Timeout", "whole number")),
    ({"Timeout": "ten"}, ("Timeout", "whole number")),
    ("Proxy_Port=eighty", ("Proxy_Port", "whole number")),
    ("Proxy_Auto=maybe", ("Proxy_Auto", "TRUE/FALSE, YES/NO, ON/OFF or 1/0")),
    ("OAuthClientSecret='abc", ("OAuthClientSecret", "quote", "never closed")),
    ('OAuthClientId="abc;Scope=x', ("OAuthClientId", "never closed")),
    ("OAuthClientId", ("'OAuthClientId' has no '='", "Name=Value")),
    ("OAuthClientId=abc;Scope", ("'Scope' has no '='",)),
    ("OAuthClientId;Scope=x", ("'OAuthClientId' has no '='",)),
    ("=abc", ("no property name", "Name=Value")),
    ("Scope='a' b;", ("unexpected text after the quoted value of Scope",)),
    ("Scope=a;scope=b", ("Scope is given twice", "once")),
]


@pytest.mark.parametrize(("source", "words"), BAD, ids=[str(b[0])[:30] for b in BAD])
def test_bad_properties_fail_at_connect(source: Any, words: tuple[str, ...]) -> None:
    with pytest.raises(cdata_oauth.ProgrammingError) as info:
        if isinstance(source, dict):
            cdata_oauth.connect(**source)
        else:
            cdata_oauth.connect(source)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("value", [["read", "write"], ("read",), {"read"}, {"a": 1}, object()],
                         ids=lambda v: type(v).__name__)
def test_a_property_of_an_unsupported_type_is_refused_never_stringified(value: Any) -> None:
    """A list would reach the provider as its repr (scope=['read', 'write']); as for
    parameters, only scalars are taken, and a secret's value is still not shown."""
    for name in ("Scope", "OAuthClientSecret", "Timeout"):
        with pytest.raises(cdata_oauth.ProgrammingError) as info:
            cdata_oauth.connect(**{name: value})
        assert f"Connection property {name} is of type '{type(value).__name__}'" in str(info.value)
        assert "str, int, float, bool" in str(info.value)


class _Version(str, enum.Enum):
    TWO = "2.0"


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("OAuthClientSecret", b"s3cret", "s3cret"), ("Scope", bytearray(b"read"), "read"),
    ("OAuthVersion", _Version.TWO, "2.0"), ("Timeout", decimal.Decimal(30), 30),
    ("Scope", decimal.Decimal("1.5"), "1.5")])
def test_a_scalar_property_is_taken_as_its_plain_value(name: str, value: Any,
                                                       expected: Any) -> None:
    assert cdata_oauth.connect(**{name: value}).properties[name] == expected


def test_a_property_of_bytes_that_are_not_utf8_is_a_data_error() -> None:
    with pytest.raises(cdata_oauth.DataError, match="OAuthClientSecret is bytes that are not"):
        cdata_oauth.connect(OAuthClientSecret=b"\xff\xfe")


def test_connect_rejects_a_non_string() -> None:
    with pytest.raises(cdata_oauth.ProgrammingError, match="connection string"):
        cdata_oauth.connect(123)  # type: ignore[arg-type]


def test_secret_values_never_in_errors_or_repr() -> None:
    with pytest.raises(cdata_oauth.ProgrammingError) as info:
        cdata_oauth.connect("OAuthClientSecret='hunter2-secret")
    assert "hunter2" not in str(info.value)
    conn = cdata_oauth.connect(
        "OAuthClientId=public-id;OAuthClientSecret='hunter2;secret';Proxy_Password=pp-secret",
        OAuthRefreshToken="refresh-secret", Password="pw-secret")
    for text in (repr(conn.properties), repr(conn), str(conn.properties)):
        for secret in ("hunter2", "pp-secret", "refresh-secret", "pw-secret"):
            assert secret not in text
        assert "public-id" in text
        assert "OAuthClientSecret=********" in text
    assert sorted(conn.properties.secrets()) == sorted(
        ["hunter2;secret", "pp-secret", "refresh-secret", "pw-secret"])


def test_parse_connection_string_keeps_raw_pairs() -> None:
    assert parse_connection_string("a=1; b = 'x;y' ;c=\"q\"\"\"") == [
        ("a", "1"), ("b", "x;y"), ("c", 'q"')]


def test_replace_returns_a_new_validated_set() -> None:
    props = ConnectionProperties({"Timeout": "5", "Scope": "a"})
    changed = props.replace(timeout=7, Scope=None)
    assert changed["Timeout"] == 7 and "Scope" not in changed
    assert props["Timeout"] == 5 and props["Scope"] == "a"
    with pytest.raises(cdata_oauth.ProgrammingError, match="whole number"):
        props.replace(Timeout="x")


# -- quoted values keep their blanks ----------------------------------------------------------

@pytest.mark.parametrize("quote", ["'", '"'])
def test_a_quoted_value_keeps_its_blanks_and_an_unquoted_one_loses_them(quote: str) -> None:
    text = f"OAuthClientId = {quote}  padded id  {quote} ; Scope =   read write   "
    assert parse_connection_string(text) == [("OAuthClientId", "  padded id  "),
                                             ("Scope", "read write")]
    properties = cdata_oauth.connect(text).properties
    assert properties["OAuthClientId"] == "  padded id  "
    assert len(properties["OAuthClientId"]) == 13
    assert properties["Scope"] == "read write"


@pytest.mark.parametrize("quote", ["'", '"'])
def test_a_quoted_client_id_reaches_the_provider_with_its_blanks(
        quote: str, fresh_provider: EmbeddedProvider) -> None:
    """The provider knows only the padded id: a stripped one would be an unknown client."""
    fresh_provider.register_client("  padded id  ", "padded-secret", "client_secret_post")
    text = (f"OAuthVersion=2.0;GrantType=CLIENT;OAuthAccessTokenURL={fresh_provider.token_url};"
            f"OAuthClientId={quote}  padded id  {quote};OAuthClientSecret=padded-secret;"
            "OtherOptions='ClientAuth=POST'")
    with cdata_oauth.connect(text) as conn:
        assert conn.execute("EXEC GetOAuthAccessToken").fetchone()
    [sent] = fresh_provider.token_requests
    assert sent.form["client_id"] == "  padded id  "
    assert sent.status == 200


def test_a_quoted_client_id_keeps_its_blanks_in_the_authorization_url() -> None:
    conn = cdata_oauth.connect(
        "OAuthVersion=2.0;AuthMode=WEB;OAuthClientId='  padded id  ';"
        "OAuthAuthorizationURL=https://provider.example/authorize;"
        "CallbackURL=https://app.example/callback")
    url = conn.execute("EXEC GetOAuthAuthorizationURL").fetchone()[0]
    assert parse_qs(urlsplit(url).query)["client_id"] == ["  padded id  "]


# -- truth words ------------------------------------------------------------------------------

TRUTH_WORDS = [("TRUE", True), ("true", True), ("Yes", True), ("on", True), ("ON", True),
               ("1", True), ("FALSE", False), ("false", False), ("no", False), ("Off", False),
               ("0", False), (" on ", True)]


@pytest.mark.parametrize(("word", "expected"), TRUTH_WORDS)
def test_flag_properties_and_options_take_the_same_truth_words(word: str,
                                                              expected: bool) -> None:
    assert cdata_oauth.connect(f"Proxy_Auto={word}").properties["Proxy_Auto"] is expected
    options = parse_other_options(f"AllowInsecureHTTP={word};SendOAuthVersion={word}")
    assert options["AllowInsecureHTTP"] is expected
    assert options["SendOAuthVersion"] is expected


@pytest.mark.parametrize("word", ["maybe", "T", "y", "2", "enabled", ""])
def test_other_words_are_refused_with_the_list_of_truth_words(word: str) -> None:
    for attempt in (lambda: cdata_oauth.connect(Proxy_Auto=word),
                    lambda: parse_other_options(f"AllowInsecureHTTP='{word}'")):
        with pytest.raises(cdata_oauth.ProgrammingError) as info:
            attempt()
        assert "TRUE/FALSE, YES/NO, ON/OFF or 1/0" in str(info.value)
