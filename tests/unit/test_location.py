"""User scripts in the Location folder: *.rsb and *.api, overriding built-ins, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import cdata_oauth
from cdata_oauth.catalog.lookup import builtin_scripts
from tests.core_support import (
    ECHO_INPUTS,
    ECHO_OUTPUTS,
    RSB_NS,
    Recorder,
    registered,
    row_dict,
    script_xml,
    write_script,
)

GITHUB = script_xml(
    "GetGitHubToken",
    """<input name="Verifier" required="true" desc="The code GitHub sent back."/>
       <input name="OAuthClientId"/><input name="OAuthClientSecret"/>
       <input name="Scope" default="repo"/>""",
    """<output name="OAuthAccessToken"/><output name="OAuthParam:*"/>""",
    """<api:set attr="OAuthVersion" value="2.0"/>
       <api:set attr="AuthMode" value="WEB"/>
       <api:set attr="OAuthAuthorizationURL" value="https://github.com/login/oauth/authorize"/>
       <api:set attr="OAuthAccessTokenURL">https://github.com/login/oauth/access_token</api:set>
    """,
    op="oauthGetAccessToken")


def test_rsb_and_api_files_define_procedures(tmp_path: Path, echo: Recorder) -> None:
    write_script(tmp_path, "Echo.rsb", script_xml("Ignored", ECHO_INPUTS, ECHO_OUTPUTS))
    write_script(tmp_path, "Second.API", script_xml("Second", ECHO_INPUTS, ECHO_OUTPUTS,
                                                    ns=RSB_NS, prefix="rsb"))
    write_script(tmp_path, "notes.txt", "not a script")
    write_script(tmp_path, "Third.xml", script_xml("Third", ECHO_INPUTS, ECHO_OUTPUTS))
    (tmp_path / "sub.rsb").mkdir()
    with cdata_oauth.connect(Location=str(tmp_path)) as conn:
        assert conn.execute("EXEC Echo A='1'").fetchone() == ("1", "b-default", None)
        assert echo.last.script.name == "Echo"  # the file name, not the title
        assert conn.execute("EXEC second A='2'").fetchone() == ("2", "b-default", None)
        assert echo.last.script.source == str(tmp_path / "Second.API")
        with pytest.raises(cdata_oauth.ProgrammingError, match="Unknown procedure 'Third'"):
            conn.execute("EXEC Third")
        names = {r[0] for r in conn.execute("SELECT ProcedureName FROM sys_procedures")}
        assert names == {"Echo", "Second"} | {s.name for s in builtin_scripts().values()}
        assert names >= {"GetOAuthAccessToken", "RefreshOAuthAccessToken",
                         "GetOAuthAuthorizationURL", "GetOAuthDeviceCode"}


def test_a_user_file_replaces_a_builtin(tmp_path: Path, echo: Recorder) -> None:
    write_script(tmp_path, "getoauthaccesstoken.rsb",
                 script_xml("Mine", '<input name="Only"/>', '<output name="Only"/>'))
    with cdata_oauth.connect(Location=str(tmp_path)) as conn:
        assert conn.execute("EXEC GetOAuthAccessToken Only='mine'").fetchone() == ("mine",)
        assert echo.last.script.source.endswith("getoauthaccesstoken.rsb")
        with pytest.raises(cdata_oauth.ProgrammingError, match="It accepts: Only"):
            conn.execute("EXEC GetOAuthAccessToken GrantType='CLIENT'")
        params = conn.execute("SELECT ColumnName FROM sys_procedureparameters WHERE "
                              "ProcedureName = 'getoauthaccesstoken'").fetchall()
        assert params == [("Only",), ("Only",)]
    with cdata_oauth.connect() as plain:  # other connections keep the built-in
        rows = plain.execute("SELECT COUNT(*) FROM sys_procedureparameters WHERE "
                             "ProcedureName = 'GetOAuthAccessToken'").fetchone()
        assert rows is not None and rows[0] > 10


def test_user_procedure_with_fixed_urls(tmp_path: Path) -> None:
    write_script(tmp_path, "GetGitHubToken.rsb", GITHUB)

    def fake_exchange(invocation: object) -> dict[str, str]:
        inputs = invocation.inputs  # type: ignore[attr-defined]
        return {"OAuthAccessToken": f"token-for-{inputs['Verifier']}",
                "OAuthParam:token_url": inputs["OAuthAccessTokenURL"]}

    with registered("oauthGetAccessToken", Recorder()) as recorder, \
            cdata_oauth.connect(Location=str(tmp_path), OAuthClientId="my-app",
                                OAuthClientSecret="s3cret",
                                OAuthAccessTokenURL="https://elsewhere.example/token") as conn:
        conn.execute("EXEC GetGitHubToken Verifier='code-123'")
        inputs = recorder.last.inputs
        assert inputs["Verifier"] == "code-123"
        assert inputs["OAuthClientId"] == "my-app"
        assert inputs["Scope"] == "repo"
        assert inputs["OAuthVersion"] == "2.0"
        assert inputs["AuthMode"] == "WEB"
        assert inputs["OAuthAuthorizationURL"] == "https://github.com/login/oauth/authorize"
        # the script's set fixes the URL; a connection property cannot move it
        assert inputs["OAuthAccessTokenURL"] == "https://github.com/login/oauth/access_token"
        with registered("oauthGetAccessToken", fake_exchange):
            cursor = conn.execute("EXEC GetGitHubToken Verifier=?", ("xyz",))
            assert row_dict(cursor) == {
                "OAuthAccessToken": "token-for-xyz",
                "OAuthParam:token_url": "https://github.com/login/oauth/access_token"}
        with pytest.raises(cdata_oauth.ProgrammingError,
                           match=r"GetGitHubToken needs Verifier .*connection property Verifier"):
            conn.execute("EXEC GetGitHubToken")
        with pytest.raises(cdata_oauth.ProgrammingError, match="Did you mean GetGitHubToken"):
            conn.execute("EXEC GetGitHubTokn Verifier='x'")


def test_location_with_home_folder(tmp_path: Path, echo: Recorder,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "scripts").mkdir()
    write_script(tmp_path / "scripts", "Echo.rsb", script_xml("Echo", ECHO_INPUTS, ECHO_OUTPUTS))
    with cdata_oauth.connect("Location=~/scripts") as conn:
        assert conn.execute("EXEC Echo A='home'").fetchone() == ("home", "b-default", None)


def test_bad_location_fails_at_connect(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(cdata_oauth.ProgrammingError) as info:
        cdata_oauth.connect(Location=str(missing))
    assert str(missing) in str(info.value) and "not a folder" in str(info.value)
    a_file = write_script(tmp_path, "file.rsb", "x")
    with pytest.raises(cdata_oauth.ProgrammingError, match="not a folder"):
        cdata_oauth.connect(f"Location='{a_file}'")


def test_broken_user_file_names_the_file(tmp_path: Path) -> None:
    write_script(tmp_path, "Good.rsb", script_xml("Good", ECHO_INPUTS, ECHO_OUTPUTS))
    broken = write_script(tmp_path, "Broken.api",
                          script_xml("Broken", '<input name="a" xs:type="float"/>'))
    with pytest.raises(cdata_oauth.ProgrammingError) as info:
        cdata_oauth.connect(Location=str(tmp_path))
    assert f"{broken}, line 3" in str(info.value)
    assert "float" in str(info.value)


def test_two_files_for_one_procedure(tmp_path: Path) -> None:
    write_script(tmp_path, "Echo.rsb", script_xml("Echo", ECHO_INPUTS, ECHO_OUTPUTS))
    write_script(tmp_path, "echo.api", script_xml("Echo", ECHO_INPUTS, ECHO_OUTPUTS))
    with pytest.raises(cdata_oauth.ProgrammingError, match=r"defined twice.*remove or rename"):
        cdata_oauth.connect(Location=str(tmp_path))


def test_unknown_operation_is_a_clear_error(tmp_path: Path) -> None:
    write_script(tmp_path, "Odd.rsb", script_xml("Odd", op="noSuchOperation"))
    with cdata_oauth.connect(Location=str(tmp_path)) as conn, \
            pytest.raises(cdata_oauth.ProgrammingError) as info:
        conn.execute("EXEC Odd")
    assert "Operation 'noSuchOperation' is not known" in str(info.value)
    assert "oauthgetaccesstoken" in str(info.value).lower()
