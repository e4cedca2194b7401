"""Which names hold secrets, and how a secret is shown when text leaves the process:
masking by value (``scrub``) and by name in text, URLs, bodies and headers (``mask_*``).

One masking serves error messages, reprs, LogFile, our logger and, through ``logguard``,
the log records that oauthlib, urllib3 and requests make.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit, urlunsplit

SECRET_WORDS = ("secret", "password", "token", "verifier", "postdata", "code", "assertion")
_NOT_SECRET = frozenset({"oauthtokentimestamp", "oauthaccesstokenurl", "oauthrequesttokenurl",
                         "oauthrefreshtokenurl", "token_type", "oauthparam:token_type",
                         "tokentypehint", "token_type_hint",
                         # RFC 8693 token types: URNs that name a kind of token
                         "subjecttokentype", "actortokentype", "requestedtokentype",
                         "issuedtokentype", "oauthparam:issued_token_type"})

MASK = "********"


@lru_cache(maxsize=1024)
def is_secret_name(name: str) -> bool:
    """True for names whose values must never be shown (case-insensitive)."""
    lowered = name.lower()
    if lowered in _NOT_SECRET or lowered.endswith("url"):
        return False
    return any(word in lowered for word in SECRET_WORDS)


def mask(value: object) -> str:
    """A fixed-width mask: no length or prefix of the secret is revealed."""
    return MASK if value not in (None, "") else ""


def scrub(text: str, secrets: Iterable[object]) -> str:
    """Replace every occurrence of each secret value in ``text`` with the mask, in any of
    the forms it travels in (see ``secret_forms``)."""
    forms, pattern = _pattern(tuple(sorted({str(s) for s in secrets
                                            if s not in (None, "") and len(str(s)) >= 3})))
    if not any(form in text for form in forms):  # the common case, far quicker than re
        return text
    return pattern.sub(MASK, text)


def secret_forms(value: str) -> set[str]:
    """The value as given, percent-encoded once (a form body, a query) and twice (an OAuth
    1.0a signature base string), and escaped as repr() and JSON show it."""
    once = quote(value, safe="")
    return {value, once, quote_plus(value), quote(once, safe=""), repr(value)[1:-1],
            json.dumps(value)[1:-1]}


@lru_cache(maxsize=16)  # few sets are in use at once; a small cache keeps few secrets
def _pattern(values: tuple[str, ...]) -> tuple[tuple[str, ...], re.Pattern[str]]:
    """Every form, longest first, and their alternation, compiled once per set of values."""
    forms = tuple(sorted({form for value in values for form in secret_forms(value)
                          if len(form) >= 3}, key=len, reverse=True))
    return forms, re.compile("|".join(re.escape(f) for f in forms) or "(?!)")


SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie",
                            "x-api-key"})
_EXTRA_SECRET_FIELDS = frozenset({"oauth_signature", "assertion", "client_assertion",
                                  "signature", "sig", "id_token", "session_state",
                                  # API keys in query strings (?key=, ?api_key=): not
                                  # "key" as a word, which oauth_consumer_key (an id) has
                                  "key", "api_key", "apikey", "api-key", "x-api-key",
                                  "access_key", "private_key", "subscription-key"})
_NOT_SECRET_FIELDS = frozenset({"code_challenge", "code_challenge_method", "token_type",
                                "response_type", "grant_type", "token_endpoint_auth_method",
                                "oauth_signature_method", "oauth_callback_confirmed",
                                "token_type_hint",
                                "client_assertion_type", "subject_token_type",
                                "actor_token_type", "requested_token_type",
                                "issued_token_type"})
MAX_LOGGED_BODY = 64 * 1024
# Where a field's value follows its name: name=value (URLs, forms, headers), "name": "value"
# (JSON), 'name': 'value' and ('name', 'value') (Python reprs, as oauthlib logs its
# parameters), and name%3Dvalue (a percent-encoded query, the OAuth 1.0a signature base
# string, whose fields end at an encoded & or the end).
_NAME = r"(?P<name>[A-Za-z0-9_.:\-]+)"
_WORD_START = r"(?<![A-Za-z0-9_.:\-])"  # a name starts a word: no retry inside each word


@lru_cache(maxsize=1)
def _pairs() -> tuple[tuple[tuple[str, ...], re.Pattern[str]], ...]:
    """(what the text must hold for the pattern to match at all, the pattern); compiled at
    first use, not at import: a credential helper's run rarely masks anything."""
    return (
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
_USERINFO = r"^(?P<lead>[A-Za-z][A-Za-z0-9+.\-]*://|//)?[^/?#\s]*@"  # re caches it


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
    for needles, pattern in _pairs():
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
        return mask_text(re.sub(_USERINFO, lambda m: (m.group("lead") or "") + MASK + "@",
                                url))
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
