"""``cdata-oauth demo``: every OAuth 2.0 grant, end to end, with nothing to set up.

It starts the embedded provider on a free loopback port and runs CLIENT, PASSWORD, CODE
(AuthMode=APP, with an in-process HTTP client standing in for the browser), DEVICE (RFC
8628: the code shown to a person is approved by an in-process HTTP client that reads the
prompt's log record) and REFRESH through the DB-API, then prints one row per grant with
the tokens shortened.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import webbrowser
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

import cdata_oauth
from cdata_oauth.cli.tabular import render_table
from cdata_oauth.exceptions import Error, OAuthError
from cdata_oauth.provider import EmbeddedProvider
from cdata_oauth.redaction import is_secret_name

if TYPE_CHECKING:
    from cdata_oauth.dbapi.connection import Connection

__all__ = ["DevicePerson", "HttpBrowser", "main", "run_demo"]

BROWSER_NAME = "cdata-oauth-demo"
_register_lock = threading.Lock()


class HttpBrowser(webbrowser.BaseBrowser):
    """A 'browser' that GETs the authorization URL and follows the redirects, which end at
    the loopback listener. Registered first with ``webbrowser``, but it only acts while
    ``active``; otherwise it declines and ``webbrowser`` tries the real browsers."""

    def __init__(self, name: str = BROWSER_NAME) -> None:
        super().__init__(name)
        self.active = False
        self.error: str | None = None

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        if not self.active:
            return False

        with requests.Session() as session:
            session.trust_env = False  # loopback only: never through a proxy
            try:
                session.get(url, timeout=30)
            except requests.RequestException as exc:
                self.error = type(exc).__name__
        return True


_BROWSER: HttpBrowser | None = None


class DevicePerson(logging.Handler):
    """The person of the device grant: reads the prompt's log record (``cdata_oauth`` at
    INFO, carrying the user code and the verification URIs) and approves the code on the
    provider's page from another thread, as someone on their phone would."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.error: str | None = None
        self.threads: list[threading.Thread] = []

    def emit(self, record: logging.LogRecord) -> None:
        url = getattr(record, "verification_uri_complete", None)
        if url:
            thread = threading.Thread(target=self._approve, args=(url,), daemon=True,
                                      name="cdata-oauth-demo-person")
            self.threads.append(thread)
            thread.start()

    def _approve(self, url: str) -> None:
        with requests.Session() as session:
            session.trust_env = False  # loopback only: never through a proxy
            try:
                session.get(url, timeout=30).raise_for_status()
            except requests.RequestException as exc:
                self.error = type(exc).__name__


def demo_browser() -> HttpBrowser:
    """The process's HttpBrowser, registered once as the preferred ``webbrowser``."""
    global _BROWSER
    with _register_lock:
        if _BROWSER is None:
            _BROWSER = HttpBrowser()
            webbrowser.register(BROWSER_NAME, None, _BROWSER, preferred=True)
        return _BROWSER


@dataclass(frozen=True)
class Step:
    grant: str
    statement: str
    parameters: Callable[[EmbeddedProvider, dict[str, Any]], tuple[Any, ...]]


STEPS = (
    Step("CLIENT", "EXEC GetOAuthAccessToken GrantType='CLIENT'", lambda p, rows: ()),
    Step("PASSWORD", "EXEC GetOAuthAccessToken GrantType='PASSWORD', User=?, Password=?",
         lambda p, rows: (p.user, p.password)),
    Step("CODE", "EXEC GetOAuthAccessToken GrantType='CODE', AuthMode='APP'",
         lambda p, rows: ()),
    Step("DEVICE", "EXEC GetOAuthAccessToken GrantType='DEVICE', AuthMode='APP'",
         lambda p, rows: ()),
    Step("REFRESH", "EXEC RefreshOAuthAccessToken OAuthRefreshToken=?",
         lambda p, rows: (rows["CODE"]["OAuthRefreshToken"],)),
)


