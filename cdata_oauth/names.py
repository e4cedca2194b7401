"""Names are case-insensitive everywhere; a misspelt one gets the nearest known names."""

from __future__ import annotations

from collections.abc import Iterable

from cdata_oauth.lazy import resolve

__all__ = ["did_you_mean"]


def did_you_mean(name: str, known: Iterable[str], most: int = 1) -> str:
    """``" Did you mean X?"`` (or ``"X or Y"``) with the closest known names in their own
    spelling, ignoring case; ``""`` when none is close."""
    by_folded = {k.lower(): k for k in known}
    matches = resolve("difflib:get_close_matches")  # only a misspelt name needs it
    close = matches(name.strip().lower(), list(by_folded), n=most)
    return f" Did you mean {' or '.join(by_folded[c] for c in close)}?" if close else ""
