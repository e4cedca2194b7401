"""LogFile and the ``cdata_oauth`` logger: each request and response, secrets masked.

Masking is by name (headers such as Authorization; fields such as client_secret, code,
refresh_token in URLs, form and JSON bodies) and, as a last pass, by value (the known
secret settings of the transport), so a secret is hidden wherever it turns up. The same
functions mask URLs quoted in error messages and, through ``logguard``, the log records
that oauthlib, urllib3 and requests make.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from .exceptions import OperationalError, ProgrammingError
from .redaction import MASK, SECRET_WORDS, is_secret_name, scrub

__all__ = ["HttpLog", "mask_text", "mask_url"]

log = logging.getLogger("cdata_oauth")

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie",
                            "x-api-key"})
_EXTRA_SECRET_FIELDS = frozenset({"oauth_signature", "assertion", "client_assertion",
                                  "signature", "sig", "id_token", "session_state"})
_NOT_SECRET_FIELDS = frozenset({"code_challenge", "code_challenge_method", "token_type",
                                "response_type", "grant_type", "token_endpoint_auth_method",
                                "oauth_signature_method", "oauth_callback_confirmed"})
MAX_LOGGED_BODY = 64 * 1024
# Where a field's value follows its name: name=value (URLs, forms, headers), "name": "value"
# (JSON), 'name': 'value' and ('name', 'value') (Python reprs, as oauthlib logs its
# parameters), and name%3Dvalue (a percent-encoded query, the OAuth 1.0a signature base
# string, whose fields end at an encoded & or the end).
_NAME = r"(?P<name>[A-Za-z0-9_.:\-]+)"
_WORD_START = r"(?<![A-Za-z0-9_.:\-])"  # a name starts a word: no retry inside each word
_PAIRS = (  # (what the text must hold for the pattern to match at all, the pattern)
    (("=", ":"), re.compile(_WORD_START + r"(?P<pre>)" + _NAME
                            + r"""(?P<sep>=|"\s*:\s*")(?P<value>(?:\\.|[^&"\s,;}])*)""")),
    (("'",), re.compile(r"(?P<pre>')" + _NAME + r"""(?P<sep>'\s*[:,]\s*(?P<q>['"]))"""
                        r"(?P<value>(?:\\.|(?!(?P=q)).)*)")),
    (("%3D", "%3d"), re.compile(
        r"(?:(?P<pre>%26|%2526)|" + _WORD_START + ")" + _NAME
        + r"(?P<sep>%3D|%253D)(?P<value>(?:[^%&\s]|%(?!26|2526))*)", re.IGNORECASE)),
)
#: Every secret field name holds one of these (lower-case): text without any has none.
_HINTS = (*SECRET_WORDS, *_EXTRA_SECRET_FIELDS)
_USERINFO = re.compile(r"^(?P<lead>[A-Za-z][A-Za-z0-9+.\-]*://|//)?[^/?#\s]*@")


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    if lowered in _NOT_SECRET_FIELDS:
        return False
    return lowered in _EXTRA_SECRET_FIELDS or is_secret_name(lowered)


def mask_text(text: str) -> str:
    """Masks the values of secret-named fields in free text (query strings, JSON, reprs,
    encoded base strings ...)."""
    def sub(match: re.Match[str]) -> str:
        if match.group("value") and is_secret_field(match.group("name")):
            return (match.group("pre") or "") + match.group("name") + match.group("sep") + MASK
        return match.group(0)

    lowered = text.lower()
    if not any(hint in lowered for hint in _HINTS):
        return text
    for needles, pattern in _PAIRS:
        if any(needle in text for needle in needles):
            text = pattern.sub(sub, text)
    return text


