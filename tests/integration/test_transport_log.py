"""LogFile and the 'cdata_oauth' logger: a full OAuth 2.0 flow (authorization code with
PKCE in WEB mode, password grant, refresh) through an authenticating squid, with every
secret of it looked for in both outputs; none may appear."""

from __future__ import annotations

import base64
import logging
import os
import re
import stat
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

import cdata_oauth
from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.provider import EmbeddedProvider
from cdata_oauth.redaction import mask_body, mask_headers, mask_url
from tests.servers.squid import Squid
from tests.transport_support import row_of, transport

WEB_CALLBACK = "https://app.example/oauth/callback"


def run_full_flow(p: EmbeddedProvider, squid: Squid, log_file: Path) -> list[str]:
    """Runs the flow; returns every secret value it used or received."""
    p.register_client(p.client_id, p.client_secret, redirect_uris=(WEB_CALLBACK,))
    props: dict[str, Any] = p.connection_properties(
        Timeout=30, CallbackURL=WEB_CALLBACK, LogFile=str(log_file),
        Proxy_Server="127.0.0.1", Proxy_Port=squid.ports["basic"],
        Proxy_User=squid.basic_user, Proxy_Password=squid.basic_password)
    used = [p.client_secret, p.password, squid.basic_password,
            base64.b64encode(f"{p.client_id}:{p.client_secret}".encode()).decode(),
            base64.b64encode(f"{squid.basic_user}:{squid.basic_password}".encode()).decode()]
    with cdata_oauth.connect(**props) as conn:
        step1 = row_of(conn.execute("EXEC GetOAuthAuthorizationURL"))
        with requests.Session() as browser:
            browser.trust_env = False
            landed = browser.get(step1["URL"], allow_redirects=False).headers["Location"]
        code = dict(parse_qsl(urlsplit(landed).query))["code"]
        used += [code, step1["PKCEVerifier"]]
        rows = [row_of(conn.execute("EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?",
                                    (landed,)))]
        rows.append(row_of(conn.execute(
            "EXEC GetOAuthAccessToken GrantType='PASSWORD', User=?, Password=?",
            (p.user, p.password))))
        rows.append(row_of(conn.execute("EXEC RefreshOAuthAccessToken OAuthRefreshToken=?",
                                        (rows[-1]["OAuthRefreshToken"],))))
    for row in rows:
        used += [row["OAuthAccessToken"], row["OAuthRefreshToken"]]
    assert p.grant_counts == {"authorization_code": 1, "password": 1, "refresh_token": 1}
    return [u for u in used if u]


def test_full_flow_logs_everything_but_the_secrets(
        fresh_provider: EmbeddedProvider, squid: Squid, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    log_file = tmp_path / "http.log"
    mark = squid.mark()
    with caplog.at_level(logging.DEBUG, logger="cdata_oauth"):
        used = run_full_flow(fresh_provider, squid, log_file)
    assert any(f"POST {fresh_provider.token_url} 200" in line
               for line in squid.lines_since(mark, "POST"))  # it went through the proxy
    text = log_file.read_text()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in used:
        assert secret not in text, "a secret reached the LogFile"
        assert secret not in logged, "a secret reached the logger"
    # ... and the records are there: method, URL, status, headers, bodies, timestamps
    assert text.count(f">>> POST {fresh_provider.token_url}") == 3
    assert len(re.findall(r"<<< 200 OK \(POST ", text)) == 3
    assert re.search(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00\] >>> POST ", text, re.M)
    assert "\nAuthorization: Basic ********" in text
    assert "\nProxy-Authorization: Basic ********" in text
    assert "grant_type=authorization_code" in text and "code=********" in text
    assert "code_verifier=********" in text and "password=********" in text
    assert '"access_token": "********"' in text and '"token_type": "Bearer"' in text
    assert ">>> POST" in logged and "<<< 200" in logged


def test_log_file_is_owner_only_and_appended(http_token_server: Any, tmp_path: Path) -> None:
    log_file = tmp_path / "t.log"
    for _ in range(2):
        t = transport(LogFile=str(log_file))
        t.request("GET", http_token_server.base_url + "/hello?refresh_token=abc123secret")
        t.close()
    assert stat.S_IMODE(os.stat(log_file).st_mode) == 0o600
    text = log_file.read_text()
    assert text.count(">>> GET ") == 2 and "abc123secret" not in text
    assert "refresh_token=********" in text


def test_log_file_in_a_missing_folder_is_a_clear_error(http_token_server: Any,
                                                       tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "http.log"
    with pytest.raises(ProgrammingError) as raised:
        transport(LogFile=str(missing))
    assert "LogFile" in str(raised.value) and "does not exist" in str(raised.value)


def test_failures_are_logged_too(tmp_path: Path) -> None:
    from tests.servers.squid import free_port

    log_file = tmp_path / "f.log"
    t = transport(LogFile=str(log_file))
    with pytest.raises(cdata_oauth.OperationalError):
        t.request("POST", f"http://127.0.0.1:{free_port()}/token",
                  data={"client_secret": "s3cr3t!"})
    text = log_file.read_text()
    assert "!!! POST" in text and "connection refused" in text and "s3cr3t!" not in text


@pytest.mark.parametrize(("raw", "hidden"), [
    ("https://h/cb?code=abc123&state=xyz", "abc123"),
    ("https://user:pw123@h/x", "pw123"),
    ("https://h/t?access_token=tok999&x=1", "tok999"),
    ("https://h/t?oauth_signature=sig%2B777&oauth_token=ot555", "ot555"),
])
def test_mask_url(raw: str, hidden: str) -> None:
    shown = mask_url(raw)
    assert hidden not in shown and "********" in shown


def test_mask_bodies_and_headers() -> None:
    form = mask_body(b"grant_type=refresh_token&refresh_token=rt42&client_secret=cs42",
                     "application/x-www-form-urlencoded")
    assert "rt42" not in form and "cs42" not in form and "grant_type=refresh_token" in form
    js = mask_body(b'{"access_token":"at42","nested":{"id_token":"it42"},"expires_in":5}',
                   "application/json")
    assert "at42" not in js and "it42" not in js and '"expires_in": 5' in js
    oauth1 = mask_body(b"oauth_token=ot42&oauth_token_secret=ots42&oauth_callback_confirmed=true",
                       "text/plain")
    assert "ot42" not in oauth1 and "ots42" not in oauth1 and "confirmed=true" in oauth1
    text = mask_body(b'error: {"refresh_token": "rt43"} bad', "text/html")
    assert "rt43" not in text
    lines = mask_headers({"Authorization": 'OAuth oauth_signature="sg42"',
                          "Proxy-Authorization": "Digest username=\"u\", response=\"r42\"",
                          "Location": "https://cb/?code=c42", "Content-Type": "text/plain"})
    joined = "\n".join(lines)
    for secret in ("sg42", "r42", "c42"):
        assert secret not in joined
    assert "Content-Type: text/plain" in joined
