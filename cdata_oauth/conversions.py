"""Text and boolean conversions used by every layer: connection properties, OtherOptions,
script inputs and script attributes read them here, so each accepts the same words.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BOOL_WORDS", "optional_text", "parse_bool", "text_or_none", "whole_number"]

_TRUE = frozenset(("TRUE", "YES", "ON", "1"))
_FALSE = frozenset(("FALSE", "NO", "OFF", "0"))

BOOL_WORDS = "TRUE/FALSE, YES/NO, ON/OFF or 1/0"
"""The truth words, for error messages: what ``parse_bool`` accepts, in any case."""


def parse_bool(value: Any) -> bool | None:
    """A bool, or a truth word in any case (blanks around it ignored) as a bool; None for
    anything else, so that each caller raises its own error naming what was wrong."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().upper()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def text_or_none(value: Any) -> str | None:
    """An input's text as given, or None when it is missing or only blanks.

    Blanks inside a value are kept: a quoted ``'  padded id  '`` is what the user meant,
    and the provider must see it as written."""
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def optional_text(value: Any) -> str | None:
    """``str(value)``, or None when the value is missing (None or the empty string)."""
    return None if value is None or value == "" else str(value)


def whole_number(value: Any) -> int | None:
    """A whole number from what a provider or a store wrote (``3600``, ``"3600"``,
    ``"3600.0"``; a fraction is cut off); None when missing or not a number."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
