"""A real browser for AuthMode=APP: Debian's chromium, headless, installed as the BROWSER
that Python's ``webbrowser`` runs. It loads the authorization URL, follows the provider's
redirect to the loopback listener, prints the page it lands on and exits.
"""

from __future__ import annotations

import shlex
import shutil
import stat
import time
import webbrowser
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .missing import missing

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--no-proxy-server", "--dump-dom",
)
_DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "TERM", "BROWSER")


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    missing("chromium", "the APP mode tests need it (apt-get install chromium)")


@dataclass
class HeadlessBrowser:
    """The wrapper script that BROWSER names, and what each run printed."""

    command: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_output(self, text: str, limit: float = 30.0) -> str:
        """The output once it holds ``text``: chromium dumps the page after the listener
        has already answered, so the statement can finish before the dump is written."""
        deadline = time.monotonic() + limit
        while text not in (output := self.output()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return output


def _reset_webbrowser(monkeypatch: pytest.MonkeyPatch) -> None:
    """webbrowser reads BROWSER once per process; make it read it again for this test."""
    monkeypatch.setattr(webbrowser, "_tryorder", None, raising=False)
    monkeypatch.setattr(webbrowser, "_browsers", {}, raising=False)
    for name in _DISPLAY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def headless_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HeadlessBrowser]:
    """BROWSER set to headless chromium with a fresh profile, for this test only."""
    chromium = find_chromium()
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    log = tmp_path / "chromium.log"
    command = tmp_path / "headless-chromium"
    flags = " ".join(shlex.quote(f) for f in CHROMIUM_FLAGS)
    command.write_text(
        "#!/bin/sh\n"
        f"exec {shlex.quote(chromium)} {flags} --user-data-dir={shlex.quote(str(profile))} "
        f"\"$1\" >>{shlex.quote(str(log))} 2>&1 </dev/null\n")
    command.chmod(command.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    _reset_webbrowser(monkeypatch)
    monkeypatch.setenv("BROWSER", str(command))
    monkeypatch.setenv("HOME", str(tmp_path))  # chromium writes caches under HOME
    yield HeadlessBrowser(command, log)


@pytest.fixture
def no_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No browser can be opened: BROWSER names a command that fails, and without DISPLAY
    or TERM webbrowser registers nothing else."""
    _reset_webbrowser(monkeypatch)
    failing = tmp_path / "no-browser"
    failing.write_text("#!/bin/sh\nexit 3\n")
    failing.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(failing))
    yield failing
