"""A fast loopback token endpoint: HTTP/1.1 with keep-alive, one fixed JSON token.

It runs in its own process (``TokenServer`` starts it) so that serving does not take the
benchmark's GIL; every contender of benchmark 2 talks to the same one.
``python -m benchmarks.tokenserver`` prints the port, then serves until stdin closes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

ACCESS_TOKEN = "bench-access-token"
REFRESH_TOKEN = "bench-refresh-token"
BODY = json.dumps({"access_token": ACCESS_TOKEN, "token_type": "Bearer",
                   "expires_in": 3600, "refresh_token": REFRESH_TOKEN}).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms stalls

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: logging every request would dominate the figures."""


def serve() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()  # until the parent closes our stdin (or dies)
    server.shutdown()


class TokenServer:
    """Starts the server process; ``token_url`` is its endpoint; stops it on exit."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.tokenserver"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if not line.isdigit():
            self.close()
            raise RuntimeError(f"the token server did not start (it printed {line!r})")
        self.token_url = f"http://127.0.0.1:{int(line)}/token"

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> TokenServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


if __name__ == "__main__":
    serve()
