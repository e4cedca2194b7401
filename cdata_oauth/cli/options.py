"""What every ``cdata-oauth`` command shares: the connection options (``-c``, ``-p``,
``--profile``), argparse with one-line errors, and the one-line error report with its exit
status.

Exit statuses: 0 success; 2 bad usage or configuration (``ProgrammingError`` and the
other errors of the caller's input); 3 a provider or network failure
(``OperationalError``, ``OAuthError``); 130 interrupted (Ctrl-C).

Kept cheap to import: ``cdata-oauth token`` with a fresh stored token loads this, the
properties and the store, and nothing of sqlglot, requests or oauthlib.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from cdata_oauth.config.properties import ConnectionProperties, parse_connection_string
from cdata_oauth.exceptions import Error, InternalError, OperationalError
from cdata_oauth.lazy import resolve
from cdata_oauth.redaction import is_secret_name, scrub

__all__ = ["EXIT_FAILURE", "EXIT_INTERRUPTED", "EXIT_USAGE", "PROG", "Parser", "UsageError",
           "add_connection_options", "exit_status", "fail", "guarded", "keywords_of", "parse",
           "properties_of", "secrets_of"]

PROG = "cdata-oauth"
EXIT_USAGE = 2
"""Bad usage or configuration: a usage mistake, ``ProgrammingError``, an unknown profile."""
EXIT_FAILURE = 3
"""The provider or the network failed: ``OperationalError`` (``OAuthError`` is one)."""
EXIT_INTERRUPTED = 130
PRINT_TRACEBACK = "traceback:print_exception"


class UsageError(Exception):
    """Bad command-line usage; the message is the one line shown."""


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line instead of usage + message."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _property(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"-p takes Name=Value, not {text.split('=')[0]!r}")
    return name.strip(), value


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """``-c``, ``-p``, ``--profile`` and ``--debug``, as every command takes them."""
    parser.add_argument("-c", "--connection", metavar="'NAME=VALUE;...'",
                        help="connection properties as a connection string")
    parser.add_argument("-p", "--property", dest="properties", action="append", default=[],
                        type=_property, metavar="NAME=VALUE",
                        help="one connection property (repeatable; wins over --connection)")
    parser.add_argument("--profile", metavar="NAME",
                        help="take the properties of profile NAME ($CDATA_OAUTH_PROFILES, "
                             "else profiles.toml in the config folder); -c and -p win")
    parser.add_argument("--debug", action="store_true",
                        help="on an error, also print the traceback (secrets masked)")


def keywords_of(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword properties the options give: -p pairs, and ``Profile`` from --profile."""
    keywords: dict[str, Any] = dict(args.properties)
    if args.profile is not None:
        keywords = {k: v for k, v in keywords.items() if k.lower() != "profile"}
        keywords["Profile"] = args.profile
    return keywords


def properties_of(args: argparse.Namespace, **defaults: Any) -> ConnectionProperties:
    """The validated properties the options name, profile included; ``defaults`` apply
    where neither the options nor the profile set a property."""
    properties = ConnectionProperties.from_sources(args.connection, **keywords_of(args))
    missing = {name: value for name, value in defaults.items()
               if not properties.explicit(name)}
    return properties.replace(**missing) if missing else properties


def secrets_of(args: argparse.Namespace) -> list[str]:
    """What an error line must not show: secret properties (given, or in the profile) and
    every ? value."""
    pairs = list(args.properties)
    with contextlib.suppress(Error):  # a malformed string already failed, masked
        pairs += parse_connection_string(args.connection or "")
    found: list[Any] = [v for n, v in pairs if is_secret_name(n)]
    if args.profile is not None:
        with contextlib.suppress(Error):  # a bad profile already failed, masked
            found += properties_of(args).secrets()
    return [str(v) for v in found] + list(getattr(args, "values", []) or [])


def exit_status(error: Error) -> int:
    """3 when the provider, the network or the engine failed; 2 for the caller's input."""
    return EXIT_FAILURE if isinstance(error, OperationalError | InternalError) else EXIT_USAGE


def fail(message: str, code: int, secrets: Sequence[str] = ()) -> int:
    """One line on stderr, secrets masked; returns the exit status."""
    line = " ".join(scrub(message, secrets).split())
    print(f"{PROG}: {line}", file=sys.stderr)
    return code


def guarded(body: Callable[[], int], args: argparse.Namespace) -> int:
    """Run a command's body; each error becomes one line on stderr and its exit status."""
    try:
        return body()
    except Error as exc:
        secrets = secrets_of(args)
        if args.debug:
            _traceback(exc, secrets)
        return fail(f"{type(exc).__name__}: {exc}", exit_status(exc), secrets)
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_INTERRUPTED)


def _traceback(exc: BaseException, secrets: Sequence[str]) -> None:
    """--debug: the traceback, through the same masking as the one line."""
    lines: list[str] = []

    class _Sink:
        def write(self, text: str) -> None:
            lines.append(text)

    resolve(PRINT_TRACEBACK)(exc, file=_Sink())
    sys.stderr.write(scrub("".join(lines), secrets))


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace | int:
    """The parsed options, or the exit status of a usage mistake (already reported)."""
    try:
        return parser.parse_args(list(argv))
    except UsageError as exc:
        return fail(f"error: {exc}", EXIT_USAGE)
