"""HTTP proxies, proven through a real squid: each kind of authentication for plain
forwarding and for CONNECT tunnels, the errors of refused credentials and unreachable
proxies, Proxy_Auto, and malformed settings refused before any request."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.request import parse_http_list

import pytest

import cdata_oauth
from cdata_oauth.exceptions import NotSupportedError, OperationalError, ProgrammingError
from cdata_oauth.provider import EmbeddedProvider
from cdata_oauth.transport.proxyauth import ProxyAuth
from tests.servers.squid import ODD_DIGEST_USERS, Squid, free_port
from tests.servers.tls import TestPKI, TokenServer
from tests.transport_support import client_form, client_token, transport


def proxy(squid: Squid, kind: str, **extra: Any) -> dict[str, Any]:
    props: dict[str, Any] = {"Proxy_Server": "127.0.0.1", "Proxy_Port": squid.ports[kind]}
    if kind == "basic":
        props.update(Proxy_User=squid.basic_user, Proxy_Password=squid.basic_password)
    if kind == "digest":
        props.update(Proxy_AuthScheme="DIGEST", Proxy_User=squid.digest_user,
                     Proxy_Password=squid.digest_password)
    props.update(extra)
    return props


USERS = {"open": "user=-", "basic": "user=basicuser", "digest": "user=digestuser"}


@pytest.mark.parametrize("kind", ["open", "basic", "digest"])
@pytest.mark.parametrize("ssl_type", ["AUTO", "TUNNEL"])
def test_token_exchange_through_squid(embedded_provider: EmbeddedProvider, squid: Squid,
                                      kind: str, ssl_type: str) -> None:
    p = embedded_provider
    mark = squid.mark()
    client_token(p, **proxy(squid, kind, Proxy_SSLType=ssl_type))
    # AUTO forwards http URLs (POST with the absolute URL); TUNNEL uses CONNECT for them too
    want = f"POST {p.token_url}" if ssl_type == "AUTO" else f"CONNECT 127.0.0.1:{p.port}"
    # wait for the 200 line: with Digest a 407 line comes first, and squid writes a
    # CONNECT line only when its tunnel closes
    lines = squid.lines_since(mark, f"{want} 200 ")
    passed = [line for line in lines if want in line and " 200 " in line]
    assert passed, lines
    assert f"port={squid.ports[kind]}" in passed[-1] and USERS[kind] in passed[-1]


def test_https_token_endpoint_through_squid_connect_with_digest(
        squid: Squid, tls_token_server: TokenServer, test_pki: TestPKI) -> None:
    server = tls_token_server
    mark = squid.mark()
    t = transport(SSLServerCert=str(test_pki.ca_pem), **proxy(squid, "digest"))
    answer = t.request("POST", server.token_url, data=client_form(server))
    t.close()
    assert answer.status_code == 200 and answer.json()["access_token"] in server.access_tokens
    lines = squid.lines_since(mark, f"CONNECT 127.0.0.1:{server.port} 200")
    assert any(f"CONNECT 127.0.0.1:{server.port} 200" in line and "user=digestuser" in line
               for line in lines), lines


def test_digest_challenge_is_reused_for_later_requests(
        embedded_provider: EmbeddedProvider, squid: Squid) -> None:
    p = embedded_provider
    mark = squid.mark()
    t = transport(**proxy(squid, "digest"))
    for _ in range(3):
        assert t.request("GET", p.base_url + "/").status_code < 500
    t.close()
    denied = [line for line in squid.lines_since(mark) if " 407 " in line]
    assert len(denied) == 1  # only the very first request met a challenge


@pytest.mark.parametrize("user", ODD_DIGEST_USERS)
@pytest.mark.parametrize("ssl_type", ["AUTO", "TUNNEL"])
def test_digest_user_names_with_commas_spaces_and_non_ascii_letters_pass_squid(
        embedded_provider: EmbeddedProvider, squid: Squid, user: str, ssl_type: str) -> None:
    """The name travels whole in its quoted-string (a comma or '=' in it ends nothing) and
    as UTF-8, which is what squid looks up in the htdigest file."""
    p = embedded_provider
    mark = squid.mark()
    client_token(p, **proxy(squid, "digest", Proxy_User=user,
                            Proxy_Password=squid.odd_digest_users[user], Proxy_SSLType=ssl_type))
    want = f"POST {p.token_url} 200" if ssl_type == "AUTO" else f"CONNECT 127.0.0.1:{p.port} 200"
    passed = [line for line in squid.lines_since(mark, want) if want in line]
    assert passed and f"user={user} " in passed[-1], passed


# -- Digest headers, checked the way a server reads them -------------------------------

CHALLENGE = 'Digest realm="cdata-test-digest", nonce="n0nce", qop="auth"'


def digest_params(header: str) -> dict[str, str]:
    """A Digest Proxy-Authorization value read back by the standard library's list parser
    (which undoes quoted-pair escapes) the way a proxy reads it."""
    scheme, _, rest = header.partition(" ")
    assert scheme == "Digest"
    params = {}
    for item in parse_http_list(rest):
        name, _, value = item.partition("=")
        params[name] = value[1:-1] if value.startswith('"') else value
    return params


def server_response(params: dict[str, str], password: str, method: str) -> str:
    """The response an RFC 7616 proxy expects (MD5, qop=auth), over the bytes it received:
    the header's characters are its Latin-1 bytes, as on the wire."""
    def h(text: str) -> str:
        return hashlib.md5(text.encode("latin-1")).hexdigest()
    ha1 = h(f"{params['username']}:{params['realm']}:{password.encode().decode('latin-1')}")
    ha2 = h(f"{method}:{params['uri']}")
    return h(f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}")


