"""``cdata-oauth token``, ``login``, ``logout`` and ``status`` as a user runs them: the
console script in a subprocess, real stdout and stderr, a profiles file in a temporary
folder named by $CDATA_OAUTH_PROFILES, the default token store under $XDG_CONFIG_HOME of
that folder, and the embedded provider on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from cdata_oauth.provider import EmbeddedProvider
from tests.cli_support import console_script, run_cli
from tests.servers.missing import missing

HEAVY = ("sqlglot", "requests", "oauthlib")


class Helper:
    """A user's shell: a profiles file, a config folder, and the command."""

    def __init__(self, folder: Path, provider: EmbeddedProvider) -> None:
        self.folder = folder
        self.provider = provider
        self.profiles = folder / "profiles.toml"
        self.env = {"CDATA_OAUTH_PROFILES": str(self.profiles),
                    "XDG_CONFIG_HOME": str(folder / "config")}

    def write_profiles(self, tables: Mapping[str, Mapping[str, Any]], mode: int = 0o600) -> None:
        lines: list[str] = []
        for name, table in tables.items():
            lines.append(f"[{name}]")
            lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
        self.profiles.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.profiles.chmod(mode)

    def demo_profile(self, **overrides: Any) -> dict[str, Any]:
        return self.provider.connection_properties(**{"GrantType": "CLIENT", "Scope": "read",
                                                      **overrides})

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env=self.env)

    def token_files(self) -> list[Path]:
        return sorted((self.folder / "config" / "cdata_oauth").glob("tokens-*.json"))


@pytest.fixture
def helper(tmp_path: Path, fresh_provider: EmbeddedProvider) -> Iterator[Helper]:
    shell = Helper(tmp_path, fresh_provider)
    shell.write_profiles({"demo": shell.demo_profile()})
    yield shell


