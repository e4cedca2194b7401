"""Property-based tests of what users hand the connector besides SQL: connection strings,
property values and API Script files. Failures are PEP 249 exceptions that say what is wrong."""

from __future__ import annotations

import decimal
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cdata_oauth
from cdata_oauth.catalog.reader import read_script
from cdata_oauth.config.properties import REGISTRY, parse_connection_string
from cdata_oauth.sql import parse as sql

EXAMPLES = int(os.environ.get("CDATA_OAUTH_FUZZ_EXAMPLES", "600"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

NAMES = st.sampled_from(sorted(spec.name for spec in REGISTRY.values()))
PIECES = st.sampled_from(["=", ";", "'", '"', "''", '""', " ", "\t", "OAuthClientId",
                          "Timeout", "x", "OAuthParam:", "\x00", "é"])
JUNK = st.lists(st.one_of(st.text(max_size=6), PIECES), max_size=10).map("".join)


def _connect(*args: Any, **kwargs: Any) -> None:
    try:
        cdata_oauth.connect(*args, **kwargs).close()
    except cdata_oauth.Error as exc:
        assert str(exc).strip()


@FUZZ
@given(text=st.one_of(st.text(max_size=60), JUNK))
def test_any_connection_string_connects_or_raises_pep249(text: str) -> None:
    _connect(text)


@FUZZ
@given(value=st.text(max_size=30))
def test_quoted_values_round_trip(value: str) -> None:
    for quote in ("'", '"'):
        text = f"OAuthClientId={quote}{value.replace(quote, quote * 2)}{quote};Scope=a"
        assert parse_connection_string(text) == [("OAuthClientId", value), ("Scope", "a")]


@FUZZ
@given(name=NAMES, value=st.one_of(st.text(max_size=12), st.integers(), st.booleans(),
                                   st.floats(allow_nan=True), st.none(), st.binary(max_size=4),
                                   st.lists(st.integers(), max_size=2)))
def test_any_keyword_value_connects_or_raises_pep249(name: str, value: Any) -> None:
    _connect(**{name: value})


@FUZZ
@given(name=st.text(min_size=1, max_size=20))
def test_unknown_property_names_are_named_in_the_error(name: str) -> None:
    if name.strip().lower() in REGISTRY or name.strip().lower().startswith("oauthparam:"):
        return
    with pytest.raises(cdata_oauth.ProgrammingError) as caught:
        cdata_oauth.connect(f"{name}=1")
    assert "propert" in str(caught.value).lower() or "connection string" in str(caught.value)


SCALARS = (str, int, float, bool, decimal.Decimal, type(None))
PARAMETERS = st.one_of(
    st.text(max_size=8), st.integers(), st.floats(allow_nan=True), st.booleans(), st.none(),
    st.decimals(), st.binary(max_size=6), st.lists(st.integers(), max_size=2),
    st.tuples(st.text(max_size=2)), st.dictionaries(st.text(max_size=2), st.integers(),
                                                    max_size=1),
    st.sets(st.integers(), max_size=2), st.builds(object))


@FUZZ
@given(value=PARAMETERS)
def test_any_parameter_binds_as_a_scalar_or_is_refused_naming_it(value: Any) -> None:
    """Never a list or dict turned into text: the bound value is a scalar, or the error
    names the parameter (bytes that are not UTF-8 are refused too)."""
    for text, params, name, label in (("EXEC P A=?, B=?", (value, "x"), "A", "parameter 1"),
                                      ("EXEC P A='x', B=@b", {"b": value}, "B", "@b")):
        template = sql.parse(text)
        assert isinstance(template, sql.CallTemplate)
        try:
            call = sql.bind_call(template, params)
        except (cdata_oauth.ProgrammingError, cdata_oauth.DataError) as exc:
            assert str(exc).startswith(f"Error binding {label}: ")
            assert isinstance(value, bytes) or not isinstance(value, SCALARS)
        else:
            assert type(dict(call.args)[name]) in SCALARS
            assert isinstance(value, (bytes, *SCALARS))


SCRIPT_PARTS = st.sampled_from([
    '<api:script xmlns:api="http://apiscript.com/ns?v1">', "</api:script>",
    '<api:info title="T">', "</api:info>", '<input name="A"/>', '<output name="B"/>',
    '<api:set attr="X" value="1"/>', '<api:call op="o">', "</api:call>", "<api:push/>",
    '<!DOCTYPE x [<!ENTITY a "aaaa">]>', "&a;", '<!ENTITY e SYSTEM "file:///etc/passwd">',
    "<api:if>", "<", ">", '"', "xs:type='int'", '<input name=""/>', "\x00",
])
SCRIPT_TEXT = st.lists(st.one_of(SCRIPT_PARTS, st.text(max_size=5)), max_size=14).map("".join)


@FUZZ
@given(text=SCRIPT_TEXT)
def test_any_script_text_reads_or_raises_an_error_naming_the_file(text: str) -> None:
    try:
        read_script(text.encode("utf-8", "surrogatepass"), "fuzz.rsb", "Fuzz")
    except cdata_oauth.Error as exc:
        assert str(exc).startswith("fuzz.rsb"), str(exc)


def test_entity_expansion_is_refused() -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            '<api:script xmlns:api="http://apiscript.com/ns?v1"><api:info title="&lol2;"/>'
            '<api:call op="x"><api:push/></api:call></api:script>')
    with pytest.raises(cdata_oauth.ProgrammingError, match="DTD or entities"):
        read_script(bomb, "bomb.rsb")


def test_external_entities_are_refused(tmp_path: Any) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do-not-read")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file://{secret}">]>'
           '<api:script xmlns:api="http://apiscript.com/ns?v1"><api:info title="&x;"/>'
           '<api:call op="x"><api:push/></api:call></api:script>')
    with pytest.raises(cdata_oauth.ProgrammingError) as caught:
        read_script(xxe, "xxe.rsb")
    assert "do-not-read" not in str(caught.value)
