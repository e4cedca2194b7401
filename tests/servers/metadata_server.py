"""An authorization server of ours on 127.0.0.1 whose metadata documents, token,
revocation and introspection answers a test sets path by path: for every way discovery
can fail (not JSON, no issuer, another issuer, 404 on both well-known paths, endpoints the
URL policy refuses) and for counting requests server-side (cache, single flight).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest

from cdata_oauth.oauth import discovery

from .loopback_http import LoopbackHTTPServer, QuietHandler, serving


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(QuietHandler):
    server: MetadataServer

    def _answer(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        with self.server.guard:
            self.server.hits[(method, path)] += 1
            self.server.log.append({"method": method, "path": path,
                                    "headers": dict(self.headers),
                                    "form": dict(parse_qsl(raw, keep_blank_values=True))})
        if method == "GET" and self.server.delay:
            time.sleep(self.server.delay)  # lets concurrent callers pile up
        route = self.server.routes.get((method, path)) or Route(404, b"not found", "text/plain")
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(route.body)))
        for name, value in route.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(route.body)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")


class MetadataServer(LoopbackHTTPServer):
    def __init__(self) -> None:
        super().__init__(_Handler)
        self.routes: dict[tuple[str, str], Route] = {}
        self.hits: Counter[tuple[str, str]] = Counter()
        self.log: list[dict[str, Any]] = []
        self.guard = threading.Lock()
        self.delay = 0.0

    def reset(self) -> None:
        with self.guard:
            self.routes.clear()
            self.hits.clear()
            self.log.clear()
        self.delay = 0.0

    def new_issuer(self) -> str:
        """A fresh issuer on this server (a path of its own): discovery's process-wide
        cache never holds it yet."""
        return f"{self.base_url}/t{uuid.uuid4().hex[:12]}"

    def path_of(self, url: str) -> str:
        assert url.startswith(self.base_url), url
        return url[len(self.base_url):] or "/"

    def serve(self, method: str, url: str, status: int = 200, body: Any = None,
              content_type: str = "application/json", headers: dict[str, str] | None = None
              ) -> None:
        """Answer ``method url`` with ``body`` (a dict or list as JSON, text as it is)."""
        data = body.encode() if isinstance(body, str) else \
            b"" if body is None else json.dumps(body).encode()
        self.routes[(method, self.path_of(url))] = Route(status, data, content_type,
                                                         dict(headers or {}))

    def metadata(self, issuer: str, /, **fields: Any) -> dict[str, Any]:
        """A complete metadata document of ``issuer`` (fields override or add)."""
        document: dict[str, Any] = {
            "issuer": issuer,
            "authorization_endpoint": issuer + "/authorize",
            "token_endpoint": issuer + "/token",
            "revocation_endpoint": issuer + "/revoke",
            "introspection_endpoint": issuer + "/introspect",
            "response_types_supported": ["code"],
        }
        for name, value in fields.items():
            if value is None:
                document.pop(name, None)
            else:
                document[name] = value
        return document

    def count(self, method: str, url: str) -> int:
        with self.guard:
            return self.hits[(method, self.path_of(url))]

    def posts(self, url: str) -> list[dict[str, Any]]:
        path = self.path_of(url)
        with self.guard:
            return [r for r in self.log if r["method"] == "POST" and r["path"] == path]


@pytest.fixture(scope="session")
def metadata_server_session() -> Iterator[MetadataServer]:
    with serving(MetadataServer(), "metadata-server") as server:
        yield server


@pytest.fixture
def metadata_server(metadata_server_session: MetadataServer) -> Iterator[MetadataServer]:
    """The session's server with no routes, no counts and an empty discovery cache."""
    metadata_server_session.reset()
    discovery.clear_cache()
    yield metadata_server_session
    metadata_server_session.reset()
    discovery.clear_cache()