def mask_url(url: str) -> str:
    """The URL with secret query and fragment values and any user:password@ masked; also
    a malformed URL, or a host given with user:password@ and no scheme."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or not parts.netloc:
        return mask_text(_USERINFO.sub(lambda m: (m.group("lead") or "") + MASK + "@", url))
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rsplit("@", 1)[1]
    query = _mask_form(parts.query) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, mask_text(parts.fragment)))


def _mask_form(text: str) -> str:
    pairs = parse_qsl(text, keep_blank_values=True)
    if not pairs:
        return mask_text(text)
    return "&".join(
        f"{quote(k, safe='')}={MASK if v and is_secret_field(k) else quote(v, safe='')}"
        for k, v in pairs)


def _mask_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (MASK if is_secret_field(str(k)) and v not in (None, "") else _mask_json(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_json(v) for v in value]
    return value


def mask_body(body: bytes | str | None, content_type: str | None) -> str:
    """A printable, masked body: JSON and forms by structure, anything else by pattern."""
    if body in (None, b"", ""):
        return ""
    raw = body if isinstance(body, bytes) else str(body).encode("utf-8")
    cut = len(raw) > MAX_LOGGED_BODY
    text = raw[:MAX_LOGGED_BODY].decode("utf-8", "replace")
    ctype = (content_type or "").lower()
    shown: str | None = None
    if "json" in ctype or text.lstrip().startswith(("{", "[")):
        try:
            shown = json.dumps(_mask_json(json.loads(text)), ensure_ascii=False)
        except ValueError:
            shown = None
    if shown is None and ("x-www-form-urlencoded" in ctype or
                          re.fullmatch(r"[^\s=&]+=[^\s&]*(&[^\s=&]+=[^\s&]*)*", text.strip())):
        shown = _mask_form(text.strip())
    if shown is None:
        shown = mask_text(text)
    return shown + (f"\n[... {len(raw) - MAX_LOGGED_BODY} more bytes not logged]" if cut else "")


def mask_headers(headers: Mapping[str, str]) -> list[str]:
    lines = []
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            scheme, _, rest = str(value).partition(" ")
            shown = f"{scheme} {MASK}" if rest and scheme.isalpha() and len(scheme) < 20 \
                else MASK
        elif name.lower() in ("location", "content-location", "referer"):
            shown = mask_url(str(value))
        else:
            shown = mask_text(str(value))
        lines.append(f"{name}: {shown}")
    return lines


class HttpLog:
    """Writes records to LogFile (owner-only, appended) and to the logger at DEBUG."""

    def __init__(self, path: str | None, secrets: Iterable[object]) -> None:
        self.path = path
        self.secrets = [s for s in secrets if s not in (None, "")]
        self._lock = threading.Lock()
        self._local = threading.local()
        if path:
            folder = os.path.dirname(os.path.abspath(os.path.expanduser(path)))
            if not os.path.isdir(folder):
                raise ProgrammingError(
                    f"LogFile {path!r}: the folder {folder!r} does not exist; create it or "
                    "choose another LogFile.")
            self._append("")  # create it now (0600) so a bad path fails before any request

    @property
    def active(self) -> bool:
        return bool(self.path) or log.isEnabledFor(logging.DEBUG)

    def request(self, method: str, url: str, headers: Mapping[str, str],
                body: bytes | str | None) -> None:
        if not self.active:
            return
        lines = [f">>> {method} {mask_url(url)}", *mask_headers(headers)]
        shown = mask_body(body, headers.get("Content-Type"))
        self._emit("\n".join(lines) + ("\n\n" + shown if shown else ""))

    def response(self, method: str, url: str, status: int, reason: str,
                 headers: Mapping[str, str], body: bytes | None, seconds: float) -> None:
        if not self.active:
            return
        lines = [f"<<< {status} {reason} ({method} {mask_url(url)}, {seconds:.3f} s)",
                 *mask_headers(headers)]
        shown = mask_body(body, headers.get("Content-Type"))
        self._emit("\n".join(lines) + ("\n\n" + shown if shown else ""))

    def failure(self, method: str, url: str, message: str) -> None:
        if self.active:
            self._emit(f"!!! {method} {mask_url(url)} failed: {message}")

    @contextlib.contextmanager
    def masking(self, secrets: Iterable[object]) -> Iterator[None]:
        """While inside, also mask these values (a statement's client secret, tokens...,
        which a server may echo anywhere in its answer), in every form ``scrub`` knows."""
        extra = [s for s in secrets if s not in (None, "")]
        previous = getattr(self._local, "extra", [])
        self._local.extra = [*previous, *extra]
        try:
            yield
        finally:
            self._local.extra = previous

    def _emit(self, text: str) -> None:
        text = scrub(text, [*self.secrets, *getattr(self._local, "extra", [])])
        stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
        log.debug("%s", text)
        if self.path:
            self._append(f"[{stamp}] {text}\n\n")

    def _append(self, text: str) -> None:
        path = os.path.expanduser(self.path or "")
        try:
            with self._lock:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with open(fd, "a", encoding="utf-8") as handle:
                    handle.write(text)
        except OSError as exc:
            raise (ProgrammingError if not text else OperationalError)(
                f"LogFile {self.path!r} cannot be written ({exc.strerror or exc}).") from None
