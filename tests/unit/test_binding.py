"""Binding: precedence, required inputs, allowed values, xs:type conversion, wildcards."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

import cdata_oauth
from tests.core_support import Recorder, registered, script_xml, write_script

SCRIPTS = {
    # Scope: declared default, and a set line that outranks it
    "WithSet.rsb": script_xml(
        "WithSet", '<input name="Scope" default="from-default"/>', '<output name="Scope"/>',
        '<api:set attr="Scope" value="from-set"/>'),
    "NoSet.rsb": script_xml(
        "NoSet", '<input name="Scope" default="from-default"/>', '<output name="Scope"/>'),
    # GrantType is not an input here: the script fixes it
    "Fixed.rsb": script_xml(
        "Fixed", '<input name="Scope"/>', '<output name="GrantType"/>',
        '<api:set attr="GrantType" value="REFRESH"/><api:set attr="Custom">fixed</api:set>'),
    "Req.rsb": script_xml(
        "Req", '<input name="OAuthRefreshToken" required="true"/>'
               '<input name="Custom" required="true"/><input name="Optional"/>'),
    "Typed.rsb": script_xml(
        "Typed",
        """<input name="I" xs:type="int"/><input name="L" xs:type="long"/>
           <input name="D" xs:type="double"/><input name="F" xs:type="boolean"/>
           <input name="T" xs:type="datetime"/><input name="S"/>
           <input name="Mode" values="ONE,Two" default="one"/>
           <input name="AuthMode" values="APP,WEB"/>
           <input name="Pin" xs:type="int" secret="true"/>
           <input name="Choice" values="A,B" secret="true"/>
           <input name="Timeout" xs:type="int"/>
           <input name="OAuthParam:*"/>"""),
    # flags as the built-in scripts declare them (values="TRUE,FALSE"), and a typed one
    "Flags.rsb": script_xml(
        "Flags", '<input name="Proxy_Auto" values="TRUE,FALSE" default="FALSE"/>'
                 '<input name="Strict" xs:type="boolean" values="TRUE,FALSE"/>'
                 '<input name="OnlyOn" xs:type="boolean" values="TRUE"/>'),
}


@pytest.fixture
def location(tmp_path: Path, echo: Recorder) -> str:
    for name, text in SCRIPTS.items():
        write_script(tmp_path, name, text)
    return str(tmp_path)


def run(location: str, echo: Recorder, statement: str, params: Any = None,
        **properties: Any) -> Any:
    with cdata_oauth.connect(Location=location, **properties) as conn:
        conn.execute(statement, params)
    return echo.last.inputs


# -- precedence: EXEC > connection property > script set > declared default -------------------

@pytest.mark.parametrize(("statement", "properties", "expected"), [
    ("EXEC NoSet", {}, "from-default"),
    ("EXEC WithSet", {}, "from-set"),
    ("EXEC NoSet", {"Scope": "from-property"}, "from-property"),
    ("EXEC WithSet", {"Scope": "from-property"}, "from-property"),
    ("EXEC WithSet Scope='from-exec'", {"Scope": "from-property"}, "from-exec"),
    ("EXEC NoSet Scope='from-exec'", {}, "from-exec"),
    ("EXEC WithSet Scope=NULL", {"Scope": "from-property"}, "from-property"),
    ("EXEC WithSet Scope=NULL", {}, "from-set"),
    ("EXEC NoSet Scope=NULL", {}, "from-default"),
    ("EXEC WithSet Scope=''", {"Scope": "from-property"}, ""),
])
def test_precedence(location: str, echo: Recorder, statement: str,
                    properties: dict[str, Any], expected: str) -> None:
    assert run(location, echo, statement, **properties)["Scope"] == expected


def test_a_set_of_an_undeclared_attribute_is_fixed_by_the_script(location: str,
                                                                 echo: Recorder) -> None:
    inputs = run(location, echo, "EXEC Fixed", GrantType="CODE")
    assert inputs["GrantType"] == "REFRESH"
    assert inputs["Custom"] == "fixed"
    with cdata_oauth.connect(Location=location) as conn, \
            pytest.raises(cdata_oauth.ProgrammingError, match="Fixed has no input 'GrantType'"):
        conn.execute("EXEC Fixed GrantType='CODE'")


def test_refresh_procedure_keeps_its_grant_type() -> None:
    """The built-in RefreshOAuthAccessToken fixes GrantType=REFRESH (and AuthMode=WEB)."""
    with registered("oauthGetAccessToken", Recorder()) as recorder, \
            cdata_oauth.connect(GrantType="PASSWORD", AuthMode="APP",
                                OAuthRefreshToken="rt-1") as conn:
        conn.execute("EXEC RefreshOAuthAccessToken")
        assert recorder.last.inputs["GrantType"] == "REFRESH"
        assert recorder.last.inputs["AuthMode"] == "WEB"
        assert recorder.last.inputs["OAuthRefreshToken"] == "rt-1"
        conn.execute("EXEC RefreshOAuthAccessToken OAuthRefreshToken='rt-2'")
        assert recorder.last.inputs["OAuthRefreshToken"] == "rt-2"


def test_every_given_property_reaches_the_operation(location: str, echo: Recorder) -> None:
    inputs = run(location, echo, "EXEC NoSet", OAuthClientId="cid", Timeout=9)
    assert inputs["OAuthClientId"] == "cid"
    assert inputs["Timeout"] == 9
    assert inputs["Location"] == location
    fresh = run(location, echo, "EXEC NoSet")
    assert "Timeout" not in fresh
    assert fresh.get("Timeout") == 60  # registry default for names nobody set
    assert fresh.get("OAuthVersion") == "1.0"


# -- required -----------------------------------------------------------------------------------

def test_required_inputs_are_named_with_their_property(location: str, echo: Recorder) -> None:
    with cdata_oauth.connect(Location=location) as conn:
        with pytest.raises(cdata_oauth.ProgrammingError) as info:
            conn.execute("EXEC Req")
        message = str(info.value)
        assert "Req needs OAuthRefreshToken" in message
        assert "connection property OAuthRefreshToken" in message
        assert "Custom (give it in the EXEC statement)" in message
        assert "Optional" not in message
        with pytest.raises(cdata_oauth.ProgrammingError, match="OAuthRefreshToken"):
            conn.execute("EXEC Req Custom='c', OAuthRefreshToken=''")
    inputs = run(location, echo, "EXEC Req Custom='c'", OAuthRefreshToken="rt")
    assert inputs["OAuthRefreshToken"] == "rt"
    assert echo.calls and len(echo.calls) == 1


# -- allowed values and types ---------------------------------------------------------------

@pytest.mark.parametrize(("assignment", "name", "expected"), [
    ("I='42'", "I", 42),
    ("I=42", "I", 42),
    ("I=' 7 '", "I", 7),
    ("I=3.0", "I", 3),
    ("I=-5", "I", -5),
    ("L='9000000000'", "L", 9_000_000_000),
    ("D='2.5'", "D", 2.5),
    ("D=1", "D", 1.0),
    ("F='true'", "F", True),
    ("F='No'", "F", False),
    ("F=1", "F", True),
    ("F=0", "F", False),
    ("T='2024-01-31T12:30:00'", "T", datetime.datetime(2024, 1, 31, 12, 30)),
    ("S=5", "S", "5"),
    ("S=2.5", "S", "2.5"),
    ("Mode='two'", "Mode", "Two"),
    ("Mode='ONE'", "Mode", "ONE"),
    ("Mode=NULL", "Mode", "ONE"),
    ("AuthMode='web'", "AuthMode", "WEB"),
    ("Choice='b'", "Choice", "B"),
    ("Timeout='15'", "Timeout", 15),
    ("I=7", "I", 7),
    ("Mode=' two '", "Mode", "Two"),
    ("[OAuthParam:n]=12", "OAuthParam:n", "12"),
])
def test_values_are_checked_and_converted(location: str, echo: Recorder, assignment: str,
                                          name: str, expected: Any) -> None:
    inputs = run(location, echo, f"EXEC Typed {assignment}")
    assert inputs[name] == expected
    assert type(inputs[name]) is type(expected)


@pytest.mark.parametrize(("assignment", "error", "words"), [
    ("I='abc'", cdata_oauth.DataError, ("Input I of Typed", "'abc'", "whole number")),
    ("I='5.5'", cdata_oauth.DataError, ("Input I", "int")),
    ("I=5.5", cdata_oauth.DataError, ("Input I",)),
    ("D='x'", cdata_oauth.DataError, ("Input D", "a number")),
    ("F='maybe'", cdata_oauth.DataError, ("Input F", "TRUE/FALSE, YES/NO, ON/OFF or 1/0")),
    ("T='yesterday'", cdata_oauth.DataError, ("Input T", "ISO 8601")),
    ("Mode='three'", cdata_oauth.ProgrammingError, ("Input Mode of Typed", "ONE, Two")),
    ("AuthMode='browser'", cdata_oauth.ProgrammingError, ("AuthMode", "APP, WEB")),
    ("Timeout='soon'", cdata_oauth.ProgrammingError, ("Timeout", "whole number")),
    ("I=TRUE", cdata_oauth.DataError, ("Input I", "int")),
    ("Mode=2", cdata_oauth.ProgrammingError, ("Input Mode of Typed is 2", "ONE, Two")),
])
def test_bad_values(location: str, echo: Recorder, assignment: str, error: type[Exception],
                    words: tuple[str, ...]) -> None:
    with cdata_oauth.connect(Location=location) as conn, pytest.raises(error) as info:
        conn.execute(f"EXEC Typed {assignment}")
    for word in words:
        assert word in str(info.value)
    assert echo.calls == []


TRUTH_WORDS = [("TRUE", True), ("yes", True), ("On", True), ("ON", True), ("1", True),
               ("false", False), ("NO", False), ("off", False), ("0", False)]


@pytest.mark.parametrize(("word", "expected"), TRUTH_WORDS)
def test_script_flags_take_the_same_truth_words_as_properties(
        location: str, echo: Recorder, word: str, expected: bool) -> None:
    """xs:type="boolean" inputs and flag properties given in the EXEC, by ? or as a
    connection property all read TRUE/FALSE, YES/NO, ON/OFF, 1/0 in any case."""
    assert run(location, echo, f"EXEC Typed F='{word}'")["F"] is expected
    inputs = run(location, echo, "EXEC Flags Proxy_Auto=?, Strict=?", (word, word))
    assert inputs["Proxy_Auto"] is expected and inputs["Strict"] is expected
    assert run(location, echo, "EXEC Flags", Proxy_Auto=word)["Proxy_Auto"] is expected


@pytest.mark.parametrize(("assignment", "error"), [
    ("Proxy_Auto='maybe'", cdata_oauth.ProgrammingError),
    ("Strict='enabled'", cdata_oauth.DataError),
    ("Strict=2", cdata_oauth.DataError),
])
def test_other_flag_words_are_refused_with_the_list(location: str, echo: Recorder,
                                                    assignment: str,
                                                    error: type[Exception]) -> None:
    with cdata_oauth.connect(Location=location) as conn, pytest.raises(error) as info:
        conn.execute(f"EXEC Flags {assignment}")
    assert "TRUE/FALSE, YES/NO, ON/OFF or 1/0" in str(info.value)
    assert echo.calls == []


def test_a_flag_still_obeys_the_values_its_script_allows(location: str,
                                                        echo: Recorder) -> None:
    assert run(location, echo, "EXEC Flags OnlyOn='yes'")["OnlyOn"] is True
    with cdata_oauth.connect(Location=location) as conn, \
            pytest.raises(cdata_oauth.ProgrammingError, match="allowed values are TRUE"):
        conn.execute("EXEC Flags OnlyOn='off'")


def test_secret_inputs_are_masked_in_errors(location: str, echo: Recorder) -> None:
    with cdata_oauth.connect(Location=location) as conn:
        for statement in ("EXEC Typed Pin='hunter2'", "EXEC Typed Choice='hunter2'"):
            with pytest.raises(cdata_oauth.DatabaseError) as info:
                conn.execute(statement)
            assert "hunter2" not in str(info.value)
            assert "********" in str(info.value)


def test_inputs_repr_masks_secrets(location: str, echo: Recorder) -> None:
    inputs = run(location, echo, "EXEC Typed Pin=1234, S='visible'",
                 OAuthClientSecret="cs-secret")
    assert "cs-secret" not in repr(inputs) and "1234" not in repr(inputs)
    assert "visible" in repr(inputs)
    assert set(inputs.secrets()) == {1234, "cs-secret"}


# -- unknown and wildcard inputs --------------------------------------------------------------

def test_unknown_input_lists_what_is_accepted(location: str, echo: Recorder) -> None:
    with cdata_oauth.connect(Location=location) as conn:
        with pytest.raises(cdata_oauth.ProgrammingError) as info:
            conn.execute("EXEC Typed Mdoe='ONE'")
        message = str(info.value)
        assert "Typed has no input 'Mdoe'" in message
        assert "Did you mean Mode?" in message
        assert "It accepts: I, L, D, F, T, S, Mode, AuthMode, Pin, Choice, Timeout, " \
               "OAuthParam:<name>" in message
        with pytest.raises(cdata_oauth.ProgrammingError, match="has no input 'OAuthParam:'"):
            conn.execute("EXEC Typed [OAuthParam:]='x'")
        with pytest.raises(cdata_oauth.ProgrammingError, match="NoSet has no input 'Mode'"):
            conn.execute("EXEC NoSet Mode='x'")


def test_wildcard_inputs(location: str, echo: Recorder) -> None:
    inputs = run(location, echo,
                 "EXEC Typed [OAuthParam:prompt]='consent', [oauthparam:Audience]='api'",
                 **{"OAuthParam:prompt": "login", "OAuthParam:resource": "r1"})
    assert inputs.family("OAuthParam:") == {"prompt": "consent", "Audience": "api",
                                            "resource": "r1"}
    assert inputs.family("oauthparam:")["resource"] == "r1"


def test_positional_values_bind_in_declared_order(location: str, echo: Recorder) -> None:
    inputs = run(location, echo, "EXEC Typed '1', '2', '3.5', 'true'")
    assert (inputs["I"], inputs["L"], inputs["D"], inputs["F"]) == (1, 2, 3.5, True)


def test_a_repeated_statement_binds_as_the_first_time(location: str, echo: Recorder) -> None:
    """A literal-only statement keeps its bound inputs; an equal call of another type
    (1 == TRUE in Python) never shares them."""
    with cdata_oauth.connect(Location=location) as conn:
        seen = []
        for statement in ("EXEC Typed S=1", "EXEC Typed S=TRUE", "EXEC Typed S=1",
                          "EXEC Typed S=TRUE", "EXEC Typed [OAuthParam:a]=1, S=2"):
            conn.execute(statement)
            seen.append(dict(echo.last.inputs.family("OAuthParam:"), S=echo.last.inputs["S"]))
    assert seen == [{"S": "1"}, {"S": "True"}, {"S": "1"}, {"S": "True"}, {"a": "1", "S": "2"}]


def test_each_new_input_name_is_resolved_anew(location: str, echo: Recorder) -> None:
    """Names are remembered as written: many new family names, then the first again."""
    with cdata_oauth.connect(Location=location) as conn:
        for i in range(300):
            conn.execute(f"EXEC Typed [OAuthParam:n{i}]='v{i}', Mode='two'")
            assert echo.last.inputs.family("OAuthParam:") == {f"n{i}": f"v{i}"}
            assert echo.last.inputs["Mode"] == "Two"
        with pytest.raises(cdata_oauth.ProgrammingError, match="no input 'Nope'"):
            conn.execute("EXEC Typed Nope='x'")
        with pytest.raises(cdata_oauth.ProgrammingError, match="no input 'Nope'"):
            conn.execute("EXEC Typed Nope='y'")
