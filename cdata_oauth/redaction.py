"""Which names hold secrets, and how a secret is shown when text leaves the process."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import quote, quote_plus

SECRET_WORDS = ("secret", "password", "token", "verifier", "postdata", "code")
_NOT_SECRET = frozenset({"oauthtokentimestamp", "oauthaccesstokenurl", "oauthrequesttokenurl",
                         "oauthrefreshtokenurl", "token_type", "oauthparam:token_type"})

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
    import json

    once = quote(value, safe="")
    return {value, once, quote_plus(value), quote(once, safe=""), repr(value)[1:-1],
            json.dumps(value)[1:-1]}


@lru_cache(maxsize=16)  # few sets are in use at once; a small cache keeps few secrets
def _pattern(values: tuple[str, ...]) -> tuple[tuple[str, ...], re.Pattern[str]]:
    """Every form, longest first, and their alternation, compiled once per set of values."""
    forms = tuple(sorted({form for value in values for form in secret_forms(value)
                          if len(form) >= 3}, key=len, reverse=True))
    return forms, re.compile("|".join(re.escape(f) for f in forms) or "(?!)")
