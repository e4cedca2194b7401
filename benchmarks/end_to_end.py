"""Benchmark 2: a token request end to end, against calling the libraries by hand.

Every contender talks to the same loopback token endpoint (HTTP/1.1, keep-alive, one fixed
JSON token, in its own process) over one reused session, authenticates the client with
HTTP Basic as the connector does, and reads the access token from the answer:

- ``EXEC RefreshOAuthAccessToken`` / ``EXEC GetOAuthAccessToken GrantType='CLIENT'``
- requests-oauthlib ``OAuth2Session.refresh_token`` / ``.fetch_token`` (BackendApplicationClient)
- Authlib's requests ``OAuth2Session.refresh_token`` / ``.fetch_token``
- a bare ``requests.Session().post`` of the same form, then ``.json()`` (the reference)

Targets: <= 1.10x the bare post, and faster than both libraries.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable

import cdata_oauth

from .harness import Options, Row, Stats, interleave, ratio_rows
from .tokenserver import ACCESS_TOKEN, REFRESH_TOKEN, TokenServer

NAME = "end_to_end"
BENCH = "2 end to end"
CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"
OURS = "cdata_oauth EXEC"
REQUESTS_OAUTHLIB = "requests-oauthlib OAuth2Session"
AUTHLIB = "Authlib OAuth2Session"
BARE = "bare requests.Session().post"
TARGETS = {OURS: ("<= 1.10x bare post", 1.10, BARE)}


def _check(token: object) -> None:
    """Each contender must really have fetched the token (a silent no-op would be fast)."""
    if not isinstance(token, dict) or token.get("access_token") != ACCESS_TOKEN:
        raise AssertionError(f"unexpected token answer: {token!r}")


def _contenders(token_url: str, grant: str) -> tuple[dict[str, Callable[[int], object]],
                                                      list[Callable[[], None]]]:
    """(name -> one call, closers) for one grant: "refresh" or "client"."""
    import requests
    from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
    from oauthlib.oauth2 import BackendApplicationClient
    from requests.auth import HTTPBasicAuth
    from requests_oauthlib import OAuth2Session

    connection = cdata_oauth.connect(
        OAuthVersion="2.0", OAuthClientId=CLIENT_ID, OAuthClientSecret=CLIENT_SECRET,
        OAuthAccessTokenURL=token_url)
    cursor = connection.cursor()
    basic = HTTPBasicAuth(CLIENT_ID, CLIENT_SECRET)
    bare = requests.Session()
    authlib = AuthlibSession(CLIENT_ID, CLIENT_SECRET,
                             token_endpoint_auth_method="client_secret_basic")
    if grant == "refresh":
        oauthlib_session = OAuth2Session(CLIENT_ID)
        statement = f"EXEC RefreshOAuthAccessToken OAuthRefreshToken='{REFRESH_TOKEN}'"
        form = {"grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN}

        def by_oauthlib(_: int) -> None:
            _check(oauthlib_session.refresh_token(token_url, refresh_token=REFRESH_TOKEN,
                                                  auth=basic))

        def by_authlib(_: int) -> None:
            _check(dict(authlib.refresh_token(token_url, refresh_token=REFRESH_TOKEN)))
    else:
        oauthlib_session = OAuth2Session(client=BackendApplicationClient(client_id=CLIENT_ID))
        statement = "EXEC GetOAuthAccessToken GrantType='CLIENT'"
        form = {"grant_type": "client_credentials"}

        def by_oauthlib(_: int) -> None:
            _check(oauthlib_session.fetch_token(token_url, auth=basic))

        def by_authlib(_: int) -> None:
            _check(dict(authlib.fetch_token(token_url, grant_type="client_credentials")))

    def by_connector(_: int) -> None:
        row = cursor.execute(statement).fetchone()
        columns = [d[0] for d in cursor.description or ()]
        if row is None or row[columns.index("OAuthAccessToken")] != ACCESS_TOKEN:
            raise AssertionError(f"unexpected row: {row!r}")

    def by_bare_post(_: int) -> None:
        _check(bare.post(token_url, data=form, auth=basic,
                         headers={"Accept": "application/json"}).json())

    contenders: dict[str, Callable[[int], object]] = {
        OURS: by_connector, REQUESTS_OAUTHLIB: by_oauthlib, AUTHLIB: by_authlib,
        BARE: by_bare_post}
    closers = [connection.close, bare.close, oauthlib_session.close, authlib.close]
    return contenders, closers


def _rows(case: str, measured: dict[str, Stats]) -> list[Row]:
    rows = ratio_rows(BENCH, case, measured, BARE, TARGETS)
    ours = measured[OURS].median
    faster = ours < measured[REQUESTS_OAUTHLIB].median and ours < measured[AUTHLIB].median
    rows.append(Row(BENCH, case, "cdata_oauth vs both libraries", None,
                    target="faster than both", ok=faster,
                    note=f"{ours / measured[REQUESTS_OAUTHLIB].median:.2f}x requests-oauthlib, "
                         f"{ours / measured[AUTHLIB].median:.2f}x Authlib"))
    return rows


def run(opts: Options) -> list[Row]:
    # The libraries refuse http:// unless told; the endpoint is loopback-only.
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
    # Sessions keep their defaults (they read the environment); should it name a proxy,
    # loopback must still not go through it.
    if any(k.lower().endswith("_proxy") and k.lower() != "no_proxy" for k in os.environ):
        for name in ("NO_PROXY", "no_proxy"):
            os.environ[name] = ",".join(filter(None, ["127.0.0.1", os.environ.get(name)]))
    rows: list[Row] = []
    with TokenServer() as server, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. oauthlib's scope-change warnings
        for grant, case in (("refresh", "RefreshOAuthAccessToken"),
                            ("client", "GrantType='CLIENT'")):
            contenders, closers = _contenders(server.token_url, grant)
            try:
                measured = interleave(contenders, rounds=opts.n(1500, 20),
                                      warmup=opts.n(50, 3))
            finally:
                for close in closers:
                    close()
            rows += _rows(case, measured)
    return rows