def _one_line_error(result: subprocess.CompletedProcess[str], status: int) -> str:
    assert result.returncode == status, (result.returncode, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cdata-oauth: ")
    return lines[0]


# token


def test_token_prints_a_valid_token_and_serves_it_again_from_the_store(
        helper: Helper) -> None:
    first = helper.run("token", "--profile", "demo")
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    token = first.stdout.removesuffix("\n")
    assert first.stdout == token + "\n" and "\n" not in token
    assert helper.provider.is_access_token_valid(token)
    again = helper.run("token", "--profile", "demo")
    assert again.stdout == first.stdout
    assert helper.provider.grant_counts["client_credentials"] == 1  # the second run: store
    assert len(helper.token_files()) == 1


def test_token_json_and_header_formats(helper: Helper) -> None:
    data = json.loads(helper.run("token", "--profile", "demo", "--format", "json").stdout)
    assert set(data) == {"access_token", "token_type", "expires_at", "scope"}
    assert helper.provider.is_access_token_valid(data["access_token"])
    assert data["token_type"] == "Bearer" and data["scope"] == "read"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["expires_at"])
    expires = time.mktime(time.strptime(data["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(expires - time.timezone - (time.time() + 3600)) < 120
    header = helper.run("token", "--profile", "demo", "--format", "header")
    assert header.stdout == f"Authorization: Bearer {data['access_token']}\n"


def test_fresh_token_run_imports_no_sqlglot_requests_or_oauthlib(helper: Helper) -> None:
    assert helper.run("token", "--profile", "demo").returncode == 0  # stores a fresh token
    code = ("import json, sys\nfrom cdata_oauth.cli.main import main\n"
            "status = main(['token', '--profile', 'demo'])\n"
            f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)), "
            "file=sys.stderr)\nsys.exit(status)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **helper.env}, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert helper.provider.is_access_token_valid(done.stdout.strip())
    assert json.loads(done.stderr) == []
    assert helper.provider.grant_counts["client_credentials"] == 1


def test_due_token_is_renewed_with_its_refresh_token(helper: Helper) -> None:
    p = helper.provider
    helper.write_profiles({"demo": helper.demo_profile(GrantType="PASSWORD", User=p.user,
                                                       Password=p.password)})
    first = helper.run("token", "--profile", "demo").stdout.strip()
    (path,) = helper.token_files()
    record = json.loads(path.read_text(encoding="utf-8"))
    record["OAuthTokenTimestamp"] -= 3600 * 1000  # issued an hour ago: expired now
    path.write_text(json.dumps(record), encoding="utf-8")
    renewed = helper.run("token", "--profile", "demo")
    assert renewed.returncode == 0, renewed.stderr
    assert renewed.stdout.strip() != first
    assert p.is_access_token_valid(renewed.stdout.strip())
    assert p.grant_counts["refresh_token"] == 1 and p.grant_counts["password"] == 1


def test_curl_sends_the_header_to_a_resource_server_that_checks_it(helper: Helper) -> None:
    curl = shutil.which("curl")
    if curl is None:
        missing("curl", "apt-get install curl")
    script = ('curl -s -o /dev/null -w "%{http_code}" '
              '-H "$(cdata-oauth token --format header --profile demo)" "$URL"')
    env = {**os.environ, **helper.env, "URL": helper.provider.userinfo_url,
           "PATH": f"{Path(console_script()).parent}{os.pathsep}{os.environ['PATH']}"}
    ok = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                        timeout=120, check=False)
    assert ok.stdout == "200", ok.stderr
    refused = subprocess.run(
        [curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
         "Authorization: Bearer at_not_a_token", helper.provider.userinfo_url],
        capture_output=True, text=True, timeout=60, check=False)
    assert refused.stdout == "401"  # the resource server does check the token


def test_explicit_properties_win_over_the_profile(helper: Helper) -> None:
    helper.write_profiles({"demo": helper.demo_profile(OAuthClientSecret="wrong-secret")})
    refused = helper.run("token", "--profile", "demo")
    assert refused.returncode == 3
    result = helper.run("token", "--profile", "demo", "-p",
                        f"OAuthClientSecret={helper.provider.client_secret}")
    assert result.returncode == 0, result.stderr
    assert helper.provider.is_access_token_valid(result.stdout.strip())


def test_statement_runner_takes_a_profile(helper: Helper) -> None:
    result = helper.run("EXEC GetOAuthAccessToken", "--profile", "demo", "-f", "json")
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert helper.provider.is_access_token_valid(row["OAuthAccessToken"])


# login, status, logout


def test_login_status_logout(helper: Helper) -> None:
    login = helper.run("login", "--profile", "demo")
    assert login.returncode == 0, login.stderr
    assert "Signed in" in login.stdout and "GrantType=CLIENT" in login.stdout
    (path,) = helper.token_files()
    stored = json.loads(path.read_text(encoding="utf-8"))["OAuthAccessToken"]
    assert helper.provider.is_access_token_valid(stored)
    assert stored not in login.stdout + login.stderr

    status = helper.run("status", "--profile", "demo")
    assert status.returncode == 0, status.stderr
    fields = dict(line.split(":", 1) for line in status.stdout.splitlines())
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    assert fields["profile"] == "demo" and fields["grant"] == "CLIENT"
    assert fields["scopes"] == "read" and fields["refresh token"] == "none"
    assert fields["store"] == str(path)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in (59|60) min\)", fields["expires"])
    assert stored not in status.stdout + status.stderr
    # the token command serves the login's token without asking the provider again
    assert helper.run("token", "--profile", "demo").stdout.strip() == stored
    assert helper.provider.grant_counts["client_credentials"] == 1

    logout = helper.run("logout", "--profile", "demo")
    assert logout.returncode == 0, logout.stderr
    assert "removed" in logout.stdout
    assert "not revoked" in logout.stderr and "OAuthRevocationURL" in logout.stderr
    assert helper.token_files() == []
    after = helper.run("status", "--profile", "demo")
    assert "none stored" in after.stdout
    assert "nothing to do" in helper.run("logout", "--profile", "demo").stdout


def test_status_shows_a_held_refresh_token_and_never_a_token(helper: Helper) -> None:
    p = helper.provider
    helper.write_profiles({"demo": helper.demo_profile(GrantType="PASSWORD", User=p.user,
                                                       Password=p.password)})
    assert helper.run("login", "--profile", "demo").returncode == 0
    (path,) = helper.token_files()
    record = json.loads(path.read_text(encoding="utf-8"))
    status = helper.run("status", "--profile", "demo")
    assert "refresh token: held" in status.stdout
    for secret in (record["OAuthAccessToken"], record["OAuthRefreshToken"], p.password,
                   p.client_secret):
        assert secret not in status.stdout + status.stderr


def test_status_masks_the_password_of_the_store_location(helper: Helper) -> None:
    status = helper.run("status", "--profile", "demo", "-p",
                        "OAuthSettingsLocation=memory://bob:hunter2@cache")
    assert status.returncode == 0, status.stderr
    assert "memory://********@cache" in status.stdout
    assert "hunter2" not in status.stdout


# exit statuses and bad input


def test_unknown_command_and_flag_are_usage_errors(helper: Helper) -> None:
    line = _one_line_error(helper.run("tokn"), 2)
    assert "unknown command 'tokn'" in line and "Did you mean token?" in line
    line = _one_line_error(helper.run("token", "--bogus"), 2)
    assert "--bogus" in line
    _one_line_error(helper.run("token", "--format", "xml"), 2)
    _one_line_error(helper.run("status", "-p", "NoEqualsSign"), 2)


def test_unknown_profile_names_the_nearest(helper: Helper) -> None:
    line = _one_line_error(helper.run("token", "--profile", "dmeo"), 2)
    assert "'dmeo'" in line and "Did you mean demo?" in line and str(helper.profiles) in line