def digest_answer(user: str, challenge: str = CHALLENGE, uri: str = "127.0.0.1:443") -> str:
    auth = ProxyAuth("DIGEST", user, "pässword", None, "HTTP proxy 127.0.0.1:3128")
    header = auth.answer("CONNECT", uri, [challenge], None)
    assert header is not None
    return header


def test_digest_username_escapes_quote_and_backslash() -> None:
    header = digest_answer('we"ird\\user')
    assert 'username="we\\"ird\\\\user", ' in header
    params = digest_params(header)
    assert params["username"] == 'we"ird\\user'
    assert params["response"] == server_response(params, "pässword", "CONNECT")


@pytest.mark.parametrize("user", ["ends\\", '"', "o'neil, ops=1; x", "tab\tuser"])
def test_digest_username_reads_back_whole(user: str) -> None:
    """A trailing backslash does not escape the closing quote; commas and '=' stay inside."""
    params = digest_params(digest_answer(user))
    assert params["username"] == user and params["realm"] == "cdata-test-digest"
    assert params["response"] == server_response(params, "pässword", "CONNECT")


def test_digest_non_ascii_username_goes_out_as_utf8() -> None:
    header = digest_answer("jürgen-łódź")
    assert 'username="jürgen-łódź"'.encode() in header.encode("latin-1")
    params = digest_params(header)
    assert params["response"] == server_response(params, "pässword", "CONNECT")


def test_digest_challenge_values_are_unescaped_then_escaped_again() -> None:
    """realm, nonce and opaque hold quotes, backslashes and commas; the hash uses their
    plain values and the answer quotes them again."""
    challenge = ('Digest realm="a\\"b\\\\c, d", nonce="x,y", opaque="o\\"p", '
                 'qop="auth,auth-int"')
    header = digest_answer("user", challenge)
    assert 'realm="a\\"b\\\\c, d"' in header and 'opaque="o\\"p"' in header
    params = digest_params(header)
    assert (params["realm"], params["nonce"], params["opaque"]) == ('a"b\\c, d', "x,y", 'o"p')
    assert params["response"] == server_response(params, "pässword", "CONNECT")


