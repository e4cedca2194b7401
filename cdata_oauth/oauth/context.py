"""What an operation may use of its connection: properties, HTTP transports, and what
WEB mode's first statement leaves for its second (``pending``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cdata_oauth.config.inputs import Inputs
from cdata_oauth.config.properties import ConnectionProperties
from cdata_oauth.lazy import resolve
from cdata_oauth.oauth.pending import Pending
from cdata_oauth.transport.settings import TransportSettings

if TYPE_CHECKING:
    from cdata_oauth.transport.session import Transport

__all__ = ["TRANSPORTS_PER_THREAD", "ConnectionContext"]

TRANSPORT = "cdata_oauth.transport.session:Transport"
"""Loaded at a connection's first request: requests and the rest of transport come with it."""

TRANSPORTS_PER_THREAD = 8
"""Distinct transport settings a thread keeps open; the least recently used is closed."""


class ConnectionContext:
    """Per-connection resources; safe to share between threads (threadsafety 2)."""

    def __init__(self, properties: ConnectionProperties) -> None:
        self.properties = properties
        self._caches: dict[threading.Thread, OrderedDict[TransportSettings, Transport]] = {}
        self._cache_lock = threading.Lock()  # not .lock: operations may hold that long
        self.authorizations: Pending[str | None] = Pending()
        """OAuth 2.0 WEB mode: each state GetOAuthAuthorizationURL made, with its PKCE
        verifier, until the code exchange that uses it."""
        self.request_tokens: Pending[str] = Pending()
        """OAuth 1.0a WEB mode: each request token obtained, with its secret, until the
        exchange that uses it."""
        self.device_codes: Pending[tuple[float, float, float]] = Pending()
        """RFC 8628: each device code GetOAuthDeviceCode obtained (by its SHA-256), with
        when it came, its interval and its expiry, for GetOAuthAccessToken's wait."""
        self._last_settings: tuple[Inputs, TransportSettings] | None = None

    def transport(self, inputs: Mapping[str, Any]) -> Transport:
        """A transport for these inputs, reused per thread while its settings match.

        Each thread has its own (requests sessions are not thread-safe); a thread keeps at
        most TRANSPORTS_PER_THREAD, and the transports of finished threads are closed, so
        a long-lived connection does not pile up sockets.
        """
        last = self._last_settings  # the same (immutable) Inputs again: a repeated statement
        if last is not None and last[0] is inputs:
            settings = last[1]
        else:
            settings = TransportSettings.from_inputs(inputs)
            if isinstance(inputs, Inputs):
                self._last_settings = (inputs, settings)
        me = threading.current_thread()
        stale: list[Transport] = []
        with self._cache_lock:
            cache = self._caches.get(me)
            if cache is None:
                for thread in [t for t in self._caches if not t.is_alive()]:
                    stale.extend(self._caches.pop(thread).values())
                cache = self._caches[me] = OrderedDict()
            transport = cache.get(settings)
            if transport is not None:
                cache.move_to_end(settings)
        if transport is None:
            transport = self.new_transport(settings)
            with self._cache_lock:
                cache[settings] = transport
                while len(cache) > TRANSPORTS_PER_THREAD:
                    stale.append(cache.popitem(last=False)[1])
        for old in stale:
            old.close()
        return transport

    def new_transport(self, settings: TransportSettings) -> Transport:
        """A transport of its own for these settings (the first loads the transport layer)."""
        transport: Transport = resolve(TRANSPORT)(settings)
        return transport

    def close(self) -> None:
        with self._cache_lock:
            transports = [t for cache in self._caches.values() for t in cache.values()]
            self._caches.clear()
        self.authorizations.clear()
        self.request_tokens.clear()
        self.device_codes.clear()
        for transport in transports:
            transport.close()
