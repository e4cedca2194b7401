"""A URL quoted in an error message is masked as LogFile masks it: a secret in its query,
its fragment or its user:password@ never shows, whatever refused the URL (its scheme,
plain http to a remote host, a bad port, a character a URL may not hold, a malformed
host) and whichever property held it; the message still names the property and shows the
rest of the URL. A network failure masks the URL in its message and in the cause chain a
printed traceback shows."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import pytest

import cdata_oauth
from cdata_oauth.exceptions import Error, OperationalError, ProgrammingError
from cdata_oauth.redaction import MASK
from tests.integration.test_url_policy import props
from tests.servers.hostile import HostileServer, ScriptedBrowser, refused_port

SECRET = "TOPSECRET"

#: Where the secret sits in the URL: {scheme}, {host}, {path} are filled per refusal.
PLACES = {
    "query": "{scheme}://{host}{path}?client_secret=" + SECRET + "&next=1",
    "userinfo": "{scheme}://user:" + SECRET + "@{host}{path}",
    "fragment": "{scheme}://{host}{path}#access_token=" + SECRET + "&state=1",
    "api key": "{scheme}://{host}{path}?key=" + SECRET + "&api_key=" + SECRET + "&next=1",
}
#: Why the URL is refused: (scheme, host, path, words of the message).
REFUSALS = {
    "scheme": ("ftp", "h.example", "/token", "not an http(s) URL"),
    "plain http": ("http", "remote.example", "/token", "plain http to remote.example"),
    "port": ("https", "h.example:99999", "/token", "malformed"),
    "space": ("https", "h.example", "/to ken", "' '"),
    "host": ("https", "[h.example", "/token", "malformed"),
}
#: (URL property, statement, other settings) for each property a URL policy checks.
PROPERTIES = {
    "OAuthAccessTokenURL": ("EXEC GetOAuthAccessToken GrantType='CLIENT'", {}),
    "OAuthRefreshTokenURL": ("EXEC RefreshOAuthAccessToken OAuthRefreshToken='rt-1'", {}),
    "OAuthAuthorizationURL": ("EXEC GetOAuthAuthorizationURL", {}),
    "OAuthRequestTokenURL": ("EXEC GetOAuthAuthorizationURL", {"OAuthVersion": "1.0"}),
    "OAuthAccessTokenURL (1.0a)": (
        "EXEC GetOAuthAccessToken AuthMode='WEB', Verifier='verifier-1', "
        "OAuthAccessToken='request-token-1', OAuthAccessTokenSecret='request-secret-1'",
        {"OAuthVersion": "1.0"}),
}


def url(place: str, refusal: str) -> str:
    scheme, host, path, _ = REFUSALS[refusal]
    return PLACES[place].format(scheme=scheme, host=host, path=path)


def shown(error: Error) -> str:
    """Everything a user may see of the error: message, repr, the printed traceback."""
    return "\n".join([str(error), repr(error), "".join(traceback.format_exception(error))])


def refusal(server: HostileServer, statement: str, **extra: Any) -> ProgrammingError:
    """The ProgrammingError of the statement; asserts that nothing reached the server."""
    with pytest.raises(ProgrammingError) as caught, \
            cdata_oauth.connect(**props(server, **extra)) as conn:
        conn.execute(statement)
    assert server.received == []
    return caught.value


@pytest.mark.parametrize("refusal_kind", REFUSALS)
@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("prop", PROPERTIES)
def test_a_refused_provider_url_is_quoted_masked(other_host: HostileServer, prop: str,
                                                 place: str, refusal_kind: str) -> None:
    statement, settings = PROPERTIES[prop]
    name = prop.split()[0]
    given = {"OAuthRequestTokenURL": other_host.url("/request_token"), **settings,
             name: url(place, refusal_kind)}
    error = refusal(other_host, statement, **given)
    message = str(error)
    assert SECRET not in shown(error), message
    assert name in message and REFUSALS[refusal_kind][3] in message, message
    if refusal_kind != "plain http":  # that message names the host, not the URL
        assert MASK in message and "/to" in message, message


CALLBACKS = {  # CallbackURL takes any absolute URL, so fewer forms are refused
    "not absolute": "http://user:" + SECRET + "@/cb?client_secret=" + SECRET,
    "port": "http://user:" + SECRET + "@127.0.0.1:99999/cb#access_token=" + SECRET,
    "space": "http://127.0.0.1:0/c b?client_secret=" + SECRET,
    "host": "http://user:" + SECRET + "@[::1/cb?code=" + SECRET,
}


@pytest.mark.parametrize("callback", CALLBACKS.values(), ids=list(CALLBACKS))
@pytest.mark.parametrize("statement", [
    "EXEC GetOAuthAuthorizationURL",
    "EXEC GetOAuthAccessToken GrantType='CODE', AuthMode='WEB', Verifier='code-1'",
    "EXEC GetOAuthAccessToken GrantType='CODE', AuthMode='APP'",
])
def test_a_refused_callback_url_is_quoted_masked(
        other_host: HostileServer, scripted_browser: ScriptedBrowser, callback: str,
        statement: str) -> None:
    error = refusal(other_host, statement, CallbackURL=callback)
    assert SECRET not in shown(error), str(error)
    assert "CallbackURL" in str(error) and MASK in str(error), str(error)
    assert scripted_browser.opened == []


@pytest.mark.parametrize("version", ["2.0", "1.0"])
def test_a_callback_url_app_mode_cannot_serve_is_quoted_masked(
        other_host: HostileServer, version: str) -> None:
    callback = (f"https://user:{SECRET}@app.example/cb?client_secret={SECRET}"
                f"#access_token={SECRET}")
    error = refusal(other_host, "EXEC GetOAuthAccessToken AuthMode='APP'",
                    OAuthVersion=version, CallbackURL=callback,
                    OAuthRequestTokenURL=other_host.url("/request_token"))
    message = str(error)
    assert SECRET not in shown(error) and "cannot be served" in message, message
    assert f"https://{MASK}@app.example/cb?client_secret={MASK}" in message, message


@pytest.mark.parametrize(("settings", "name"), [
    ({"Proxy_Server": f"http://user:{SECRET}@proxy.example:3128/?client_secret={SECRET}",
      "Proxy_Port": 3128}, "Proxy_Server"),
    ({"Proxy_Server": f"user:{SECRET}@proxy.example", "Proxy_Port": 3128}, "Proxy_Server"),
    ({"Firewall_Type": "SOCKS5", "Firewall_Server": f"socks5://user:{SECRET}@fw.example",
      "Firewall_Port": 1080}, "Firewall_Server"),
    ({"Firewall_Server": f"user:{SECRET}@fw.example"}, "Firewall_Server"),
])
def test_a_proxy_or_firewall_given_as_a_url_with_credentials_is_quoted_masked(
        other_host: HostileServer, settings: dict[str, Any], name: str) -> None:
    error = refusal(other_host, "EXEC GetOAuthAccessToken GrantType='CLIENT'", **settings)
    message = str(error)
    assert SECRET not in shown(error), message
    assert name in message and f"{MASK}@" in message and ".example" in message, message


@pytest.mark.parametrize(("version", "prop", "statement"), [
    ("2.0", "OAuthAccessTokenURL", "EXEC GetOAuthAccessToken GrantType='CLIENT'"),
    ("1.0", "OAuthRequestTokenURL", "EXEC GetOAuthAuthorizationURL"),
])
def test_a_network_failure_masks_the_url_in_its_message_cause_and_log(
        other_host: HostileServer, tmp_path: Path, version: str, prop: str,
        statement: str) -> None:
    closed = f"http://127.0.0.1:{refused_port()}/token?client_secret={SECRET}&next=1"
    log_file = tmp_path / "http.log"
    with pytest.raises(OperationalError) as caught, cdata_oauth.connect(**props(
            other_host, OAuthVersion=version, LogFile=str(log_file), **{prop: closed})) as conn:
        conn.execute(statement)
    error = caught.value
    assert "connection refused" in str(error) and "127.0.0.1" in str(error)
    assert SECRET not in shown(error), shown(error)
    printed = "".join(traceback.format_exception(error))
    assert f"client_secret={MASK}" in printed  # the cause is kept, masked
    assert SECRET not in log_file.read_text() and "failed" in log_file.read_text()