@pytest.mark.parametrize("headers", [
    ['Basic realm="b", Digest Realm="cdata-test-digest", NONCE="n0nce", QOP=auth'],
    ['Negotiate, Digest realm = "cdata-test-digest", nonce="n0nce", qop="auth"'],
    ["NTLM", 'Basic realm="b"', CHALLENGE],
])
def test_digest_challenge_found_among_others_in_any_spelling(headers: list[str]) -> None:
    """Several challenges in one header, parameter names in any case, spaces round '='."""
    auth = ProxyAuth("DIGEST", "user", "pw", None, "HTTP proxy 127.0.0.1:3128")
    header = auth.answer("GET", "http://example.test/", headers, None)
    assert header is not None
    params = digest_params(header)
    assert (params["realm"], params["nonce"], params["qop"]) == ("cdata-test-digest", "n0nce",
                                                                 "auth")
    assert params["response"] == server_response(params, "pw", "GET")


def test_digest_user_with_a_line_break_is_refused() -> None:
    with pytest.raises(ProgrammingError, match=r"control character.*Proxy_User"):
        ProxyAuth("DIGEST", "user\r\nX-Injected: 1", "pw", None, "HTTP proxy 127.0.0.1:3128")


def test_digest_challenge_with_a_line_break_is_refused() -> None:
    auth = ProxyAuth("DIGEST", "user", "pw", None, "HTTP proxy 127.0.0.1:3128")
    with pytest.raises(OperationalError, match=r"HTTP proxy 127\.0\.0\.1:3128 sent a Digest "
                                               "challenge with a control character"):
        auth.answer("GET", "http://example.test/",
                    ['Digest realm="a\r\n b", nonce="n", qop="auth"'], None)


def test_proprietary_sends_the_token_as_proxy_authorization(
        embedded_provider: EmbeddedProvider, squid: Squid) -> None:
    pair = f"{squid.basic_user}:{squid.basic_password}".encode()
    mark = squid.mark()
    client_token(embedded_provider, Proxy_Server="127.0.0.1", Proxy_Port=squid.ports["basic"],
                 Proxy_AuthScheme="PROPRIETARY",
                 Proxy_AuthToken="Basic " + base64.b64encode(pair).decode())
    assert any("user=basicuser" in line and " 200 " in line
               for line in squid.lines_since(mark, "user=basicuser"))


@pytest.mark.parametrize("kind", ["basic", "digest"])
@pytest.mark.parametrize("ssl_type", ["AUTO", "TUNNEL"])
def test_wrong_proxy_password_names_the_proxy(embedded_provider: EmbeddedProvider,
                                              squid: Squid, kind: str, ssl_type: str) -> None:
    with pytest.raises(OperationalError) as raised:
        client_token(embedded_provider, **proxy(squid, kind, Proxy_Password="wrong-pass-123",
                                                Proxy_SSLType=ssl_type))
    text = str(raised.value)
    assert f"127.0.0.1:{squid.ports[kind]}" in text
    assert "refused the credentials" in text and "407" in text and "Proxy_Password" in text
    assert "wrong-pass-123" not in text


@pytest.mark.parametrize("extra", [{}, {"Proxy_AuthScheme": "NONE", "Proxy_User": "u",
                                          "Proxy_Password": "p"}])
def test_missing_proxy_credentials_say_so(embedded_provider: EmbeddedProvider,
                                          squid: Squid, extra: dict[str, Any]) -> None:
    """No Proxy_User, or Proxy_AuthScheme=NONE (which sends nothing even with a user)."""
    with pytest.raises(OperationalError, match="requires authentication"):
        client_token(embedded_provider, Proxy_Server="127.0.0.1",
                     Proxy_Port=squid.ports["basic"], **extra)


