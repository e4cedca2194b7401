"""``cdata-oauth token``: print a valid access token, as a credential helper does.

    curl -H "$(cdata-oauth token --format header --profile demo)" https://api.example/me

The fast path opens the token store the properties name and prints a token that is not
due, without a connection: no sqlglot, requests or oauthlib is imported, so the command
answers in about the time Python takes to start. Only a token that is due (or missing)
makes it connect, with ``InitiateOAuth=GETANDREFRESH`` unless another mode is given, and
renew through the connection's single-flight lifecycle.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from cdata_oauth import connect
from cdata_oauth.cli.options import (
    PROG,
    Parser,
    add_connection_options,
    guarded,
    parse,
    properties_of,
)
from cdata_oauth.config.properties import ConnectionProperties
from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.tokens.lifecycle import DEFAULT_LEEWAY, store_of
from cdata_oauth.tokens.stores import Token

__all__ = ["FORMATS", "fresh_token", "main", "obtain_token", "render_token"]

FORMATS = ("plain", "json", "header")
DEFAULTS = {"InitiateOAuth": "GETANDREFRESH"}
"""What this command assumes where the options and the profile say nothing."""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=f"{PROG} token",
        description="Print a valid access token on stdout, obtaining or refreshing it as "
                    "InitiateOAuth says (default GETANDREFRESH) and keeping it in the token "
                    "store (default: the app's file in the config folder).")
    add_connection_options(parser)
    parser.add_argument("-f", "--format", choices=FORMATS, default="plain",
                        help="plain: the token; json: access_token, token_type, expires_at, "
                             "scope; header: 'Authorization: Bearer <token>'")
    return parser


def fresh_token(properties: ConnectionProperties,
                leeway: float = DEFAULT_LEEWAY) -> Token | None:
    """The stored token when it is not due; None when it must be obtained or renewed.
    Reads the store only: no connection, no network."""
    if str(properties.get("InitiateOAuth") or "OFF") == "OFF" \
            and not properties.get("OAuthSettingsLocation"):
        return None  # tokens live with a connection: there is nothing stored to read
    token = store_of(properties).load()
    if token is None or token.is_due(leeway):
        return None
    return token


def obtain_token(properties: ConnectionProperties) -> Token:
    """Connect (which signs in or refreshes as InitiateOAuth says) and take the current
    token of the connection's lifecycle."""
    _check_configured(properties)
    with connect(**dict(properties)) as connection:
        token: Token = connection.tokens.current()
        return token


def _check_configured(properties: ConnectionProperties) -> None:
    """No stored token and nothing that could get one: say which properties to set."""
    can_get = any(properties.get(name) for name in (
        "OAuthClientId", "OAuthAccessToken", "OAuthRefreshToken", "OAuthVerifier"))
    if can_get:
        return
    where = store_of(properties).location or "this connection"
    raise ProgrammingError(
        f"There is no way to get a token: none is stored in {where} and no provider is "
        "configured. Set OAuthVersion=2.0, OAuthClientId and OAuthAccessTokenURL (with "
        "OAuthClientSecret and GrantType=CLIENT for a service, or OAuthAuthorizationURL and "
        "CallbackURL to sign in in a browser), in a profile (--profile NAME) or with -c/-p.")


def render_token(token: Token, fmt: str) -> str:
    """The token as the format says, ending in a newline."""
    assert token.access_token is not None
    kind = token.token_type if token.token_type and token.token_type.lower() != "bearer" \
        else "Bearer"
    if fmt == "header":
        return f"Authorization: {kind} {token.access_token}\n"
    if fmt == "json":
        expires_at = token.expires_at
        return json.dumps({
            "access_token": token.access_token,
            "token_type": kind,
            "expires_at": None if expires_at is None else iso_utc(expires_at),
            "scope": token.scope,
        }) + "\n"
    return token.access_token + "\n"


def iso_utc(moment: float) -> str:
    """ISO 8601 in UTC, to the second (``2026-12-02T16:00:00Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def main(argv: Sequence[str]) -> int:
    """``cdata-oauth token [options]``; returns the exit status."""
    args = parse(build_parser(), argv)
    if isinstance(args, int):
        return args

    def body() -> int:
        properties = properties_of(args, **DEFAULTS)
        token = fresh_token(properties) or obtain_token(properties)
        sys.stdout.write(render_token(token, args.format))
        return 0

    return guarded(body, args)
