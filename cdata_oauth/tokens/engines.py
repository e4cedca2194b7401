"""What the Redis and PostgreSQL stores share: reading their URL, the re-entrant lock that
wraps the engine's lock, the lease's owner state, and a watchdog that bounds a blocked
socket call by ``Timeout``.

The lock is two-level. Threads of one process queue on a thread lock (one per location
and process), so at most one of them talks to the engine's lock; the outermost holder
takes the engine's lock (Redis ``SET NX PX`` with an owner token, PostgreSQL an advisory
lock in the writing transaction), which lives for a lease (Timeout plus a margin) unless
released, so a holder killed with ``kill -9`` frees it when the lease ends.
"""

from __future__ import annotations

import heapq
import itertools
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from cdata_oauth.exceptions import OperationalError, ProgrammingError
from cdata_oauth.lazy import optional_module
from cdata_oauth.redaction import mask_url, scrub

__all__ = ["EngineLock", "EngineURL", "OuterLock", "driver", "engine_lock", "watchdog"]

_KEY = re.compile(r"[\x21-\x7e]{1,200}")


def driver(module: str, extra: str, scheme: str) -> Any:
    """The driver module of an extra, or ``ProgrammingError`` saying what to install."""
    found = optional_module(module)
    if found is None:
        raise ProgrammingError(
            f"OAuthSettingsLocation {scheme}://... needs the {module} driver, which is not "
            f"installed; install it with: pip install cdata_oauth[{extra}]")
    return found


@dataclass(frozen=True)
class EngineURL:
    """A location read as a URL: where the engine is, and the query options."""

    location: str
    scheme: str
    host: str
    port: int | None
    username: str | None
    password: str | None = field(repr=False)
    path: str
    options: dict[str, str]

    @property
    def shown(self) -> str:
        """The location as messages show it: the password (all user info) masked."""
        return mask_url(self.location)

    @property
    def address(self) -> str:
        """``scheme://host:port/path`` with no user info or query: the store's name in
        messages about the engine."""
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{self.host}{port}{self.path}"

    def scrub(self, text: str) -> str:
        """A driver's message, with the password removed should it carry it."""
        return scrub(text, [self.password] if self.password else [])

    def entry_name(self, default: str) -> str:
        name = self.options.get("key", default)
        if not _KEY.fullmatch(name):
            raise ProgrammingError(
                f"OAuthSettingsLocation {self.shown}: key={name!r} is not a valid entry "
                "name; use 1 to 200 printable characters without spaces.")
        return name


def parse_engine_url(location: str, known: Sequence[str], example: str) -> EngineURL:
    """Split a location; ``ProgrammingError`` naming what is wrong, password masked."""
    shown = mask_url(location)
    try:
        parts = urlsplit(location)
        port = parts.port
    except ValueError as exc:
        raise ProgrammingError(f"OAuthSettingsLocation {shown} is not a valid URL ({exc}); "
                               f"write it as {example}.") from None
    if not parts.hostname:
        raise ProgrammingError(f"OAuthSettingsLocation {shown} names no host; write it as "
                               f"{example}.")
    if parts.fragment:
        raise ProgrammingError(f"OAuthSettingsLocation {shown} has a #fragment; remove it.")
    options: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in options:
            raise ProgrammingError(f"OAuthSettingsLocation {shown} gives {name}= twice; "
                                   "give it once.")
        options[name] = value
    unknown = [name for name in options if name not in known]
    if unknown and "*" not in known:
        raise ProgrammingError(
            f"OAuthSettingsLocation {shown}: unknown option {unknown[0]!r}; the options are "
            + ", ".join(f"{k}=" for k in known) + ".")
    return EngineURL(location, parts.scheme.lower(), parts.hostname, port,
                     unquote(parts.username) if parts.username else None,
                     unquote(parts.password) if parts.password is not None else None,
                     parts.path, options)


class OuterLock(Protocol):
    """The engine's part of a store lock, taken by the outermost holder of a process."""

    def acquire(self) -> None: ...

    def release(self, succeeded: bool) -> None: ...


class EngineLock:
    """Re-entrant per thread: a thread lock, plus the engine's lock at the outermost level.

    ``version`` is the entry version the holder last read (None: not read yet), which a
    write must still find (compare and swap); ``acquired_at`` starts the lease.
    """

    def __init__(self, describe: str, wait: float) -> None:
        self.describe = describe
        self.wait = wait
        self._thread_lock = threading.RLock()
        self._owner: int | None = None
        self._depth = 0
        self.version: int | None = None
        self.acquired_at = 0.0
        self.fence: Any = None  # what proves the engine's lock is still ours (Redis: token)

    def held_here(self) -> bool:
        """True when the calling thread holds this lock."""
        return self._owner == threading.get_ident() and self._depth > 0

    @contextmanager
    def hold(self, outer: OuterLock) -> Iterator[None]:
        if not self._thread_lock.acquire(timeout=self.wait):
            raise OperationalError(
                f"Timed out after {self.wait:g} seconds waiting for another thread that "
                f"holds the token store {self.describe}.")
        try:
            if self._depth == 0:
                self.version = None
                outer.acquire()
                self.acquired_at = time.monotonic()
                self._owner = threading.get_ident()
            self._depth += 1
            succeeded = False
            try:
                yield
                succeeded = True
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._owner = None
                    self.version = self.fence = None
                    outer.release(succeeded)
        finally:
            self._thread_lock.release()


_locks: dict[str, EngineLock] = {}
_locks_guard = threading.Lock()


def engine_lock(key: str, describe: str, wait: float) -> EngineLock:
    """The one lock of a location in this process, shared by every connection."""
    with _locks_guard:
        found = _locks.get(key)
        if found is None:
            found = _locks[key] = EngineLock(describe, wait)
        return found


class Watchdog:
    """Ends a socket call that outlives its deadline by shutting the socket down, so a
    frozen engine (SIGSTOP) costs at most Timeout; one thread per process, polled."""

    POLL = 0.25

    def __init__(self) -> None:
        self._armed: dict[int, tuple[float, Callable[[], None]]] = {}
        self._heap: list[tuple[float, int]] = []
        self._ids = itertools.count()
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def deadline(self, seconds: float, fileno: Callable[[], int]) -> Iterator[list[bool]]:
        """While inside, a call on the socket ``fileno()`` ends after ``seconds``; the
        yielded list holds True once the watchdog fired."""
        fired: list[bool] = []
        if seconds <= 0:
            yield fired
            return

        def expire() -> None:
            fired.append(True)
            _shutdown(fileno)

        ident = next(self._ids)
        when = time.monotonic() + seconds
        with self._guard:
            self._armed[ident] = (when, expire)
            heapq.heappush(self._heap, (when, ident))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="cdata_oauth-store-watchdog")
                self._thread.start()
        try:
            yield fired
        finally:
            with self._guard:
                self._armed.pop(ident, None)

    def _run(self) -> None:
        while True:
            time.sleep(self.POLL)
            now = time.monotonic()
            due: list[Callable[[], None]] = []
            with self._guard:
                while self._heap and self._heap[0][0] <= now:
                    _, ident = heapq.heappop(self._heap)
                    found = self._armed.pop(ident, None)
                    if found is not None:
                        due.append(found[1])
            for expire in due:
                expire()


def _shutdown(fileno: Callable[[], int]) -> None:
    try:
        fd = os.dup(fileno())
    except Exception:  # the connection is already gone (closed: no descriptor to dup)
        return
    try:
        with socket.socket(fileno=fd) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


watchdog = Watchdog()
