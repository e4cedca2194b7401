"""Deadlines for blocking network calls: one daemon thread runs every due alarm of the
process, so arming one costs a heap push, not a thread.

Per-read socket timeouts cannot bound a whole request: a server that sends one byte a
second satisfies each read. The transport arms an alarm at Timeout that shuts its
sockets down, which ends any read in progress.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable

__all__ = ["Alarm", "schedule"]


class Alarm:
    """A scheduled call; ``cancel()`` before it is due and it never runs."""

    __slots__ = ("action", "due", "fired")

    def __init__(self, due: float, action: Callable[[], None]) -> None:
        self.due = due
        self.action: Callable[[], None] | None = action
        self.fired = False

    def cancel(self) -> None:
        self.action = None


_heap: list[tuple[float, int, Alarm]] = []
_order = itertools.count()
_wake = threading.Condition()
_runner: threading.Thread | None = None


def schedule(seconds: float, action: Callable[[], None]) -> Alarm:
    """Run ``action`` (quickly, without raising) in ``seconds`` unless cancelled."""
    global _runner
    alarm = Alarm(time.monotonic() + seconds, action)
    with _wake:
        heapq.heappush(_heap, (alarm.due, next(_order), alarm))
        if _runner is None or not _runner.is_alive():
            _runner = threading.Thread(target=_run, name="cdata_oauth-alarms", daemon=True)
            _runner.start()
        elif _heap[0][2] is alarm:
            _wake.notify()  # the new alarm is the earliest: the runner sleeps too long
    return alarm


def _run() -> None:
    while True:
        with _wake:
            while _heap and _heap[0][2].action is None:
                heapq.heappop(_heap)  # cancelled: dropped lazily
            if not _heap:
                _wake.wait(60.0)
                continue
            wait = _heap[0][0] - time.monotonic()
            if wait > 0:
                _wake.wait(wait)
                continue
            alarm = heapq.heappop(_heap)[2]
        action = alarm.action
        if action is not None:
            alarm.fired = True
            with contextlib.suppress(Exception):  # an alarm must never kill the runner
                action()
