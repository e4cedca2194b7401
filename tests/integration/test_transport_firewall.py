"""Firewalls, proven through a real dante (SOCKS4, SOCKS5, SOCKS5 with a user) and squid
(TUNNEL): the token exchange succeeds and the firewall's own log shows the connection;
refused users and unreachable firewalls are OperationalErrors that name them; a proxy
behind a firewall works."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from cdata_oauth.exceptions import OperationalError
from cdata_oauth.provider import EmbeddedProvider
from tests.servers.dante import Dante
from tests.servers.squid import Squid, free_port
from tests.servers.tls import TestPKI, TokenServer
from tests.transport_support import client_form, client_token, transport


def socks(server: Dante, kind: str, **extra: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"Firewall_Type": kind, "Firewall_Server": "127.0.0.1",
                             "Firewall_Port": server.port}
    if server.user:
        props.update(Firewall_User=server.user, Firewall_Password=server.password)
    props.update(extra)
    return props


def passed_to(server: Dante, mark: int, port: int) -> list[str]:
    """dante's 'pass ... tcp/connect' lines for connections it made to 127.0.0.1:port."""
    want = f"127.0.0.1.{port}"
    lines = server.lines_since(mark, want)
    return [line for line in lines if "tcp/connect" in line and line.rstrip().endswith(want)]


@pytest.mark.parametrize("kind", ["SOCKS4", "SOCKS5"])
def test_token_exchange_through_dante(embedded_provider: EmbeddedProvider, dante: Dante,
                                      kind: str) -> None:
    p = embedded_provider
    mark = dante.mark()
    client_token(p, **socks(dante, kind, Firewall_User="socks-user-id"))
    assert passed_to(dante, mark, p.port), dante.lines_since(mark)


def test_token_exchange_through_dante_with_user_and_password(
        embedded_provider: EmbeddedProvider, dante_auth: Dante) -> None:
    p = embedded_provider
    mark = dante_auth.mark()
    client_token(p, **socks(dante_auth, "SOCKS5"))
    lines = passed_to(dante_auth, mark, p.port)
    assert lines and f"username%{dante_auth.user}@" in lines[-1], dante_auth.lines_since(mark)


def test_socks5_resolves_host_names_at_the_server(embedded_provider: EmbeddedProvider,
                                                   dante: Dante,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """This process cannot resolve 'localhost' (its resolver is made to fail for it); the
    exchange still works because dante, a separate process, resolves the name."""
    real = socket.getaddrinfo

    def no_localhost(host: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host).lower() == "localhost":
            raise socket.gaierror(socket.EAI_NONAME, "resolving is the firewall's job")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", no_localhost)
    p = embedded_provider
    local = p.token_url.replace("127.0.0.1", "localhost")
    with pytest.raises(OperationalError, match="cannot be resolved"):
        client_token(p, OAuthAccessTokenURL=local)  # direct: needs local DNS, fails
    mark = dante.mark()
    client_token(p, OAuthAccessTokenURL=local, **socks(dante, "SOCKS5"))
    assert passed_to(dante, mark, p.port)


def test_https_through_socks5(dante: Dante, tls_token_server: TokenServer,
                              test_pki: TestPKI) -> None:
    server = tls_token_server
    mark = dante.mark()
    t = transport(SSLServerCert=str(test_pki.ca_pem), **socks(dante, "SOCKS5"))
    assert t.request("POST", server.token_url, data=client_form(server)).status_code == 200
    t.close()
    assert passed_to(dante, mark, server.port)


def test_wrong_socks5_password_names_the_firewall(embedded_provider: EmbeddedProvider,
                                                  dante_auth: Dante) -> None:
    with pytest.raises(OperationalError) as raised:
        client_token(embedded_provider,
                     **socks(dante_auth, "SOCKS5", Firewall_Password="not-the-password"))
    text = str(raised.value)
    assert f"SOCKS5 firewall 127.0.0.1:{dante_auth.port}" in text
    assert "refused the user name or password" in text and "Firewall_Password" in text
    assert "not-the-password" not in text


def test_socks5_without_credentials_to_a_server_that_needs_them(
        embedded_provider: EmbeddedProvider, dante_auth: Dante) -> None:
    with pytest.raises(OperationalError, match="refused the user name or password"):
        client_token(embedded_provider, Firewall_Type="SOCKS5", Firewall_Server="127.0.0.1",
                     Firewall_Port=dante_auth.port)


@pytest.mark.parametrize("kind", ["SOCKS4", "SOCKS5", "TUNNEL"])
def test_unreachable_firewall_names_it(embedded_provider: EmbeddedProvider, kind: str) -> None:
    port = free_port()
    with pytest.raises(OperationalError) as raised:
        client_token(embedded_provider, Firewall_Type=kind, Firewall_Server="127.0.0.1",
                     Firewall_Port=port)
    assert f"firewall 127.0.0.1:{port} (connection refused)" in str(raised.value)


def test_tunnel_firewall_is_an_http_connect_proxy(embedded_provider: EmbeddedProvider,
                                                  squid: Squid) -> None:
    p = embedded_provider
    mark = squid.mark()
    client_token(p, Firewall_Type="TUNNEL", Firewall_Server="127.0.0.1",
                 Firewall_Port=squid.ports["basic"], Firewall_User=squid.basic_user,
                 Firewall_Password=squid.basic_password)
    want = f"CONNECT 127.0.0.1:{p.port} 200"
    assert any(want in line and "user=basicuser" in line
               for line in squid.lines_since(mark, want))


def test_tunnel_firewall_wrong_password(embedded_provider: EmbeddedProvider,
                                        squid: Squid) -> None:
    with pytest.raises(OperationalError) as raised:
        client_token(embedded_provider, Firewall_Type="TUNNEL", Firewall_Server="127.0.0.1",
                     Firewall_Port=squid.ports["basic"], Firewall_User=squid.basic_user,
                     Firewall_Password="wrong-pass-456")
    assert "firewall" in str(raised.value) and "refused the credentials" in str(raised.value)
    assert "Firewall_Password" in str(raised.value)


@pytest.mark.parametrize("ssl_type", ["AUTO", "TUNNEL"])
def test_proxy_behind_a_socks_firewall(embedded_provider: EmbeddedProvider, squid: Squid,
                                       dante_auth: Dante, ssl_type: str) -> None:
    """Proxy and firewall together: squid is reached through dante."""
    p = embedded_provider
    squid_mark, dante_mark = squid.mark(), dante_auth.mark()
    client_token(p, Proxy_Server="127.0.0.1", Proxy_Port=squid.ports["digest"],
                 Proxy_AuthScheme="DIGEST", Proxy_User=squid.digest_user,
                 Proxy_Password=squid.digest_password, Proxy_SSLType=ssl_type,
                 **socks(dante_auth, "SOCKS5"))
    assert passed_to(dante_auth, dante_mark, squid.ports["digest"])
    want = f"POST {p.token_url} 200" if ssl_type == "AUTO" else f"CONNECT 127.0.0.1:{p.port} 200"
    assert any(want in line and "user=digestuser" in line
               for line in squid.lines_since(squid_mark, want))
