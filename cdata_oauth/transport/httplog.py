"""LogFile and the ``cdata_oauth`` logger: each request and response, secrets masked.

Every line goes through ``redaction``'s masking: by name (headers such as Authorization;
fields such as client_secret, code, refresh_token in URLs, form and JSON bodies) and, as a
last pass, by value (the known secret settings of the transport).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping

from cdata_oauth.exceptions import OperationalError, ProgrammingError
from cdata_oauth.redaction import mask_body, mask_headers, mask_url, scrub

__all__ = ["HttpLog"]

log = logging.getLogger("cdata_oauth")

class HttpLog:
    """Writes records to LogFile (owner-only, appended) and to the logger at DEBUG."""

    def __init__(self, path: str | None, secrets: Iterable[object]) -> None:
        self.path = path
        self.secrets = [s for s in secrets if s not in (None, "")]
        self._lock = threading.Lock()
        self._local = threading.local()
        if path:
            folder = os.path.dirname(os.path.abspath(os.path.expanduser(path)))
            if not os.path.isdir(folder):
                raise ProgrammingError(
                    f"LogFile {path!r}: the folder {folder!r} does not exist; create it or "
                    "choose another LogFile.")
            self._append("")  # create it now (0600) so a bad path fails before any request

    @property
    def active(self) -> bool:
        return bool(self.path) or log.isEnabledFor(logging.DEBUG)

    def request(self, method: str, url: str, headers: Mapping[str, str],
                body: bytes | str | None) -> None:
        if not self.active:
            return
        lines = [f">>> {method} {mask_url(url)}", *mask_headers(headers)]
        shown = mask_body(body, headers.get("Content-Type"))
        self._emit("\n".join(lines) + ("\n\n" + shown if shown else ""))

    def response(self, method: str, url: str, status: int, reason: str,
                 headers: Mapping[str, str], body: bytes | None, seconds: float) -> None:
        if not self.active:
            return
        lines = [f"<<< {status} {reason} ({method} {mask_url(url)}, {seconds:.3f} s)",
                 *mask_headers(headers)]
        shown = mask_body(body, headers.get("Content-Type"))
        self._emit("\n".join(lines) + ("\n\n" + shown if shown else ""))

    def failure(self, method: str, url: str, message: str) -> None:
        if self.active:
            self._emit(f"!!! {method} {mask_url(url)} failed: {message}")

    @contextlib.contextmanager
    def masking(self, secrets: Iterable[object]) -> Iterator[None]:
        """While inside, also mask these values (a statement's client secret, tokens...,
        which a server may echo anywhere in its answer), in every form ``scrub`` knows."""
        extra = [s for s in secrets if s not in (None, "")]
        previous = getattr(self._local, "extra", [])
        self._local.extra = [*previous, *extra]
        try:
            yield
        finally:
            self._local.extra = previous

    def _emit(self, text: str) -> None:
        text = scrub(text, [*self.secrets, *getattr(self._local, "extra", [])])
        stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
        log.debug("%s", text)
        if self.path:
            self._append(f"[{stamp}] {text}\n\n")

    def _append(self, text: str) -> None:
        path = os.path.expanduser(self.path or "")
        try:
            with self._lock:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with open(fd, "a", encoding="utf-8") as handle:
                    handle.write(text)
        except OSError as exc:
            raise (ProgrammingError if not text else OperationalError)(
                f"LogFile {self.path!r} cannot be written ({exc.strerror or exc}).") from None
