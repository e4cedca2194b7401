"""``cdata-oauth``: run one statement from the shell and print its result.

    cdata-oauth "EXEC GetOAuthAccessToken GrantType='CLIENT'" \\
        --connection "OAuthVersion=2.0;OAuthClientId=app;OAuthAccessTokenURL=https://..." \\
        -p OAuthClientSecret=s3cret --format json
    cdata-oauth demo

Errors are one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from cdata_oauth import __version__, connect
from cdata_oauth.cli.tabular import FORMATS, render
from cdata_oauth.config.properties import parse_connection_string
from cdata_oauth.exceptions import Error
from cdata_oauth.lazy import resolve
from cdata_oauth.redaction import is_secret_name, scrub

__all__ = ["main"]

PROG = "cdata-oauth"
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad command-line usage; the message is the one line shown."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line instead of usage + message."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {PROG} --help)")


def _property(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"-p takes Name=Value, not {text.split('=')[0]!r}")
    return name.strip(), value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Run one cdata_oauth statement (e.g. EXEC GetOAuthAccessToken ...) and "
                    "print its result.",
        epilog=f"Try it without any provider: '{PROG} demo' runs every OAuth 2.0 grant "
               "against a provider embedded in the package.")
    parser.add_argument("statement", metavar="STATEMENT",
                        help="the statement, e.g. \"EXEC GetOAuthAccessToken GrantType='CLIENT'\"")
    parser.add_argument("-c", "--connection", metavar="'NAME=VALUE;...'",
                        help="connection properties as a connection string")
    parser.add_argument("-p", "--property", dest="properties", action="append", default=[],
                        type=_property, metavar="NAME=VALUE",
                        help="one connection property (repeatable; wins over --connection)")
    parser.add_argument("-a", "--arg", dest="values", action="append", default=[],
                        metavar="VALUE", help="a value for the next ? placeholder (repeatable)")
    parser.add_argument("-f", "--format", choices=FORMATS, default="table",
                        help="output format (default: table)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def run(args: argparse.Namespace) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Connect, execute, fetch: the columns and rows of the statement's result."""

    properties = dict(args.properties)
    with connect(args.connection, **properties) as connection:
        cursor = connection.execute(args.statement, args.values or None)
        columns = [d[0] for d in cursor.description or ()]
        return columns, cursor.fetchall()


def _secrets(args: argparse.Namespace) -> list[str]:
    """What an error line must not show: secret properties and every ? value."""

    pairs = list(args.properties)
    with contextlib.suppress(Error):  # a malformed string already failed, masked
        pairs += parse_connection_string(args.connection or "")
    return [v for n, v in pairs if is_secret_name(n)] + list(args.values)


def _fail(message: str, code: int, secrets: Sequence[str] = ()) -> int:
    line = " ".join(scrub(message, secrets).split())
    print(f"{PROG}: {line}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["demo"]:
        demo_main: Callable[[list[str]], int] = resolve("cdata_oauth.cli.demo:main")
        return demo_main(arguments[1:])
    try:
        args = build_parser().parse_args(arguments)
    except UsageError as exc:
        return _fail(f"error: {exc}", EXIT_USAGE)
    try:
        columns, rows = run(args)
    except Error as exc:
        return _fail(f"{type(exc).__name__}: {exc}", EXIT_ERROR, _secrets(args))
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    sys.stdout.write(render(args.format, columns, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
