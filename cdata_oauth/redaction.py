"""Which names hold secrets, and how a secret is shown when text leaves the process."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

_SECRET_WORDS = ("secret", "password", "token", "verifier", "postdata", "code")
_NOT_SECRET = frozenset({"oauthtokentimestamp", "oauthaccesstokenurl", "oauthrequesttokenurl",
                         "oauthrefreshtokenurl", "token_type", "oauthparam:token_type"})

MASK = "********"


@lru_cache(maxsize=1024)
def is_secret_name(name: str) -> bool:
    """True for names whose values must never be shown (case-insensitive)."""
    lowered = name.lower()
    if lowered in _NOT_SECRET or lowered.endswith("url"):
        return False
    return any(word in lowered for word in _SECRET_WORDS)


def mask(value: object) -> str:
    """A fixed-width mask: no length or prefix of the secret is revealed."""
    return MASK if value not in (None, "") else ""


def scrub(text: str, secrets: Iterable[object]) -> str:
    """Replace every occurrence of each secret value in ``text`` with the mask."""
    values = sorted({str(s) for s in secrets if s not in (None, "") and len(str(s)) >= 3},
                    key=len, reverse=True)
    if not values:
        return text
    pattern = re.compile("|".join(re.escape(v) for v in values))
    return pattern.sub(MASK, text)
