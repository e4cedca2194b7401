"""GetOAuthAuthorizationURL (OAuth 2.0): fresh state and PKCE verifier on every call, the
S256 challenge of RFC 7636, and the URL oauthlib builds for the same inputs."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import cdata_oauth

AUTHORIZE = "https://login.example/authorize"
URL_SAFE_43 = re.compile(r"[A-Za-z0-9_-]{43}")  # 256 bits, base64url without padding


def authorization_row(statement: str = "EXEC GetOAuthAuthorizationURL",
                      **properties: Any) -> dict[str, Any]:
    settings = {"OAuthVersion": "2.0", "OAuthClientId": "client-1",
                "OAuthAuthorizationURL": AUTHORIZE, **properties}
    with cdata_oauth.connect(**settings) as conn:
        cursor = conn.execute(statement)
        row = cursor.fetchone()
        assert row is not None
        return {d[0]: value for d, value in zip(cursor.description, row, strict=True)}


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def test_verifier_is_43_url_safe_characters_and_new_on_every_call() -> None:
    with cdata_oauth.connect(OAuthVersion="2.0", OAuthClientId="client-1",
                             OAuthAuthorizationURL=AUTHORIZE) as conn:
        rows = [conn.execute("EXEC GetOAuthAuthorizationURL Scope='read'").fetchone()
                for _ in range(50)]
    verifiers = [row[2] for row in rows if row is not None]
    states = [row[1] for row in rows if row is not None]
    assert len(verifiers) == len(states) == 50
    for verifier, state in zip(verifiers, states, strict=True):
        assert URL_SAFE_43.fullmatch(verifier), verifier  # RFC 7636: 43..128 unreserved
        assert URL_SAFE_43.fullmatch(state), state
    assert len(set(verifiers)) == 50 and len(set(states)) == 50
    assert not set(verifiers) & set(states)


def test_url_carries_the_s256_challenge_of_the_returned_verifier() -> None:
    row = authorization_row()
    query = parse_qs(urlsplit(row["URL"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] == [s256(row["PKCEVerifier"])]
    assert query["state"] == [row["State"]]


def test_s256_is_the_rfc_7636_transform() -> None:
    """RFC 7636 appendix B: the verifier dBjf... gives the challenge E9Mel..."""
    from cdata_oauth.oauth.oauth2 import _s256_challenge

    assert _s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == \
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_plain_pkce_sends_the_verifier_and_off_sends_none() -> None:
    plain = authorization_row(OtherOptions="PKCE=PLAIN")
    query = parse_qs(urlsplit(plain["URL"]).query)
    assert query["code_challenge"] == [plain["PKCEVerifier"]]
    assert query["code_challenge_method"] == ["plain"]
    off = authorization_row(OtherOptions="PKCE=OFF")
    assert off["PKCEVerifier"] is None
    assert "code_challenge" not in parse_qs(urlsplit(off["URL"]).query)


CASES = [
    ({}, "EXEC GetOAuthAuthorizationURL"),
    ({}, "EXEC GetOAuthAuthorizationURL Scope='read write', [OAuthParam:prompt]='consent'"),
    ({"OAuthAuthorizationURL": AUTHORIZE + "?tenant=a%20b&x=1#frag"},
     "EXEC GetOAuthAuthorizationURL Scope='openid email'"),
    ({"CallbackURL": "https://app.example/cb?next=/home"},
     "EXEC GetOAuthAuthorizationURL State='given state&=/?', [OAuthParam:login_hint]='é@x'"),
    ({"OtherOptions": "PKCE=PLAIN"}, "EXEC GetOAuthAuthorizationURL [OAuthParam:empty]=''"),
    ({"OtherOptions": "PKCE=OFF"}, "EXEC GetOAuthAuthorizationURL Scope='s'"),
]


@pytest.mark.parametrize(("properties", "statement"), CASES)
def test_url_is_the_one_oauthlib_builds_for_the_same_inputs(properties: dict[str, Any],
                                                             statement: str) -> None:
    """Built twice (the second from the cached template), each URL is exactly what
    oauthlib's WebApplicationClient gives for that call's state and challenge."""
    from oauthlib.oauth2 import WebApplicationClient

    for _ in range(2):
        row = authorization_row(statement, **properties)
        query = parse_qs(urlsplit(row["URL"]).query, keep_blank_values=True)
        extra = {k: v[0] for k, v in query.items() if k in ("prompt", "login_hint", "empty")}
        verifier = row["PKCEVerifier"]
        method = query.get("code_challenge_method", [None])[0]
        challenge = None if verifier is None else s256(verifier) if method == "S256" \
            else verifier
        expected = WebApplicationClient("client-1").prepare_request_uri(
            properties.get("OAuthAuthorizationURL", AUTHORIZE),
            redirect_uri=properties.get("CallbackURL"), scope=query.get("scope", [None])[0],
            state=row["State"], code_challenge=challenge, code_challenge_method=method,
            **extra)
        assert row["URL"] == expected


def test_a_refused_url_stays_refused_and_the_option_is_honoured_each_time() -> None:
    insecure = "http://login.example/authorize"
    for _ in range(2):
        with pytest.raises(cdata_oauth.ProgrammingError, match="plain http"):
            authorization_row(OAuthAuthorizationURL=insecure)
    allowed = authorization_row(OAuthAuthorizationURL=insecure,
                                OtherOptions="AllowInsecureHTTP=TRUE")
    assert allowed["URL"].startswith(insecure + "?")
    with pytest.raises(cdata_oauth.ProgrammingError, match="plain http"):
        authorization_row(OAuthAuthorizationURL=insecure)
