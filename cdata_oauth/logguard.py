"""Secrets in the log records of the libraries the connector hands them to.

oauthlib logs the parameters it signs and the OAuth 1.0a signature base string at DEBUG
(verifier, request token, all percent-encoded once or twice); urllib3 logs request lines,
query strings included. The connector's own records are masked by ``HttpLog``; these
records are made by other code, possibly in other threads, so they are masked where every
record is made: a log record factory rewrites each record of those libraries with the
LogFile masking (``mask_text`` by field name, ``scrub`` by value) against the secrets the
connector is using at that moment, in any thread. No record, no work: a logger that is not
enabled for a level never makes the record, so this costs nothing while logging is off.

A factory rather than logging.Filter objects: a logger's filters do not see the records of
its children (oauthlib.oauth1.rfc5849.signature, urllib3.connectionpool ...), which these
libraries create as they import their modules. The factory is installed at the first
registration and calls the one it replaced; code that later sets a factory without calling
the previous one ends this masking.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Sequence
from typing import Any

from cdata_oauth.redaction import mask_text, scrub

__all__ = ["MAX_VALUES", "WATCHED_LOGGERS", "in_use", "live_values", "mask_live"]

#: Top-level logger names whose records (and their children's) are masked: the libraries
#: the connector calls, pysocks for SOCKS, and the charset detectors requests hands bodies.
WATCHED_LOGGERS = frozenset({"oauthlib", "requests_oauthlib", "urllib3", "requests", "socks",
                             "charset_normalizer", "chardet"})
#: At most this many distinct values are masked at once (newest registrations first), so
#: that a runaway caller cannot make every record pay for an unbounded pattern.
MAX_VALUES = 1024

_lock = threading.Lock()
_in_use: dict[int, Sequence[object]] = {}
_keys = itertools.count()
_installed = False


class in_use:
    """While inside, ``values`` are masked in every watched record, whatever the thread.

    The sequence is held by reference: a secret a flow appends later (a request token, a
    verifier, a code) is masked from then on. (A class, not a generator: every statement
    enters one.)"""

    __slots__ = ("_key", "_values")

    def __init__(self, values: Sequence[object]) -> None:
        self._values = values
        self._key = 0

    def __enter__(self) -> None:
        _install()
        self._key = next(_keys)
        with _lock:
            _in_use[self._key] = self._values

    def __exit__(self, *exc_info: object) -> None:
        with _lock:
            _in_use.pop(self._key, None)


def live_values() -> list[str]:
    """The distinct secret values in use now, newest registration first, bounded."""
    with _lock:
        held = [list(values) for values in reversed(_in_use.values())]
    found = dict.fromkeys(str(v) for values in held for v in values if v not in (None, ""))
    return list(found)[:MAX_VALUES]


def mask_live(text: str) -> str:
    """The LogFile masking of free text: secret-named fields, then the values in use."""
    return scrub(mask_text(text), live_values())


def _install() -> None:
    """Wrap the process's log record factory once (the previous one still makes records)."""
    global _installed
    if _installed:
        return
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if str(record.name).partition(".")[0] in WATCHED_LOGGERS:
                _mask_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


def _mask_record(record: logging.LogRecord) -> None:
    """Rewrite a record whose text holds a secret: the masked message, no args; and the
    rendered traceback instead of the exception, when that held one. Records without a
    secret keep their message and args as made."""
    try:
        text, failed = record.getMessage(), False
    except Exception:  # a bad format: a handler would print msg and args verbatim
        text, failed = f"{record.msg} {record.args}", True
    shown = mask_live(text)
    if failed or shown != text:
        record.msg, record.args = shown, ()
    if record.exc_info and record.exc_info[1] is not None:
        rendered = logging.Formatter().formatException(record.exc_info)
        masked = mask_live(rendered)
        if masked != rendered:
            record.exc_text, record.exc_info = masked, None
