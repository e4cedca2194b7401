"""The API Script reader on good and broken files, and the built-in scripts."""

from __future__ import annotations

from pathlib import Path

import pytest

import cdata_oauth
from cdata_oauth.catalog.lookup import builtin_scripts
from cdata_oauth.catalog.reader import ScriptError, read_script, read_script_file
from tests.core_support import API_NS, RSB_NS, XS_NS

FULL = """<{p}:script xmlns:{p}="{ns}" xmlns:xs="{xs}">
  <!-- a comment is fine anywhere -->
  <{p}:info title="FromTitle" {descattr}="A test procedure.">
    <input name="Plain" {descattr}="plain input"/>
    <input name="WithDefault" default="d1"/>
    <input name="WithDef" def="d2"/>
    <input name="Needed" required="true"/>
    <input name="NeededToo" req="yes"/>
    <input name="Mode" values="ONE, Two ,three" default="two"/>
    <input name="Count" xs:type="int" default="3"/>
    <input name="Flag" xs:type="boolean"/>
    <input name="OAuthParam:*" desc="extras"/>
    <output name="Out" desc="an output"/>
    <output name="Seconds" xs:type="int"/>
    <output name="OAuthParam:*"/>
  </{p}:info>
  <{p}:set attr="Fixed" value="by-value"/>
  <{p}:set attr="Texted">by-text</{p}:set>
  <{p}:call op="someOperation">
    <{p}:set attr="_input.Inner" value="inside"/>
    <{p}:push/>
  </{p}:call>
</{p}:script>
"""


@pytest.mark.parametrize(("ns", "prefix", "descattr"), [
    (RSB_NS, "api", "desc"),
    (API_NS, "api", "description"),
    (RSB_NS, "rsb", "description"),
    (API_NS, "x", "desc"),
])
def test_reads_a_full_script(ns: str, prefix: str, descattr: str) -> None:
    text = FULL.format(p=prefix, ns=ns, xs=XS_NS, descattr=descattr)
    script = read_script(text, "full.rsb", "FileName")
    assert script.name == "FileName"
    assert script.description == "A test procedure."
    assert script.operation == "someOperation"
    assert script.source == "full.rsb"
    by_name = {i.name: i for i in script.inputs}
    assert list(by_name) == ["Plain", "WithDefault", "WithDef", "Needed", "NeededToo", "Mode",
                             "Count", "Flag", "OAuthParam:*"]
    assert by_name["Plain"].description == "plain input"
    assert by_name["WithDefault"].default == "d1"
    assert by_name["WithDef"].default == "d2"
    assert by_name["Needed"].required and by_name["NeededToo"].required
    assert not by_name["Plain"].required
    assert by_name["Mode"].values == ("ONE", "Two", "three")
    assert by_name["Count"].xs_type == "int" and by_name["Flag"].xs_type == "boolean"
    assert by_name["Plain"].xs_type == "string"
    assert by_name["OAuthParam:*"].prefix == "OAuthParam:"
    assert script.find_input("oauthparam:prompt") is by_name["OAuthParam:*"]
    assert script.find_input("OAuthParam:") is None
    assert script.find_input("mode") is by_name["Mode"]
    assert [(o.name, o.xs_type) for o in script.outputs] == [
        ("Out", "string"), ("Seconds", "int"), ("OAuthParam:*", "string")]
    assert script.sets == (("Fixed", "by-value"), ("Texted", "by-text"), ("Inner", "inside"))


def test_default_namespace_and_title_as_name() -> None:
    text = (f'<script xmlns="{API_NS}"><info title="Titled"><input name="a"/></info>'
            '<call op="o"><push/></call></script>')
    script = read_script(text, "t.rsb")
    assert script.name == "Titled" and script.operation == "o"


def test_push_op_shorthand() -> None:
    text = (f'<api:script xmlns:api="{RSB_NS}"><api:info title="P"/>'
            '<api:push op="shortOp"/></api:script>')
    assert read_script(text, "p.rsb", "P").operation == "shortOp"


