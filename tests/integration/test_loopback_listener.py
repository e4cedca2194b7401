"""The AuthMode=APP loopback listener under attack: where it listens, forged and replayed
callbacks, junk on its port, and its port afterwards. The flows run against the embedded
provider with an in-process browser (ScriptedBrowser) driven by the connector itself."""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psutil
import pytest
import requests

import cdata_oauth
from cdata_oauth.exceptions import OperationalError
from cdata_oauth.oauth.loopback import CallbackListener
from cdata_oauth.provider import EmbeddedProvider
from tests.servers.hostile import ScriptedBrowser


def app_props(p: EmbeddedProvider, **extra: Any) -> dict[str, Any]:
    extra.setdefault("Timeout", 30)
    return p.connection_properties(GrantType="CODE", AuthMode="APP", **extra)


def run_app(p: EmbeddedProvider, **extra: Any) -> dict[str, Any]:
    with cdata_oauth.connect(**app_props(p, **extra)) as conn:
        cursor = conn.execute("EXEC GetOAuthAccessToken")
        row = cursor.fetchone()
        assert row is not None
        return {d[0]: v for d, v in zip(cursor.description or (), row, strict=True)}


def with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def callback_port(authorization_url: str) -> int:
    redirect = dict(parse_qsl(urlsplit(authorization_url).query))["redirect_uri"]
    return urlsplit(redirect).port or 0


def other_addresses() -> list[tuple[socket.AddressFamily, str]]:
    """This machine's own non-loopback addresses (traffic to them stays on the machine)."""
    found = []
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family not in (socket.AF_INET, socket.AF_INET6) or "%" in address.address:
                continue
            ip = ipaddress.ip_address(address.address)
            if not ip.is_loopback and not ip.is_link_local:
                found.append((address.family, address.address))
    return found


def reachable(family: socket.AddressFamily, host: str, port: int) -> bool:
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        return probe.connect_ex((host, port)) == 0


def raw_exchange(port: int, data: bytes, host: str = "127.0.0.1") -> bytes:
    """Send bytes, return whatever comes back before the server closes (or 3 s pass)."""
    with socket.create_connection((host, port), timeout=3) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                piece = sock.recv(65536)
                if not piece:
                    break
                chunks.append(piece)
        except OSError:
            return b""
        return b"".join(chunks)


@pytest.mark.parametrize("callback", ["http://localhost:0/cb", "http://127.0.0.1:0/cb",
                                      "http://[::1]:0/cb", "http://127.0.0.2:0/cb"])
def test_listens_on_loopback_only(callback: str) -> None:
    with CallbackListener(callback, 5) as listener:
        bound = listener._server.socket.getsockname()
        assert ipaddress.ip_address(bound[0]).is_loopback  # never 0.0.0.0 or ::
        port = listener.port
        # the browser reaches it at the address the redirect_uri names
        host = urlsplit(listener.redirect_uri).hostname or ""
        family = socket.AF_INET6 if ":" in bound[0] else socket.AF_INET
        assert reachable(family, "127.0.0.1" if host == "localhost" else host, port)
        for other_family, address in other_addresses():
            assert not reachable(other_family, address, port), address


def test_app_flow_with_localhost_is_not_reachable_from_other_addresses(
        embedded_provider: EmbeddedProvider, scripted_browser: ScriptedBrowser) -> None:
    seen: list[tuple[str, bool]] = []

    def script(url: str) -> None:
        port = callback_port(url)
        for family, address in other_addresses():
            seen.append((address, reachable(family, address, port)))
        scripted_browser.sign_in(url)

    scripted_browser.script = script
    row = run_app(embedded_provider, CallbackURL="http://localhost:0/callback")
    assert embedded_provider.is_access_token_valid(row["OAuthAccessToken"])
    assert scripted_browser.errors == []
    assert all(not ok for _, ok in seen), seen


def test_forged_state_is_refused_and_the_real_answer_still_completes(
        fresh_provider: EmbeddedProvider, scripted_browser: ScriptedBrowser) -> None:
    pages: list[tuple[int, str]] = []

    def script(url: str) -> None:
        landing = scripted_browser.landing(url)
        forged = with_query(landing, state="forged-state", code="attacker-code")
        stateless = with_query(landing, state=None)
        for attempt in (forged, stateless, with_query(landing, state="")):
            answer = requests.get(attempt, timeout=10)
            pages.append((answer.status_code, answer.text))
        pages.append((requests.get(landing, timeout=10).status_code, "real"))

    scripted_browser.script = script
    row = run_app(fresh_provider)
    assert fresh_provider.is_access_token_valid(row["OAuthAccessToken"])
    assert [status for status, _ in pages] == [400, 400, 400, 200], pages
    assert "does not match" in pages[0][1]
    assert fresh_provider.grant_counts["authorization_code"] == 1
    exchanged = [r for r in fresh_provider.token_requests if r.grant_type == "authorization_code"]
    assert len(exchanged) == 1 and exchanged[0].form["code"] != "attacker-code"