def test_profile_that_is_not_toml_names_the_file_and_line(helper: Helper) -> None:
    helper.profiles.write_text('[demo]\nOAuthClientId = "app"\nScope = read write\n',
                               encoding="utf-8")
    line = _one_line_error(helper.run("token", "--profile", "demo"), 2)
    assert str(helper.profiles) in line and "line 3" in line


def test_unknown_property_in_a_profile_names_the_nearest(helper: Helper) -> None:
    helper.write_profiles({"demo": {"OAuthVersion": "2.0", "OAuthClientID": "app",
                                    "OAuthAccesTokenURL": "http://127.0.0.1:9/token"}})
    line = _one_line_error(helper.run("token", "--profile", "demo"), 2)
    assert "'OAuthAccesTokenURL'" in line and "OAuthAccessTokenURL" in line
    assert "[demo]" in line


def test_loose_profile_file_with_a_secret_is_refused_with_the_chmod(helper: Helper) -> None:
    helper.write_profiles({"demo": helper.demo_profile()}, mode=0o644)
    result = helper.run("token", "--profile", "demo")
    line = _one_line_error(result, 2)
    assert f"chmod 600 {helper.profiles}" in line and "OAuthClientSecret" in line
    assert helper.provider.client_secret not in result.stderr
    # without a secret in it, a readable file is fine
    helper.write_profiles({"public": {"OAuthVersion": "2.0", "OAuthClientId": "app"}},
                          mode=0o644)
    assert helper.run("status", "--profile", "public").returncode == 0


def test_no_way_to_get_a_token_says_which_properties_to_set(helper: Helper) -> None:
    line = _one_line_error(helper.run("token"), 2)
    assert "no way to get a token" in line
    for name in ("OAuthClientId", "OAuthAccessTokenURL", "--profile"):
        assert name in line


def test_provider_failure_exits_3_with_its_error_code_and_no_secret(helper: Helper) -> None:
    secret = "wrong-secret-value"
    helper.write_profiles({"demo": helper.demo_profile(OAuthClientSecret=secret)})
    result = helper.run("token", "--profile", "demo")
    line = _one_line_error(result, 3)
    assert "OAuthError" in line and "invalid_client" in line
    assert secret not in result.stderr
    debug = helper.run("token", "--profile", "demo", "--debug")
    assert debug.returncode == 3 and "Traceback" in debug.stderr
    assert secret not in debug.stderr


def test_network_failure_exits_3(helper: Helper) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # closed again: nothing listens there
    helper.write_profiles({"demo": helper.demo_profile(
        OAuthAccessTokenURL=f"http://127.0.0.1:{port}/token")})
    line = _one_line_error(helper.run("token", "--profile", "demo"), 3)
    assert "OperationalError" in line


def test_ctrl_c_exits_130(helper: Helper) -> None:
    with socket.socket() as silent:  # accepts the request and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        helper.write_profiles({"demo": helper.demo_profile(
            OAuthAccessTokenURL=f"http://127.0.0.1:{silent.getsockname()[1]}/token")})
        child = subprocess.Popen([console_script(), "token", "--profile", "demo"],
                                 env={**os.environ, **helper.env}, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            silent.settimeout(60)
            connection, _ = silent.accept()  # the child is waiting for the provider now
            with connection:
                child.send_signal(signal.SIGINT)
                stdout, stderr = child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert child.returncode == 130, stderr
    assert stdout == ""
    assert stderr.strip() == "cdata-oauth: interrupted"


def test_login_with_the_code_grant_signs_in_through_the_browser(helper: Helper) -> None:
    curl = shutil.which("curl")
    if curl is None:
        missing("curl", "apt-get install curl")
    browser = helper.folder / "browser"  # follows the provider's redirect to the listener
    browser.write_text(f'#!/bin/sh\n{curl} -s -L -o /dev/null "$1" &\n', encoding="utf-8")
    browser.chmod(0o755)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    helper.write_profiles({"work": helper.demo_profile(
        GrantType="CODE", OAuthClientSecret=helper.provider.client_secret,
        CallbackURL=f"http://127.0.0.1:{port}/callback")})
    login = run_cli("login", "--profile", "work", env={**helper.env, "BROWSER": str(browser)})
    assert login.returncode == 0, login.stderr
    assert "GrantType=CODE" in login.stdout
    assert helper.provider.grant_counts["authorization_code"] == 1
    status = helper.run("status", "--profile", "work")
    assert "refresh token: held" in status.stdout
    token = helper.run("token", "--profile", "work")  # no browser now: the stored token
    assert helper.provider.is_access_token_valid(token.stdout.strip())
    assert helper.provider.grant_counts["authorization_code"] == 1
