"""panva's ``oidc-provider`` (npm) on 127.0.0.1, wrapped by tests/node/oidc_server.js with
discovery, device flow, revocation, introspection, ``iss`` in authorization responses and
every client authentication method turned on; and a person who signs in there, played
by headless Chromium through tests/node/sign_in.js.

``OidcProvider(clients)`` takes oidc-provider client metadata; ``standard_clients()``
gives a confidential and a public client that allow every grant the connector uses.
"""

from __future__ import annotations

import json
import shlex
import shutil
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .browser import _reset_webbrowser, find_chromium
from .missing import missing

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
SERVER = NODE_DIR / "oidc_server.js"
SIGN_IN = NODE_DIR / "sign_in.js"
START_SECONDS = 30
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ALL_GRANTS = ["authorization_code", "refresh_token", "client_credentials", DEVICE_GRANT]
CONFIDENTIAL_ID, CONFIDENTIAL_SECRET = "cdata-confidential", "oidc-confidential-secret-4Vq"
PUBLIC_ID = "cdata-public"


def _node() -> str:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        missing("node", "the oidc-provider tests need Node.js 20 (apt-get install nodejs)")
    for package in ("oidc-provider", "playwright-core"):
        if not (NODE_DIR / "node_modules" / package).is_dir():
            missing(package, f"run `npm ci` in {NODE_DIR}")
    return node


def standard_clients() -> list[dict[str, Any]]:
    """A confidential client (client_secret_basic) and a public one (PKCE), both native
    (any loopback port) and allowed every grant the connector uses."""
    common = {"application_type": "native", "grant_types": ALL_GRANTS,
              "redirect_uris": ["http://127.0.0.1/callback"], "response_types": ["code"]}
    return [
        {**common, "client_id": CONFIDENTIAL_ID, "client_secret": CONFIDENTIAL_SECRET,
         "token_endpoint_auth_method": "client_secret_basic"},
        {**common, "client_id": PUBLIC_ID, "token_endpoint_auth_method": "none",
         "grant_types": ["authorization_code", "refresh_token", DEVICE_GRANT]},
    ]


class OidcProvider:
    """A running oidc-provider; ``issuer`` is its base URL, discovery included."""

    def __init__(self, clients: list[dict[str, Any]] | None = None,
                 ttl: dict[str, int] | None = None) -> None:
        self.node = _node()
        self.clients = standard_clients() if clients is None else clients
        self.process = subprocess.Popen(
            [self.node, str(SERVER)], cwd=NODE_DIR, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"clients": self.clients, "ttl": ttl or {}}) + "\n")
        self.process.stdin.flush()
        line: list[str] = []
        stdout = self.process.stdout
        reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(START_SECONDS)
        if not line or not line[0].strip():
            self.stop()
            raise RuntimeError("oidc_server.js did not start: "
                               + (self.process.stderr.read() if self.process.stderr else ""))
        started = json.loads(line[0])
        self.port = int(started["port"])
        self.issuer = str(started["issuer"])

    def metadata(self) -> dict[str, Any]:
        import requests

        answer: dict[str, Any] = requests.get(
            self.issuer + "/.well-known/openid-configuration", timeout=10).json()
        return answer

    def sign_in(self, url: str, user_code: str | None = None, deny: bool = False,
                login: str = "alice") -> dict[str, str]:
        """Headless Chromium opens ``url``, enters ``user_code`` if asked, logs in and
        approves (or denies); returns the final page's URL and text."""
        find_chromium()
        command = [self.node, str(SIGN_IN), url, "--login", login]
        if user_code:
            command += ["--user-code", user_code]
        if deny:
            command.append("--deny")
        done = subprocess.run(command, cwd=NODE_DIR, capture_output=True, text=True,
                              timeout=90, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"sign_in.js failed: {done.stderr.strip()[-2000:]}")
        result: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    def browser_command(self, folder: Path) -> str:
        """A BROWSER command that signs in at whatever URL the connector opens, in the
        background (webbrowser waits for the command; the connector must not)."""
        script = folder / "oidc-sign-in"
        script.write_text(
            "#!/bin/sh\n"
            f"cd {shlex.quote(str(NODE_DIR))} && "
            f"{shlex.quote(self.node)} {shlex.quote(str(SIGN_IN))} \"$1\" "
            f">> {shlex.quote(str(folder / 'oidc-sign-in.log'))} 2>&1 &\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        return str(script)

    def stop(self) -> None:
        if self.process.poll() is None:
            if self.process.stdin is not None:
                self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """One oidc-provider for the session, with ``standard_clients()``."""
    provider = OidcProvider()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def oidc_browser(oidc_provider: OidcProvider, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[OidcProvider]:
    """BROWSER set, for this test, to a person who signs in at oidc-provider."""
    find_chromium()
    _reset_webbrowser(monkeypatch)
    monkeypatch.setenv("BROWSER", oidc_provider.browser_command(tmp_path))
    yield oidc_provider
