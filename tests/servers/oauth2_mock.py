"""The npm ``oauth2-mock-server`` on 127.0.0.1, wrapped by tests/node/mock_server.js so that
tests can see every request it received and tweak its next token answer.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from .missing import missing

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
SCRIPT = NODE_DIR / "mock_server.js"
START_SECONDS = 30


class OAuth2MockServer:
    """A running oauth2-mock-server and the control routes of mock_server.js."""

    def __init__(self) -> None:
        node = shutil.which("node") or shutil.which("nodejs")
        if node is None:
            missing("node", "the oauth2-mock-server tests need Node.js 20 (apt-get install nodejs)")
        if not (NODE_DIR / "node_modules" / "oauth2-mock-server").is_dir():
            missing("oauth2-mock-server", f"run `npm ci` in {NODE_DIR}")
        self.process = subprocess.Popen(
            [node, str(SCRIPT)], cwd=NODE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        stdout = self.process.stdout
        assert stdout is not None
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(START_SECONDS)
        if not line or not line[0].strip():
            self.stop()
            raise RuntimeError("mock_server.js did not start: "
                               + (self.process.stderr.read() if self.process.stderr else ""))
        self.port = int(json.loads(line[0])["port"])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.token_url = self.base_url + "/token"
        self.authorization_url = self.base_url + "/authorize"
        self.client_id = "mock-client"
        self.client_secret = "mock-secret-value"

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """Requests received since the last clear(), oldest first; filter by path."""
        seen: list[dict[str, Any]] = requests.get(self.base_url + "/__requests", timeout=10).json()
        return [r for r in seen if path is None or r["path"] == path]

    def token_requests(self) -> list[dict[str, Any]]:
        return self.requests("/token")

    def clear(self) -> None:
        requests.delete(self.base_url + "/__requests", timeout=10).raise_for_status()

    def next_token_response(self, **tweak: Any) -> None:
        """Tweak the next token answer: status=, body=, merge={...}, drop=[...]."""
        requests.post(self.base_url + "/__next_response", json=tweak,
                      timeout=10).raise_for_status()

    def connection_properties(self, **overrides: Any) -> dict[str, Any]:
        props: dict[str, Any] = {
            "OAuthVersion": "2.0",
            "OAuthClientId": self.client_id,
            "OAuthClientSecret": self.client_secret,
            "OAuthAuthorizationURL": self.authorization_url,
            "OAuthAccessTokenURL": self.token_url,
            "CallbackURL": "http://127.0.0.1:0/callback",
            "Timeout": 20,
        }
        for name, value in overrides.items():
            props = {k: v for k, v in props.items() if k.lower() != name.lower()}
            if value is not None:
                props[name] = value
        return props

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="session")
def oauth2_mock_server() -> Iterator[OAuth2MockServer]:
    server = OAuth2MockServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def oauth2_mock(oauth2_mock_server: OAuth2MockServer) -> Iterator[OAuth2MockServer]:
    """The session server with its request log and answer tweaks cleared for this test."""
    oauth2_mock_server.clear()
    yield oauth2_mock_server
    oauth2_mock_server.clear()


def execute_row(connection: Any, statement: str, parameters: Any = None) -> dict[str, Any]:
    """Run one EXEC and return its single row as {column: value}."""
    cursor = connection.cursor()
    cursor.execute(statement, parameters)
    row = cursor.fetchone()
    assert row is not None
    assert cursor.fetchone() is None
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}