def test_only_forged_answers_end_in_the_timeout(embedded_provider: EmbeddedProvider,
                                               scripted_browser: ScriptedBrowser) -> None:
    statuses: list[int] = []

    def script(url: str) -> None:
        landing = scripted_browser.landing(url)
        statuses.append(requests.get(with_query(landing, state="x" * 43), timeout=10)
                        .status_code)

    scripted_browser.script = script
    with pytest.raises(OperationalError, match="timed out waiting for the browser"):
        run_app(embedded_provider, Timeout=2)
    assert statuses == [400]


def test_parallel_callbacks_yield_exactly_one_answer() -> None:
    """Two callbacks with the right state arrive together: one is used, the other is told
    so, and the one used is the one the browser saw succeed."""
    for _ in range(15):
        with CallbackListener("http://127.0.0.1:0/cb", 10) as listener:
            replies: dict[str, bytes] = {}

            def send(code: str, port: int = listener.port,
                     replies: dict[str, bytes] = replies) -> None:
                replies[code] = raw_exchange(
                    port, f"GET /cb?code={code}&state=s HTTP/1.1\r\nHost: x\r\n\r\n".encode())

            senders = [threading.Thread(target=send, args=(c,)) for c in ("A", "B")]
            for sender in senders:
                sender.start()
            time.sleep(0.05)  # both connections wait in the backlog before serving starts
            result = listener.wait(lambda p: None if p.get("state") == "s" else "bad state")
            for sender in senders:
                sender.join(10)
        ok = [c for c, reply in replies.items() if reply.startswith(b"HTTP/1.0 200")]
        assert ok == [result["code"]], replies


def test_a_replayed_callback_after_success_is_not_used(
        fresh_provider: EmbeddedProvider, scripted_browser: ScriptedBrowser) -> None:
    replay: list[Any] = []
    replayed = threading.Event()

    def script(url: str) -> None:
        try:
            landing = scripted_browser.landing(url)
            assert requests.get(landing, timeout=10).status_code == 200
            try:  # at once: the listener may not be closed yet
                replay.append(requests.get(landing, timeout=5).status_code)
            except requests.ConnectionError:
                replay.append("refused")
        finally:
            replayed.set()

    scripted_browser.script = script
    row = run_app(fresh_provider)
    assert fresh_provider.is_access_token_valid(row["OAuthAccessToken"])
    assert replayed.wait(15), "the browser's replay did not finish"  # it runs in its own thread
    assert scripted_browser.errors == []
    assert replay in (["refused"], [400]), replay
    assert fresh_provider.grant_counts["authorization_code"] == 1


def junk(port: int) -> list[str]:
    """What a hostile local process might throw at the port; returns what it observed."""
    seen = []
    for name, data in [
        ("garbage", b"GARBAGE\r\n\r\n"),
        ("binary", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256))),
        ("huge header", b"GET /callback HTTP/1.1\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"),
        ("huge request line", b"GET /callback?code=" + b"c" * 100_000 + b" HTTP/1.1\r\n\r\n"),
        ("too many headers", b"GET /callback HTTP/1.1\r\n" + b"X: y\r\n" * 500 + b"\r\n"),
        ("unsupported method", b"POST /callback?code=a HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
        ("no parameters", b"GET /callback HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("other path", b"GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n"),
    ]:
        reply = raw_exchange(port, data)
        seen.append(f"{name}: {reply[:12]!r}")
    for name, data in [("hang up mid-request", b"GET /callback?code=zz&st"),
                       ("reset mid-request", b"GET /callback?code=zz&state=")]:
        sock = socket.create_connection(("127.0.0.1", port), timeout=3)
        sock.sendall(data)
        if name.startswith("reset"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        seen.append(name)
    return seen


def test_junk_on_the_port_does_not_stop_the_real_callback(
        fresh_provider: EmbeddedProvider, scripted_browser: ScriptedBrowser,
        capsys: pytest.CaptureFixture[str]) -> None:
    observed: list[str] = []
    silent: list[socket.socket] = []

    def script(url: str) -> None:
        port = callback_port(url)
        for _ in range(3):  # clients that connect and say nothing, kept open meanwhile
            silent.append(socket.create_connection(("127.0.0.1", port), timeout=3))
        observed.extend(junk(port))
        scripted_browser.sign_in(url)

    scripted_browser.script = script
    try:
        row = run_app(fresh_provider)
    finally:
        for sock in silent:
            sock.close()
    assert scripted_browser.errors == []
    assert fresh_provider.is_access_token_valid(row["OAuthAccessToken"])
    assert len(observed) == 10
    for line in observed:  # junk got an HTTP error (or nothing), never a success page
        assert "200" not in line, observed
    port = callback_port(scripted_browser.opened[0])
    assert not reachable(socket.AF_INET, "127.0.0.1", port)
    with CallbackListener(f"http://127.0.0.1:{port}/callback", 1) as again:  # free again
        assert again.port == port
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "Exception occurred" not in captured.err


def test_the_port_can_be_reused_by_the_next_flow(
        embedded_provider: EmbeddedProvider, scripted_browser: ScriptedBrowser) -> None:
    first = run_app(embedded_provider)
    port = callback_port(scripted_browser.opened[0])
    # the next flow asks for that very port
    second = run_app(embedded_provider, CallbackURL=f"http://127.0.0.1:{port}/callback")
    assert callback_port(scripted_browser.opened[1]) == port
    assert first["OAuthAccessToken"] != second["OAuthAccessToken"]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
