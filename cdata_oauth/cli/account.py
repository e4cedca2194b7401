"""``cdata-oauth login``, ``logout`` and ``status``: sign in now, sign out, and show what
is stored, never a token.

All three find the token store as ``cdata-oauth token`` does (``InitiateOAuth`` defaults
to GETANDREFRESH, so with no ``OAuthSettingsLocation`` it is the app's default file), so
that a login serves every later ``token`` and Python connection of the same app.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from cdata_oauth import connect
from cdata_oauth.cli.options import PROG, Parser, add_connection_options, guarded, parse
from cdata_oauth.cli.options import properties_of as _properties_of
from cdata_oauth.cli.token import DEFAULTS, iso_utc
from cdata_oauth.config.properties import ConnectionProperties
from cdata_oauth.redaction import mask_url
from cdata_oauth.tokens.lifecycle import store_of
from cdata_oauth.tokens.stores import Token, TokenStore

__all__ = ["login", "logout", "status"]

REVOKE_PROCEDURE = "RevokeOAuthToken"
REVOCATION_PROPERTIES = ("OAuthRevocationURL", "OAuthIssuer")
"""Properties that make a revocation endpoint known (the URL, or discovery by issuer)."""


def _parser(command: str, description: str) -> argparse.ArgumentParser:
    parser = Parser(prog=f"{PROG} {command}", description=description)
    add_connection_options(parser)
    return parser


def _properties(args: argparse.Namespace) -> ConnectionProperties:
    return _properties_of(args, **DEFAULTS)


def _offline(properties: ConnectionProperties, store: TokenStore) -> ConnectionProperties:
    """The properties of a connection that uses the same store and renews nothing by
    itself: login and logout run their procedures explicitly."""
    return properties.replace(InitiateOAuth="OFF",
                              OAuthSettingsLocation=store.location or None)


def _where(store: TokenStore) -> str:
    return mask_url(store.location) if store.location else "this process only"


def _command(argv: Sequence[str], parser: argparse.ArgumentParser,
             body: Callable[[argparse.Namespace], int]) -> int:
    args = parse(parser, argv)
    if isinstance(args, int):
        return args
    return guarded(lambda: body(args), args)


# login


def login(argv: Sequence[str]) -> int:
    """``cdata-oauth login``: run the sign-in now and store the tokens."""
    parser = _parser("login", "Sign in now with the configured grant (GrantType: CODE opens "
                              "a browser, DEVICE where available shows a code; CLIENT and "
                              "PASSWORD need no person) and store the tokens.")
    return _command(argv, parser, _login)


def _login(args: argparse.Namespace) -> int:
    properties = _properties(args)
    store = store_of(properties)
    with connect(**dict(_offline(properties, store))) as connection:
        connection.execute("EXEC GetOAuthAccessToken").fetchall()
        token = connection.tokens.stored()
    grant = properties.get("GrantType")
    expiry = _expiry(token) if token is not None else "unknown"
    print(f"Signed in (GrantType={grant}); tokens stored in {_where(store)}; "
          f"the access token expires {expiry}.")
    return 0


# logout


def logout(argv: Sequence[str]) -> int:
    """``cdata-oauth logout``: revoke the stored token where possible, then remove it."""
    parser = _parser("logout", "Revoke the stored token when a revocation endpoint is known "
                               "(OAuthRevocationURL), then remove it from the token store.")
    return _command(argv, parser, _logout)


def _logout(args: argparse.Namespace) -> int:
    properties = _properties(args)
    store = store_of(properties)
    token = store.load()
    if token is None:
        print(f"No token is stored in {_where(store)}; nothing to do.")
        return 0
    note = _revoke(properties, store, token)
    if note:
        print(f"{PROG}: {note}", file=sys.stderr)
    delete: Callable[[], bool] | None = getattr(store, "delete", None)
    if delete is None:
        print(f"{PROG}: the token store {_where(store)} cannot remove entries; the token "
              "was left in it.", file=sys.stderr)
        return 2
    delete()
    print(f"Signed out; the token was removed from {_where(store)}.")
    return 0


def _revoke(properties: ConnectionProperties, store: TokenStore, token: Token) -> str:
    """Revoke at the provider; returns why it was skipped, or "" when it was done."""
    if not any(properties.get(name) for name in REVOCATION_PROPERTIES):
        return ("no revocation endpoint is known (set OAuthRevocationURL): the token was "
                "not revoked at the provider, only removed here.")
    with connect(**dict(_offline(properties, store))) as connection:
        script = next((s for s in connection.catalog
                       if s.name.lower() == REVOKE_PROCEDURE.lower()), None)
        if script is None:
            return (f"this version has no {REVOKE_PROCEDURE} procedure: the token was not "
                    "revoked at the provider, only removed here.")
        names = {given.name.lower(): given.name for given in script.inputs}
        for value, hint in ((token.refresh_token, "refresh_token"),
                            (token.access_token, "access_token")):
            call = _revoke_args(names, value, hint)
            if call:
                connection.run_procedure(script.name, call)
    return ""


def _revoke_args(names: dict[str, str], value: str | None,
                 hint: str) -> list[tuple[str | None, Any]]:
    """The inputs of one revocation call, by the names the procedure declares."""
    if not value:
        return []
    if "token" in names:
        call: list[tuple[str | None, Any]] = [(names["token"], value)]
        if "tokentypehint" in names:
            call.append((names["tokentypehint"], hint))
        return call
    own = "oauthrefreshtoken" if hint == "refresh_token" else "oauthaccesstoken"
    return [(names[own], value)] if own in names else []


# status


def status(argv: Sequence[str]) -> int:
    """``cdata-oauth status``: what is stored, never a token; no network."""
    parser = _parser("status", "Show what the token store holds: grant, scopes, expiry, "
                               "whether a refresh token is held, and where it is kept. "
                               "Never prints a token; makes no network call.")
    return _command(argv, parser, _status)


def _status(args: argparse.Namespace) -> int:
    properties = _properties(args)
    store = store_of(properties)
    token = store.load()
    rows = [("profile", str(properties.get("Profile") or "-")),
            ("store", _where(store)),
            ("grant", str(properties.get("GrantType")))]
    if token is None or not token.access_token:
        rows.append(("token", "none stored"))
    else:
        rows += [("scopes", token.scope or properties.get("Scope") or "-"),
                 ("expires", _expiry(token)),
                 ("refresh token", "held" if token.refresh_token else "none")]
    width = max(len(label) for label, _ in rows) + 1
    for label, value in rows:
        print(f"{label + ':':<{width}} {value}")
    return 0


def _expiry(token: Token) -> str:
    expires_at = token.expires_at
    if expires_at is None:
        return "unknown (the provider gave no lifetime)"
    left = expires_at - time.time()
    minutes = round(abs(left) / 60)
    when = f"in {minutes} min" if left > 0 else f"{minutes} min ago, expired"
    return f"{iso_utc(expires_at)} ({when})"
