"""RFC 9207 against a server of ours, in WEB mode (the callback URL given as Verifier) and
APP mode (the loopback callback):
an ``iss`` naming another server is refused before any token request, and so is a missing
``iss`` when the metadata says the server always sends it."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

import cdata_oauth
from tests.servers.metadata_server import MetadataServer
from tests.servers.oauth2_mock import execute_row

from .test_discovery import TOKEN, props, served
from .test_oauth2_app import Background, printed_url


def exchange(issuer: str, **callback: str) -> list[tuple[Any, ...]]:
    url = "http://127.0.0.1:5555/callback?" + urlencode({"code": "the-code-4Q", **callback})
    with cdata_oauth.connect(**props(issuer, CallbackURL="http://127.0.0.1:5555/callback")
                             ) as conn:
        return conn.execute("EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?",
                            (url,)).fetchall()


def test_an_iss_naming_another_server_is_refused_and_no_token_is_requested(
        metadata_server: MetadataServer) -> None:
    issuer = served(metadata_server)
    metadata_server.serve("POST", issuer + "/token", body=TOKEN)
    other = "https://attacker.example"
    with pytest.raises(cdata_oauth.OperationalError) as caught:
        exchange(issuer, iss=other)
    message = str(caught.value)
    assert other in message and issuer in message and "mix-up" in message
    assert "the-code-4Q" not in message
    assert metadata_server.posts(issuer + "/token") == []


def test_the_right_iss_is_accepted(metadata_server: MetadataServer) -> None:
    issuer = served(metadata_server, authorization_response_iss_parameter_supported=True)
    metadata_server.serve("POST", issuer + "/token", body=TOKEN)
    assert exchange(issuer, iss=issuer)[0][0] == TOKEN["access_token"]


def test_a_missing_iss_is_refused_when_the_server_says_it_always_sends_one(
        metadata_server: MetadataServer) -> None:
    issuer = served(metadata_server, authorization_response_iss_parameter_supported=True)
    metadata_server.serve("POST", issuer + "/token", body=TOKEN)
    with pytest.raises(cdata_oauth.OperationalError,
                       match="authorization_response_iss_parameter_supported"):
        exchange(issuer)
    assert metadata_server.posts(issuer + "/token") == []


def test_a_missing_iss_is_accepted_from_a_server_that_does_not_promise_one(
        metadata_server: MetadataServer) -> None:
    issuer = served(metadata_server)
    metadata_server.serve("POST", issuer + "/token", body=TOKEN)
    assert exchange(issuer)[0][0] == TOKEN["access_token"]


def test_an_error_response_from_another_issuer_is_reported_as_a_mix_up(
        metadata_server: MetadataServer) -> None:
    issuer = served(metadata_server)
    with pytest.raises(cdata_oauth.OperationalError, match="mix-up") as caught:
        exchange(issuer, error="access_denied", iss="https://attacker.example")
    assert not isinstance(caught.value, cdata_oauth.OAuthError)


def test_app_mode_refuses_a_loopback_callback_naming_another_issuer(
        metadata_server: MetadataServer, no_browser: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    issuer = served(metadata_server)
    metadata_server.serve("POST", issuer + "/token", body=TOKEN)
    properties = props(issuer, CallbackURL="http://127.0.0.1:0/callback")
    job = Background(lambda: execute_row(cdata_oauth.connect(**properties),
                                         "EXEC GetOAuthAccessToken AuthMode='APP'"))
    url = printed_url(capsys, job)
    query = parse_qs(urlsplit(url).query)
    requests.get(query["redirect_uri"][0], timeout=10, params={
        "code": "loopback-code", "state": query["state"][0], "iss": "https://attacker.example"})
    with pytest.raises(cdata_oauth.OperationalError, match="mix-up") as caught:
        job.result()
    assert "https://attacker.example" in str(caught.value) and issuer in str(caught.value)
    assert metadata_server.posts(issuer + "/token") == []
