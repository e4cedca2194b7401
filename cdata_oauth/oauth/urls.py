"""Provider and callback URLs as the user gives them: parsed strictly, with the plain-http
rule, before any request is sent. Shared by the OAuth 2.0 and 1.0a flows and the listener.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, parse_qsl, urlsplit

from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.redaction import mask_url

if TYPE_CHECKING:
    from cdata_oauth.config.options import Options

__all__ = ["check_callback_url", "check_url", "is_loopback_host", "parse_url"]


def is_loopback_host(host: str | None) -> bool:
    """True for localhost and for literal loopback addresses (127.0.0.0/8, ::1)."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

_PASSED_MAX = 256
_passed: set[tuple[str, str, bool]] = set()
"""(name, URL, AllowInsecureHTTP) that check_url let through: a connection's provider URLs
are checked on every statement, the same ones each time."""


def check_url(name: str, url: str, options: Options) -> None:
    """https everywhere; plain http only to loopback hosts unless AllowInsecureHTTP."""
    key = (name, url, bool(options["AllowInsecureHTTP"]))
    if key in _passed:
        return
    parts = parse_url(name, url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ProgrammingError(
            f"{name} {mask_url(url)!r} is not an http(s) URL; give the provider's full URL, "
            "e.g. https://provider.example/oauth/token.")
    if scheme == "http" and not is_loopback_host(parts.hostname) and \
            not options["AllowInsecureHTTP"]:
        raise ProgrammingError(
            f"{name} uses plain http to {parts.hostname}, which would send secrets "
            "unencrypted; use https, or set OtherOptions='AllowInsecureHTTP=TRUE' for a "
            "test server you trust.")
    if len(_passed) >= _PASSED_MAX:
        _passed.clear()
    _passed.add(key)


_NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f\\]")
"""Blanks (any Unicode space), control characters and backslashes."""


def parse_url(name: str, url: str) -> SplitResult:
    """The parts of a URL a user gave, or a ProgrammingError saying what is malformed.

    urlsplit silently drops tabs and line breaks and lets a backslash hide the real
    host, so such characters are refused rather than sent somewhere unexpected."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises for a port that is not 0..65535)
    except ValueError as exc:
        raise ProgrammingError(f"{name} {mask_url(url)!r} is malformed ({exc}); give a full "
                               "URL such as https://provider.example/oauth/token.") from None
    bad = _NOT_IN_URL.search(url)
    if bad is not None and parts.scheme:  # without a scheme the caller says "not a URL"
        raise ProgrammingError(
            f"{name} {mask_url(url)!r} contains {bad.group()!r}, which a URL may not hold; "
            "percent-encode it (a space is %20) or remove it.")
    return parts


def check_callback_url(url: str, oob: bool = False) -> None:
    """CallbackURL is sent to the provider: any well-formed absolute URL (a web or custom
    scheme, e.g. com.example.app:/cb), or ``oob`` for OAuth 1.0a."""
    if oob and url == "oob":
        return
    parts = parse_url("CallbackURL", url)
    if not parts.scheme or (parts.scheme.lower() in ("http", "https") and not parts.hostname):
        raise ProgrammingError(
            f"CallbackURL {mask_url(url)!r} is not an absolute URL; give the redirect URL "
            "registered with the provider, e.g. https://app.example/callback or "
            "http://127.0.0.1:33333/callback.")


def callback_params(given: str, field: str, what: str) -> dict[str, str] | None:
    """The query and fragment parameters when ``Verifier`` holds the callback URL the
    browser was sent back to (or its ``?query``); None for a bare ``field`` value."""
    text = given.strip()
    if "://" not in text and not text.startswith("?") and f"{field}=" not in text \
            and "error=" not in text and "denied=" not in text:
        return None
    try:
        parts = urlsplit(text if "://" in text else "x://x/" + text.lstrip("?"))
    except ValueError:
        raise ProgrammingError(
            "Verifier looks like a callback URL but is malformed; give the whole URL the "
            f"browser was sent back to, or the {what} alone.") from None
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    params.update(parse_qsl(parts.fragment, keep_blank_values=True))
    return params
