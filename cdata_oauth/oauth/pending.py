"""What one statement leaves for the next on the same connection: WEB mode's first step
(an OAuth 2.0 state with its PKCE verifier, an OAuth 1.0a request token with its secret)
waits here for the second. Bounded: a connection that starts many sign-ins and finishes
few keeps only the newest."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

__all__ = ["PENDING_MAX", "Pending"]

PENDING_MAX = 16
"""Unfinished first steps a connection keeps per flow; the oldest is dropped first."""

V = TypeVar("V")


class Pending(Generic[V]):
    """A bounded, thread-safe map from a first step's key to what its second step needs."""

    def __init__(self, limit: int = PENDING_MAX) -> None:
        self._items: OrderedDict[str, V] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def remember(self, key: str, value: V) -> None:
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = value
            while len(self._items) > self._limit:
                self._items.popitem(last=False)

    def get(self, key: str) -> V | None:
        with self._lock:
            return self._items.get(key)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._items)

    def newest(self) -> tuple[str, V] | None:
        """The last remembered (key, value), if any."""
        with self._lock:
            return next(reversed(self._items.items()), None)

    def forget(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