def test_read_script_file_names_the_procedure_after_the_file(tmp_path: Path) -> None:
    path = tmp_path / "MyProc.api"
    path.write_text(f'<api:script xmlns:api="{API_NS}"><api:info title="Other"/>'
                    '<api:push op="o"/></api:script>', encoding="utf-8")
    script = read_script_file(path)
    assert script.name == "MyProc" and script.source == str(path)


@pytest.mark.parametrize(("word", "expected"), [
    ("true", True), ("TRUE", True), ("yes", True), ("On", True), ("1", True),
    ("false", False), ("No", False), ("OFF", False), ("0", False), ("", False)])
def test_required_and_secret_take_the_same_truth_words_as_properties(
        word: str, expected: bool) -> None:
    text = (f'<api:script xmlns:api="{API_NS}"><api:info title="t">'
            f'<input name="Plain" required="{word}" secret="{word}"/>'
            f'<input name="Short" req="{word}"/>'
            '</api:info><api:push op="o"/></api:script>')
    plain, short = read_script(text, "t.rsb").inputs
    assert plain.required is expected and plain.secret is expected
    assert short.required is expected


HEAD = f'<api:script xmlns:api="{API_NS}" xmlns:xs="{XS_NS}">'
# (file text, line of the problem, words of the message)
BROKEN: list[tuple[str, int, tuple[str, ...]]] = [
    (f"{HEAD}\n<api:info title='x'>\n<input name='a'\n</api:info></api:script>", 4,
     ("column", "not well-formed XML")),
    (f"{HEAD}\n<api:info title='x'/>\n<api:push op='o'/>\n", 4, ("not well-formed",)),
    ("\n<script><info/><call op='o'><push/></call></script>", 2,
     ("root element must be <api:script>",)),
    (f"<api:other xmlns:api='{API_NS}'/>", 1, ("root element", "api:other")),
    ("<api:script xmlns:api='http://example.com/not-it'/>", 1, ("root element",)),
    (f"{HEAD}\n<api:info title='x'/>\n<api:each/>\n<api:push op='o'/></api:script>", 3,
     ("<api:each> is not supported", "api:call")),
    (f"{HEAD}\n<api:info title='x'/>\n<api:call op='o'>\n<api:each/><api:push/></api:call>"
     "</api:script>", 4, ("<api:each> is not supported inside <api:call>",)),
    (f"{HEAD}\n<api:info title='x'>\n<param name='a'/></api:info>\n<api:push op='o'/>"
     "</api:script>", 3, ("<param> is not allowed in <api:info>",)),
    (f"{HEAD}\n<api:info title='x'/>\n<api:call>\n<api:push/></api:call></api:script>", 3,
     ("no op attribute",)),
    (f"{HEAD}\n<api:info title='x'/>\n<api:push/></api:script>", 3, ("no op attribute",)),
    (f"{HEAD}\n<api:info title='x'/>\n<api:call op='o'/></api:script>", 3,
     ("exactly one <api:push/>", "found 0")),
    (f"{HEAD}\n<api:info title='x'/>\n<api:call op='o'><api:push/><api:push/></api:call>"
     "</api:script>", 3, ("found 2",)),
    (f"{HEAD}\n<api:info title='x'/>\n</api:script>", 1, ("calls no operation",)),
    (f"{HEAD}\n<api:push op='o'/>\n</api:script>", 1, ("no <api:info>",)),
    (f"{HEAD}\n<api:info title='x'/>\n<api:info title='y'/>\n<api:push op='o'/>"
     "</api:script>", 3, ("second",)),
    (f"{HEAD}\n<api:info title='x'/>\n<api:push op='o'/>\n<api:push op='p'/></api:script>",
     4, ("one operation",)),
    (f"{HEAD}\n<api:info title='x'>\n<input desc='no name'/></api:info>\n<api:push op='o'/>"
     "</api:script>", 3, ("<input> has no name",)),
    (f"{HEAD}\n<api:info title='x'>\n<input name='a'/>\n<input name='A'/></api:info>"
     "<api:push op='o'/></api:script>", 4, ("input A is declared twice",)),
    (f"{HEAD}\n<api:info title='x'>\n<input name='a' xs:type='float'/></api:info>"
     "<api:push op='o'/></api:script>", 3, ("type 'float'", "int")),
    (f"{HEAD}\n<api:info title='x'>\n<input name='m' values='A,B' default='C'/></api:info>"
     "<api:push op='o'/></api:script>", 3, ("default 'C'", "A, B")),
    (f"{HEAD}\n<api:info title='x'/>\n<api:set value='v'/>\n<api:push op='o'/></api:script>",
     3, ("<api:set> has no attr",)),
    (f"{HEAD}\n<api:info title='x'>\n<input name='a' required='maybe'/></api:info>"
     "<api:push op='o'/></api:script>", 3,
     ("required='maybe' is not a truth value", "TRUE/FALSE, YES/NO, ON/OFF or 1/0")),
    (f"{HEAD}\n<api:info title='x'>\n\n<input name='a' req='y'/></api:info>"
     "<api:push op='o'/></api:script>", 4, ("req='y' is not a truth value",)),
    (f"{HEAD}\n<api:info title='x'>\n<input name='a' secret='hidden'/></api:info>"
     "<api:push op='o'/></api:script>", 3, ("secret='hidden' is not a truth value",)),
    # DTDs and entities are refused, whatever they try
    (f'<?xml version="1.0"?>\n<!DOCTYPE s [<!ENTITY e "boom">]>\n{HEAD}'
     "<api:info title='&e;'/><api:push op='o'/></api:script>", 2, ("DTD or entities",)),
    (f'<?xml version="1.0"?>\n\n<!DOCTYPE s SYSTEM "file:///etc/passwd">\n{HEAD}'
     "<api:info title='x'/><api:push op='o'/></api:script>", 3, ("DTD",)),
    ('<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n'
     f"{HEAD}<api:info title='&lol2;'/><api:push op='o'/></api:script>", 1, ("DTD",)),
    (f"{HEAD}\n<api:info title='&undefined;'/><api:push op='o'/></api:script>", 2,
     ("undefined entity",)),
]


