"""Text, whole-number and truth-word conversions shared by every layer."""

from __future__ import annotations

from typing import Any

__all__ = ["text_or_none"]


def text_or_none(value: Any) -> str | None:
    """An input's text without surrounding blanks, or None when it is missing or blank."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None
