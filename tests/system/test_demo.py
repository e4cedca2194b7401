"""``cdata-oauth demo``, run as the README says (the installed console script, in its own
process, with no browser and no extra servers): every grant's row must appear, and the
output is the one the getting-started page shows."""

from __future__ import annotations

import re

from tests.cli_support import run_cli
from tests.docs_support import DOCS, blocks

GRANTS = ("CLIENT", "PASSWORD", "CODE", "DEVICE", "REFRESH")


def test_demo_runs_every_grant_and_prints_each_row() -> None:
    result = run_cli("demo", timeout=180)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("GrantType"))
    assert header.split()[:5] == ["GrantType", "OAuthAccessToken", "OAuthTokenSecret",
                                  "OAuthRefreshToken", "ExpiresIn"]
    rows = {line.split()[0]: line.split() for line in lines[lines.index(header) + 2:]
            if line.split() and line.split()[0] in GRANTS}
    assert set(rows) == set(GRANTS)
    for grant, cells in rows.items():
        assert cells[1] == "at_...", cells  # a token was issued, and it is shortened
        assert "3600" in cells and "Bearer" in cells
        expected_refresh = "NULL" if grant == "CLIENT" else "rt_..."
        assert cells[2] == expected_refresh, cells
    # the rotation check and the provider's own count of what it issued
    assert re.search(r"old refresh token -> OAuthError invalid_grant", result.stdout)
    assert ("authorization_code=1, client_credentials=1, password=1, refresh_token=1, "
            "urn:ietf:params:oauth:grant-type:device_code=1" in result.stdout)
    # the device grant's prompt went to stderr, never to stdout
    assert re.search(r"To sign in, open http://127\.0\.0\.1:\d+/device and enter "
                     r"[A-Z]{4}-[A-Z]{4}", result.stderr)
    assert "To sign in" not in result.stdout


def test_demo_needs_no_real_browser_and_never_prints_a_whole_token() -> None:
    # a BROWSER that cannot open anything: the demo's in-process browser goes first
    result = run_cli("demo", timeout=180, env={"BROWSER": "false"})
    assert result.returncode == 0, result.stderr
    assert not re.search(r"\b(at|rt)_[A-Za-z0-9_-]{8,}", result.stdout + result.stderr)


def test_demo_help() -> None:
    result = run_cli("demo", "--help")
    assert result.returncode == 0
    assert "CLIENT, PASSWORD, CODE" in " ".join(result.stdout.split())


def test_demo_output_is_the_one_the_getting_started_page_shows() -> None:
    shown = next(b for b in blocks(DOCS / "getting-started.md") if b.marker == "demo-output")
    result = run_cli("demo", timeout=180)
    assert result.returncode == 0, result.stderr
    # the page writes <port> where the demo prints the provider's free port
    expected = [re.escape(line).replace(re.escape("<port>"), r"\d+")
                for line in shown.text.splitlines()]
    actual = result.stdout.splitlines()
    assert len(actual) == len(expected), result.stdout
    for pattern, line in zip(expected, actual, strict=True):
        assert re.fullmatch(pattern, line), (shown.where, line)
