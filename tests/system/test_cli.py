"""The ``cdata-oauth`` console script, run for real in a subprocess against the
embedded provider: output formats, property sources, and one-line errors."""

from __future__ import annotations

import csv
import io
import json

from cdata_oauth.provider import EmbeddedProvider
from tests.cli_support import connection_string, run_cli

CLIENT = "EXEC GetOAuthAccessToken GrantType='CLIENT'"


def _one_line_error(result: object) -> str:
    stderr = result.stderr  # type: ignore[attr-defined]
    assert result.returncode != 0  # type: ignore[attr-defined]
    assert result.stdout == ""  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("cdata-oauth: ")
    return str(lines[0])


def test_table_output(embedded_provider: EmbeddedProvider) -> None:
    result = run_cli(CLIENT, "--connection",
                     connection_string(embedded_provider.connection_properties()))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    header, rule, row = result.stdout.splitlines()
    assert header.split() == ["OAuthAccessToken", "OAuthTokenSecret", "OAuthRefreshToken",
                              "ExpiresIn", "IssuedTokenType", "OAuthParam:scope",
                              "OAuthParam:token_type"]
    assert set(rule) == {"-", " "}
    # aligned: every column starts where its header starts
    starts = [header.index(name) for name in header.split()]
    assert [rule[s - 1] if s else " " for s in starts] == [" "] * len(starts)
    token = row.split()[0]
    assert token.startswith("at_")
    assert embedded_provider.is_access_token_valid(token)
    assert row[header.index("ExpiresIn"):].split()[0] == "3600"
    # an empty token secret and a NULL refresh token are both shown
    assert "NULL" in row


def test_json_output_with_properties_from_p(embedded_provider: EmbeddedProvider) -> None:
    args = [CLIENT, "--format", "json"]
    for name, value in embedded_provider.connection_properties().items():
        args += ["-p", f"{name}={value}"]
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 1
    row = rows[0]
    assert list(row)[:4] == ["OAuthAccessToken", "OAuthTokenSecret", "OAuthRefreshToken",
                             "ExpiresIn"]
    assert row["ExpiresIn"] == 3600
    assert row["OAuthRefreshToken"] is None
    assert row["OAuthParam:token_type"] == "Bearer"
    assert embedded_provider.is_access_token_valid(row["OAuthAccessToken"])


def test_csv_output_and_placeholder_values(embedded_provider: EmbeddedProvider) -> None:
    p = embedded_provider
    result = run_cli("EXEC GetOAuthAccessToken GrantType='PASSWORD', User=?, Password=?",
                     f"--arg={p.user}", f"--arg={p.password}", "-f", "csv",  # may start with -
                     "--connection", connection_string(p.connection_properties()))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 1
    assert rows[0]["OAuthRefreshToken"].startswith("rt_")
    assert rows[0]["ExpiresIn"] == "3600"
    assert p.is_refresh_token_valid(rows[0]["OAuthRefreshToken"])


def test_p_wins_over_connection(embedded_provider: EmbeddedProvider) -> None:
    p = embedded_provider
    wrong = connection_string(p.connection_properties(OAuthClientSecret="not-the-secret"))
    result = run_cli(CLIENT, "--connection", wrong, "-p",
                     f"OAuthClientSecret={p.client_secret}", "-f", "json")
    assert result.returncode == 0, result.stderr
    assert p.is_access_token_valid(json.loads(result.stdout)[0]["OAuthAccessToken"])


def test_provider_error_is_one_line_without_the_secret(
        embedded_provider: EmbeddedProvider) -> None:
    secret = "wrong-secret-value"
    result = run_cli(CLIENT, "--connection", connection_string(
        embedded_provider.connection_properties(OAuthClientSecret=secret)))
    line = _one_line_error(result)
    assert result.returncode == 3  # a provider failure
    assert "OAuthError" in line and "invalid_client" in line
    assert secret not in result.stderr


def test_bad_statement_is_one_line_on_stderr_with_exit_status_2() -> None:
    result = run_cli("EXEC NoSuchProcedure")
    line = _one_line_error(result)
    assert result.returncode == 2  # bad input, not a provider failure
    assert "ProgrammingError" in line and "NoSuchProcedure" in line
    result = run_cli("DELETE FROM tokens")
    line = _one_line_error(result)
    assert result.returncode == 2
    assert "NotSupportedError" in line


def test_bad_property_is_one_line_and_masks_secrets() -> None:
    result = run_cli(CLIENT, "--connection", "OAuthClientSecret='s3cr;et-xyz';Bogus=1")
    line = _one_line_error(result)
    assert "Bogus" in line
    assert "s3cr;et-xyz" not in result.stderr


def test_usage_errors_are_one_line_with_exit_status_2() -> None:
    result = run_cli(CLIENT, "-p", "NoEqualsSign")
    _one_line_error(result)
    assert result.returncode == 2
    result = run_cli(CLIENT, "--format", "xml")
    _one_line_error(result)
    assert result.returncode == 2
    result = run_cli()
    _one_line_error(result)


def test_select_from_system_tables() -> None:
    result = run_cli("SELECT ProcedureName FROM sys_procedures ORDER BY ProcedureName",
                     "-f", "csv")
    assert result.returncode == 0, result.stderr
    names = result.stdout.split()
    assert names[0] == "ProcedureName"
    assert {"GetOAuthAccessToken", "GetOAuthAuthorizationURL",
            "RefreshOAuthAccessToken"} <= set(names[1:])


def test_help_mentions_the_demo() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "cdata-oauth demo" in result.stdout
    assert "--connection" in result.stdout and "--format" in result.stdout
    assert "--profile" in result.stdout
    for command in ("token", "login", "logout", "status"):
        assert f"cdata-oauth {command} " in result.stdout
