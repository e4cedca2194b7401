"""Text and boolean conversions used by every layer: connection properties, OtherOptions,
script inputs and script attributes read them here, so each accepts the same words.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["BOOL_WORDS", "PLAIN_TYPES", "SCALAR_NAMES", "optional_text", "parse_bool",
           "plain_scalar", "text_or_none", "whole_number"]

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


PLAIN_TYPES = frozenset((str, int, float, bool, type(None)))
"""The types taken as they are, checked first (and at C speed by callers with many)."""
SCALAR_NAMES = "str, int, float, bool, decimal.Decimal, bytes (UTF-8), a date/time or None"
"""What ``plain_scalar`` takes, for error messages."""
_PLAIN_OF: tuple[tuple[type, Any], ...] = ((str, str.__str__), (int, int.__int__),
                                           (float, float.__float__))


def plain_scalar(value: Any) -> Any:
    """A property or parameter value as it is used, never stringified: a list or dict
    would reach the provider as its repr (``scope=[1, 2]``).

    bytes are UTF-8 text (drivers hand text over as bytes; UnicodeDecodeError when they
    are not); a subclass of str, int or float gives its plain value (an Enum on str: its
    value, not "E.X"), a whole number of another library (numpy.int64) its int; Decimal
    and date/time values are kept. Anything else raises TypeError with the type's name,
    for the caller to raise its own error."""
    kind = type(value)
    if kind in PLAIN_TYPES:
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8")
    for base, plain in _PLAIN_OF:
        if isinstance(value, base):
            return plain(value)
    if hasattr(kind, "__index__"):  # a whole number of another library (numpy's int64)
        return kind.__index__(value)
    # a Decimal or a date exists only once its module is loaded: no import needed here
    decimal, datetime = sys.modules.get("decimal"), sys.modules.get("datetime")
    if (decimal is not None and isinstance(value, decimal.Decimal)) or (
            datetime is not None and isinstance(value, datetime.date | datetime.time)):
        return value
    raise TypeError(kind.__name__)