def test_basic_credentials_do_not_pass_the_digest_only_user(
        embedded_provider: EmbeddedProvider, squid: Squid) -> None:
    """DIGEST really answers the Digest challenge: the same user sent as Basic fails."""
    with pytest.raises(OperationalError, match="refused the credentials"):
        client_token(embedded_provider, **proxy(squid, "digest", Proxy_AuthScheme="BASIC"))


def test_unreachable_proxy_names_it(embedded_provider: EmbeddedProvider) -> None:
    port = free_port()
    for ssl_type in ("AUTO", "TUNNEL"):
        with pytest.raises(OperationalError) as raised:
            client_token(embedded_provider, Proxy_Server="127.0.0.1", Proxy_Port=port,
                         Proxy_SSLType=ssl_type)
        assert f"proxy 127.0.0.1:{port}" in str(raised.value)
        assert "connection refused" in str(raised.value)


@pytest.mark.parametrize("ssl_type", ["AUTO", "TUNNEL"])
def test_ntlm_handshake_with_squid(embedded_provider: EmbeddedProvider, squid: Squid,
                                   ssl_type: str) -> None:
    """With pyspnego installed NTLM works (squid's ntlm_fake_auth takes any user but needs
    a real three-message handshake on one connection); without it, NotSupportedError."""
    import importlib.util

    p = embedded_provider
    props = proxy(squid, "ntlm", Proxy_AuthScheme="NTLM", Proxy_User="CORP\\ntlmuser",
                  Proxy_Password="ntlm-pw", Proxy_SSLType=ssl_type)
    if importlib.util.find_spec("spnego") is None:
        with pytest.raises(NotSupportedError, match="pyspnego"):
            client_token(p, **props)
        return
    mark = squid.mark()
    client_token(p, **props)
    want = f"POST {p.token_url} 200" if ssl_type == "AUTO" else f"CONNECT 127.0.0.1:{p.port} 200"
    passed = [line for line in squid.lines_since(mark, want) if want in line]
    # the fake helper reads the UTF-16 names as C strings: CORP\ntlmuser shows as C\n
    assert passed and "user=C\\n " in passed[-1], passed


def test_ntlm_without_a_user_is_refused_before_any_request(
        embedded_provider: EmbeddedProvider, squid: Squid) -> None:
    with pytest.raises((NotSupportedError, ProgrammingError), match="NTLM"):
        client_token(embedded_provider, **proxy(squid, "ntlm", Proxy_AuthScheme="NTLM"))


@pytest.mark.parametrize(("props", "words"), [
    ({"Proxy_Server": "127.0.0.1"}, "Proxy_Port"),
    ({"Proxy_Port": 3128}, "Proxy_Server"),
    ({"Proxy_Server": "http://127.0.0.1:3128", "Proxy_Port": 3128}, "host name"),
    ({"Proxy_Server": "127.0.0.1", "Proxy_Port": 70000}, "1 to 65535"),
    ({"Proxy_Server": "127.0.0.1", "Proxy_Port": 3128, "Proxy_AuthScheme": "PROPRIETARY"},
     "Proxy_AuthToken"),
    ({"Proxy_Server": "127.0.0.1", "Proxy_Port": 3128, "Proxy_Password": "x"}, "Proxy_User"),
    ({"Proxy_Server": "127.0.0.1", "Proxy_Port": 3128, "Proxy_AuthScheme": "DIGEST",
      "Proxy_User": "u\r\nX-Injected: 1", "Proxy_Password": "p"}, "control character"),
    ({"Firewall_Type": "SOCKS5"}, "Firewall_Server"),
    ({"Firewall_Server": "127.0.0.1"}, "Firewall_Type"),
    ({"Timeout": -1}, "Timeout"),
])
def test_malformed_settings_fail_before_any_request(
        fresh_provider: EmbeddedProvider, props: dict[str, Any], words: str) -> None:
    with pytest.raises(ProgrammingError, match=words):
        client_token(fresh_provider, **props)
    assert not fresh_provider.grant_counts


