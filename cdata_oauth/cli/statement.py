"""``cdata-oauth "STATEMENT"``: run one statement from the shell and print its result.

    cdata-oauth "EXEC GetOAuthAccessToken GrantType='CLIENT'" \\
        --connection "OAuthVersion=2.0;OAuthClientId=app;OAuthAccessTokenURL=https://..." \\
        -p OAuthClientSecret=s3cret --format json
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from cdata_oauth import __version__, connect
from cdata_oauth.cli.options import (
    PROG,
    Parser,
    add_connection_options,
    guarded,
    keywords_of,
    parse,
)
from cdata_oauth.cli.tabular import FORMATS, render

__all__ = ["build_parser", "main", "run"]

COMMANDS_HELP = f"""\
commands (instead of a statement; each takes --help):
  {PROG} token      print a valid access token (a credential helper):
                         curl -H "$({PROG} token --format header --profile NAME)" URL
  {PROG} login      sign in now and store the tokens
  {PROG} logout     revoke (where possible) and remove the stored tokens
  {PROG} status     show what is stored, never a token
  {PROG} demo       run every OAuth 2.0 grant against a provider embedded in the package

exit status: 0 success, 2 bad usage or configuration, 3 provider or network failure,
130 interrupted."""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        description="Run one cdata_oauth statement (e.g. EXEC GetOAuthAccessToken ...) and "
                    "print its result.",
        epilog=COMMANDS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("statement", metavar="STATEMENT",
                        help="the statement, e.g. \"EXEC GetOAuthAccessToken GrantType='CLIENT'\"")
    add_connection_options(parser)
    parser.add_argument("-a", "--arg", dest="values", action="append", default=[],
                        metavar="VALUE", help="a value for the next ? placeholder (repeatable)")
    parser.add_argument("-f", "--format", choices=FORMATS, default="table",
                        help="output format (default: table)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def run(args: argparse.Namespace) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Connect, execute, fetch: the columns and rows of the statement's result."""
    with connect(args.connection, **keywords_of(args)) as connection:
        cursor = connection.execute(args.statement, args.values or None)
        columns = [d[0] for d in cursor.description or ()]
        return columns, cursor.fetchall()


def main(argv: Sequence[str]) -> int:
    """``cdata-oauth STATEMENT [options]``; returns the exit status."""
    args = parse(build_parser(), argv)
    if isinstance(args, int):
        return args

    def body() -> int:
        columns, rows = run(args)
        sys.stdout.write(render(args.format, columns, rows))
        return 0

    return guarded(body, args)
