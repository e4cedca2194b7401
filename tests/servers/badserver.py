"""A token endpoint on 127.0.0.1 that answers badly on purpose, one way per path:
what real providers and the proxies in front of them send when things go wrong.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from urllib.parse import parse_qsl

import pytest

from .loopback_http import LoopbackHTTPServer, QuietHandler, serving

Answer = tuple[int, str, bytes]  # status, content type, body


def _json(status: int, value: object) -> Answer:
    return status, "application/json", json.dumps(value).encode()


def _echo_form(form: dict[str, str]) -> Answer:
    """A 500 page that quotes what it was sent (secrets included), as some servers do."""
    quoted = " ".join(f"{k}={v}" for k, v in form.items())
    return 500, "text/html", f"<html><body><h1>Internal error</h1><p>{quoted}</p></body></html>"\
        .encode()


ANSWERS: dict[str, Callable[[dict[str, str]], Answer]] = {
    "/html500": lambda _f: (500, "text/html; charset=utf-8",
                            b"<!DOCTYPE html><html><head><title>500 Internal Server Error"
                            b"</title></head><body><h1>Oops</h1></body></html>"),
    "/invalid-json": lambda _f: (200, "application/json", b'{"access_token": "abc", '),
    "/no-access-token": lambda _f: _json(200, {"token_type": "Bearer", "expires_in": 3600}),
    "/form-error": lambda _f: (400, "application/x-www-form-urlencoded",
                               b"error=invalid_client&error_description=Client+authentication"
                               b"+failed&error_uri=https%3A%2F%2Fdocs.example%2Ferrors"),
    "/json-error": lambda _f: _json(401, {"error": "invalid_client",
                                          "error_description": "Unknown client",
                                          "error_uri": "https://docs.example/invalid_client"}),
    "/json-error-200": lambda _f: _json(200, {"error": "invalid_grant"}),
    "/json-404": lambda _f: _json(404, {"message": "no such route"}),
    "/empty-502": lambda _f: (502, "text/plain", b""),
    "/plain-text": lambda _f: (200, "text/plain", b"Everything is fine, have a nice day."),
    "/form-token-plain": lambda _f: (200, "text/plain; charset=utf-8",
                                     b"access_token=form-access-1&token_type=bearer&expires=5183999"),
    "/form-token": lambda _f: (200, "application/x-www-form-urlencoded",
                               b"access_token=form-access-2&token_type=bearer&expires_in=60"),
    "/json-nested": lambda _f: _json(200, {"access_token": "nested-1", "token_type": "Bearer",
                                           "profile": {"name": "Ann", "roles": ["a", "b"]}}),
    "/echo-500": _echo_form,
}


def _unknown_path(_form: dict[str, str]) -> Answer:
    return 404, "text/plain", b"unknown path"


class _Handler(QuietHandler):
    server: BadServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        form = dict(parse_qsl(raw, keep_blank_values=True))
        path = self.path.split("?", 1)[0]
        self.server.log.append({"path": path, "headers": dict(self.headers), "body": raw})
        if path == "/slow":
            time.sleep(self.server.slow_seconds)
            answer = _json(200, {"access_token": "too-late"})
        else:
            answer = ANSWERS.get(path, _unknown_path)(form)
        status, content_type, body = answer
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (the /slow case)


class BadServer(LoopbackHTTPServer):
    def __init__(self) -> None:
        super().__init__(_Handler)
        self.log: list[dict[str, object]] = []
        self.slow_seconds = 5.0

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="session")
def bad_server() -> Iterator[BadServer]:
    with serving(BadServer(), "badserver") as server:
        yield server
