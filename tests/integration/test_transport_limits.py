"""Timeout (connect and read, and the whole body), the response size cap, and the errors
of a server that is not there; against a local server that answers badly on purpose."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from cdata_oauth.exceptions import OperationalError, ProgrammingError
from cdata_oauth.transport.session import MAX_RESPONSE_BYTES
from cdata_oauth.transport.settings import TransportSettings
from tests.servers.squid import free_port
from tests.servers.tls import TokenServer
from tests.transport_support import client_form, transport


def test_slow_headers_time_out_naming_host_and_limit(http_token_server: TokenServer) -> None:
    t = transport(Timeout=1)
    with pytest.raises(OperationalError) as raised:
        t.request("GET", http_token_server.base_url + "/slow")
    assert "127.0.0.1" in str(raised.value) and "1 seconds" in str(raised.value)
    assert "Timeout" in str(raised.value)


def test_timeout_holds_for_the_whole_body_not_each_read(http_token_server: TokenServer) -> None:
    """/drip sends a byte every 0.2 s: each read is quick, the whole answer never ends."""
    t = transport(Timeout=1)
    with pytest.raises(OperationalError, match="timed out"):
        t.request("GET", http_token_server.base_url + "/drip")


def test_timeout_zero_means_no_limit(http_token_server: TokenServer) -> None:
    assert TransportSettings.from_inputs({"Timeout": 0}).timeout is None
    t = transport(Timeout=0)
    assert t.request("GET", http_token_server.base_url + "/slow").json() == {"slow": True}


def test_default_timeout_is_sixty_seconds() -> None:
    from cdata_oauth.catalog.binding import Inputs

    assert TransportSettings.from_inputs(Inputs({})).timeout == 60


def test_huge_answer_is_cut_with_a_clear_error(http_token_server: TokenServer) -> None:
    t = transport()
    with pytest.raises(OperationalError) as raised:
        t.request("GET", http_token_server.base_url + "/big")
    assert "larger than 1 MiB" in str(raised.value) and "127.0.0.1" in str(raised.value)
    assert MAX_RESPONSE_BYTES == 1024 * 1024


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """Accepts connections and never answers: a connect succeeds, the read waits."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for sock in held:
            sock.close()
        server.close()


def test_proxy_that_never_answers_times_out_naming_it(silent_listener: int) -> None:
    t = transport(Timeout=1, Proxy_Server="127.0.0.1", Proxy_Port=silent_listener,
                  Proxy_SSLType="TUNNEL")
    with pytest.raises(OperationalError) as raised:
        t.request("GET", "http://127.0.0.1:9/")
    assert f"proxy 127.0.0.1:{silent_listener}" in str(raised.value)
    assert "no answer within 1 seconds" in str(raised.value)


def test_nothing_listening_is_connection_refused() -> None:
    with pytest.raises(OperationalError, match=r"to 127\.0\.0\.1: connection refused"):
        transport().request("GET", f"http://127.0.0.1:{free_port()}/")


def test_a_bad_url_is_a_programming_error() -> None:
    with pytest.raises(ProgrammingError):
        transport().request("GET", "not a url")


def test_the_token_endpoint_answer_is_readable_as_usual(http_token_server: TokenServer) -> None:
    answer = transport().request("POST", http_token_server.token_url,
                                 data=client_form(http_token_server))
    assert answer.status_code == 200
    assert answer.json()["token_type"] == "Bearer" and answer.text.startswith("{")


def test_settings_repr_masks_secrets() -> None:
    shown = repr(TransportSettings.from_inputs({"Proxy_Password": "pp-secret-1",
                                                "Firewall_Password": "fw-secret-2"}))
    assert "pp-secret-1" not in shown and "fw-secret-2" not in shown
