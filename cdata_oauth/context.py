"""What an operation may use of its connection: properties, HTTP transports, and a
small state store for values that must survive between two statements (WEB mode).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from .properties import ConnectionProperties
from .transport import Transport, TransportSettings

__all__ = ["ConnectionContext"]


class ConnectionContext:
    """Per-connection resources; safe to share between threads (threadsafety 2)."""

    def __init__(self, properties: ConnectionProperties) -> None:
        self.properties = properties
        self._local = threading.local()
        self._transports: list[Transport] = []
        self._lock = threading.RLock()
        self._state: dict[str, Any] = {}

    def transport(self, inputs: Mapping[str, Any]) -> Transport:
        """A transport for these inputs, reused per thread while its settings match."""
        settings = TransportSettings.from_inputs(inputs)
        cache: dict[TransportSettings, Transport] | None = getattr(self._local, "cache", None)
        if cache is None:
            cache = self._local.cache = {}
        transport = cache.get(settings)
        if transport is None:
            transport = Transport(settings)
            cache[settings] = transport
            with self._lock:
                self._transports.append(transport)
        return transport

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def remember(self, key: str, value: Any) -> None:
        with self._lock:
            self._state[key] = value

    def recall(self, key: str, default: Any = None) -> Any:
        with self._lock:
            return self._state.get(key, default)

    def forget(self, key: str) -> Any:
        with self._lock:
            return self._state.pop(key, None)

    def close(self) -> None:
        with self._lock:
            transports, self._transports = self._transports, []
            self._state.clear()
        for transport in transports:
            transport.close()
