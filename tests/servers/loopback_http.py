"""What the small HTTP servers of the tests share: a handler that keeps quiet, a threaded
server bound to a free 127.0.0.1 port, and serving it for a fixture's lifetime."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from typing import TypeVar


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that writes no access log to stderr."""

    def log_message(self, format: str, *args: object) -> None:
        pass


class LoopbackHTTPServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP server on a free 127.0.0.1 port; ``base_url`` says where."""

    daemon_threads = True

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"


S = TypeVar("S", bound=LoopbackHTTPServer)


@contextlib.contextmanager
def serving(server: S, name: str, poll_interval: float = 0.5) -> Iterator[S]:
    """Serve in a daemon thread while inside; shut down and close on the way out."""
    thread = threading.Thread(target=server.serve_forever, args=(poll_interval,), name=name,
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