@pytest.mark.parametrize(("text", "line", "words"), BROKEN,
                         ids=[f"broken{i}" for i in range(len(BROKEN))])
def test_broken_scripts_name_file_and_line(tmp_path: Path, text: str, line: int,
                                           words: tuple[str, ...]) -> None:
    path = tmp_path / "Broken.rsb"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScriptError) as info:
        read_script_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}, line {line}")
    for word in words:
        assert word in message
    assert isinstance(info.value, cdata_oauth.ProgrammingError)


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match=r"Missing\.rsb: cannot be read"):
        read_script_file(tmp_path / "Missing.rsb")


def test_builtin_scripts() -> None:
    scripts = builtin_scripts()
    assert set(scripts) >= {"getoauthaccesstoken", "refreshoauthaccesstoken",
                            "getoauthauthorizationurl", "getoauthservermetadata",
                            "revokeoauthtoken", "introspectoauthtoken",
                            "getoauthdevicecode"}
    get = scripts["getoauthaccesstoken"]
    assert get.operation == "oauthGetAccessToken"
    assert {o.name for o in get.outputs} >= {"OAuthAccessToken", "OAuthRefreshToken",
                                             "ExpiresIn", "OAuthParam:*"}
    assert {i.name for i in get.inputs} >= {
        "AuthMode", "GrantType", "Verifier", "OAuthVersion", "OAuthClientId",
        "OAuthClientSecret", "OAuthAccessTokenURL", "CallbackURL", "Scope", "OAuthParam:*",
        "Timeout", "SignMethod", "PostData", "OtherOptions"}
    url = scripts["getoauthauthorizationurl"]
    assert url.operation == "oauthGetUserAuthorizationURL"
    assert "URL" in {o.name for o in url.outputs}
    refresh = scripts["refreshoauthaccesstoken"]
    assert ("GrantType", "REFRESH") in refresh.sets
    assert refresh.find_input("OAuthRefreshToken") is not None
    assert refresh.find_input("GrantType") is None