def shorten(column: str, value: Any) -> Any:
    """A secret column's value cut to its fixed prefix ('at_...'): stable and harmless."""
    if not is_secret_name(column) or not isinstance(value, str) or not value:
        return value
    head, sep, _ = value.partition("_")
    return f"{head}_..." if sep and len(head) <= 3 else "..."


def _run_steps(connection: Connection, provider: EmbeddedProvider,
               say: Callable[[str], None]) -> tuple[list[str], list[tuple[Any, ...]],
                                                     dict[str, Any]]:
    columns: list[str] = ["GrantType"]
    rows: dict[str, dict[str, Any]] = {}
    for number, step in enumerate(STEPS, 1):
        say(f"[{number}/{len(STEPS)}] {step.grant:<8} {step.statement}")
        cursor = connection.execute(step.statement, step.parameters(provider, rows) or None)
        names = [d[0] for d in cursor.description or ()]
        row = cursor.fetchone() or ()
        rows[step.grant] = dict(zip(names, row, strict=True))
        columns += [n for n in names if n not in columns]
    table = [tuple([grant] + [shorten(c, values.get(c)) for c in columns[1:]])
             for grant, values in rows.items()]
    return columns, table, rows


def run_demo(out: Callable[[str], None] = print, timeout: int = 30) -> int:
    """Run the demo, writing lines with ``out``; returns the exit status."""

    browser = demo_browser()
    with EmbeddedProvider() as provider:
        out(f"Embedded OAuth 2.0 provider listening on {provider.base_url}")
        out("Each grant runs through the DB-API: cdata_oauth.connect(...).execute(...).")
        out("CODE opens the 'browser': an HTTP client in this process that follows the")
        out("provider's redirect to the loopback listener, as a real browser would.")
        out("DEVICE shows a code on stderr; the 'person' who enters it is an HTTP client in")
        out("this process that approves it on the provider's page.")
        out("")
        browser.active, browser.error = True, None
        person = DevicePerson()
        logger = logging.getLogger("cdata_oauth")
        level = logger.level
        logger.addHandler(person)
        if not logger.isEnabledFor(logging.INFO):
            logger.setLevel(logging.INFO)
        try:
            with cdata_oauth.connect(**provider.connection_properties(Timeout=timeout)) as conn:
                columns, table, rows = _run_steps(conn, provider, out)
                old = rows["CODE"]["OAuthRefreshToken"]
                try:
                    conn.execute(STEPS[-1].statement, (old,))
                    rotation = "it still works (the provider does not rotate)"
                except OAuthError as exc:
                    rotation = (f"OAuthError {exc.error} (HTTP {exc.status}): the provider "
                                "rotated it, so it is spent")
        except Error as exc:
            hint = f" (browser step: {browser.error})" if browser.error else ""
            hint += f" (device step: {person.error})" if person.error else ""
            print(f"cdata-oauth demo: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
            return 1
        finally:
            browser.active = False
            logger.removeHandler(person)
            logger.setLevel(level)
        out("")
        out(render_table(columns, table).rstrip("\n"))
        out("")
        out(f"Refreshing again with the CODE row's old refresh token -> {rotation}.")
        counts = ", ".join(f"{k}={v}" for k, v in sorted(provider.grant_counts.items()))
        out(f"Token responses the provider sent: {counts}.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cdata-oauth demo",
        description="Run the CLIENT, PASSWORD, CODE (browser flow), DEVICE (a code a "
                    "person enters elsewhere) and REFRESH grants "
                    "against an OAuth 2.0 provider embedded in the package, and print "
                    "the rows (tokens shortened).")
    parser.add_argument("--timeout", type=int, default=30,
                        help="seconds each request, the browser step and the device "
                             "sign-in may take")
    args = parser.parse_args(list(argv or []))
    try:
        return run_demo(timeout=args.timeout)
    except KeyboardInterrupt:
        print("cdata-oauth demo: interrupted", file=sys.stderr)
        return 130