def test_proxy_auto_reads_the_environment(embedded_provider: EmbeddedProvider, squid: Squid,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    p = embedded_provider
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{squid.ports['open']}")
    mark = squid.mark()
    client_token(p, Proxy_Auto=True)
    assert any(f"POST {p.token_url} 200" in line
               for line in squid.lines_since(mark, f"POST {p.token_url}"))

    mark = squid.mark()
    client_token(p)  # Proxy_Auto=FALSE (default): the environment is ignored
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client_token(p, Proxy_Auto=True)  # NO_PROXY exempts the host
    assert not [line for line in squid.lines_since(mark, limit=0.5) if p.token_url in line]


def test_proxy_auto_uses_credentials_from_the_environment_url(
        embedded_provider: EmbeddedProvider, squid: Squid,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://{squid.basic_user}:{squid.basic_password}"
                                     f"@127.0.0.1:{squid.ports['basic']}")
    mark = squid.mark()
    client_token(embedded_provider, Proxy_Auto=True)
    assert any("user=basicuser" in line for line in squid.lines_since(mark, "user=basicuser"))


def test_connection_string_form(embedded_provider: EmbeddedProvider, squid: Squid) -> None:
    p = embedded_provider
    mark = squid.mark()
    text = (f"OAuthVersion=2.0;GrantType=CLIENT;OAuthClientId={p.client_id};"
            f"OAuthClientSecret={p.client_secret};OAuthAccessTokenURL={p.token_url};"
            f"Proxy_Server=127.0.0.1;Proxy_Port={squid.ports['digest']};"
            f"Proxy_AuthScheme=DIGEST;Proxy_User={squid.digest_user};"
            f"Proxy_Password={squid.digest_password}")
    with cdata_oauth.connect(text) as conn:
        conn.execute("EXEC GetOAuthAccessToken").fetchone()
    assert any("user=digestuser" in line for line in squid.lines_since(mark, "digestuser"))


def test_proxy_ssl_type_always_speaks_tls_to_the_proxy(
        embedded_provider: EmbeddedProvider, squid: Squid, tls_front: Any, test_pki: TestPKI,
        tls_token_server: TokenServer) -> None:
    """squid behind a TLS front: http URLs are forwarded over TLS, https URLs tunnel with
    TLS inside TLS."""
    p = embedded_provider
    front = tls_front(test_pki, squid.ports["basic"])
    settings = {"Proxy_Server": "127.0.0.1", "Proxy_Port": front.port, "Proxy_SSLType": "ALWAYS",
                "Proxy_User": squid.basic_user, "Proxy_Password": squid.basic_password,
                "SSLServerCert": str(test_pki.ca_pem)}
    mark = squid.mark()
    client_token(p, **settings)
    assert any(f"POST {p.token_url} 200" in line and "user=basicuser" in line
               for line in squid.lines_since(mark, f"POST {p.token_url}"))
    t = transport(**settings)
    server = tls_token_server
    assert t.request("POST", server.token_url, data=client_form(server)).status_code == 200
    t.close()
    want = f"CONNECT 127.0.0.1:{server.port} 200"
    assert any(want in line for line in squid.lines_since(mark, want))
    assert front.connections >= 2
    with pytest.raises(OperationalError, match=r"TLS with the HTTPS proxy 127\.0\.0\.1:\d+ failed"):
        client_token(p, **{**settings, "SSLServerCert": None})  # the front's CA not trusted


def test_ntlm_without_pyspnego_is_not_supported(embedded_provider: EmbeddedProvider,
                                                squid: Squid,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "spnego" else real(name, *a))
    with pytest.raises(NotSupportedError, match="pip install pyspnego"):
        client_token(embedded_provider, **proxy(squid, "ntlm", Proxy_AuthScheme="NTLM",
                                                Proxy_User="u", Proxy_Password="p"))
