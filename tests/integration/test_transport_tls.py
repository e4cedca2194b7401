"""TLS against local HTTPS token endpoints with a trustme test CA: verification on by
default, SSLServerCert (file, inline PEM, *), and mutual TLS with PEM and PKCS#12."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import cdata_oauth
from cdata_oauth.exceptions import OperationalError, ProgrammingError
from tests.servers.tls import TestPKI, TokenServer
from tests.transport_support import client_form, row_of, transport


def exec_client_token(server: TokenServer, **props: Any) -> dict[str, Any]:
    """The full EXEC path (OAuth 2.0 client credentials) against the HTTPS endpoint."""
    with cdata_oauth.connect(OAuthVersion="2.0", GrantType="CLIENT", Timeout=20,
                             OAuthClientId=server.client_id,
                             OAuthClientSecret=server.client_secret,
                             OAuthAccessTokenURL=server.token_url, **props) as conn:
        return row_of(conn.execute("EXEC GetOAuthAccessToken"))


def test_verification_is_on_by_default(tls_token_server: TokenServer) -> None:
    with pytest.raises(OperationalError) as raised:
        exec_client_token(tls_token_server)
    text = str(raised.value)
    assert "127.0.0.1" in text and "not trusted" in text and "SSLServerCert" in text


def test_ssl_server_cert_file_is_trusted(tls_token_server: TokenServer,
                                         test_pki: TestPKI) -> None:
    row = exec_client_token(tls_token_server, SSLServerCert=str(test_pki.ca_pem))
    assert row["OAuthAccessToken"] in tls_token_server.access_tokens


def test_ssl_server_cert_inline_pem(tls_token_server: TokenServer, test_pki: TestPKI) -> None:
    row = exec_client_token(tls_token_server, SSLServerCert=test_pki.ca_pem.read_text())
    assert row["OAuthAccessToken"] in tls_token_server.access_tokens


def test_a_different_ca_is_not_trusted(tls_token_server: TokenServer, tmp_path: Path) -> None:
    import trustme

    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with pytest.raises(OperationalError, match="not trusted"):
        exec_client_token(tls_token_server, SSLServerCert=str(other))


def test_star_accepts_any_certificate_with_a_warning(
        tls_token_server: TokenServer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="cdata_oauth"):
        row = exec_client_token(tls_token_server, SSLServerCert="*")
    assert row["OAuthAccessToken"] in tls_token_server.access_tokens
    assert any("NOT verified" in r.getMessage() and r.levelno == logging.WARNING
               for r in caplog.records)


def test_missing_server_cert_file_is_a_programming_error(tls_token_server: TokenServer,
                                                         tmp_path: Path) -> None:
    with pytest.raises(ProgrammingError, match="SSLServerCert"):
        exec_client_token(tls_token_server, SSLServerCert=str(tmp_path / "nope.pem"))


def test_mutual_tls_requires_the_client_certificate(mtls_token_server: TokenServer,
                                                    test_pki: TestPKI) -> None:
    with pytest.raises(OperationalError) as raised:
        exec_client_token(mtls_token_server, SSLServerCert=str(test_pki.ca_pem))
    assert "127.0.0.1" in str(raised.value)


@pytest.mark.parametrize("form", ["pem", "encrypted-pem", "pkcs12"])
def test_mutual_tls_with_a_client_certificate(mtls_token_server: TokenServer,
                                              test_pki: TestPKI, form: str) -> None:
    files = {"pem": (test_pki.client_pem, None),
             "encrypted-pem": (test_pki.client_encrypted_pem, test_pki.client_pem_password),
             "pkcs12": (test_pki.client_p12, test_pki.client_p12_password)}
    path, password = files[form]
    props: dict[str, Any] = {"SSLServerCert": str(test_pki.ca_pem), "SSLClientCert": str(path)}
    if password:
        props["SSLClientCertPassword"] = password
    row = exec_client_token(mtls_token_server, **props)
    assert row["OAuthAccessToken"] in mtls_token_server.access_tokens
    t = transport(**props)
    seen = t.request("GET", mtls_token_server.base_url + "/whoami").json()
    t.close()
    assert seen["client_cert"].endswith("commonName=transport-client")


@pytest.mark.parametrize("form", ["encrypted-pem", "pkcs12"])
def test_wrong_client_certificate_password(mtls_token_server: TokenServer, test_pki: TestPKI,
                                           form: str) -> None:
    path = test_pki.client_p12 if form == "pkcs12" else test_pki.client_encrypted_pem
    with pytest.raises(ProgrammingError) as raised:
        exec_client_token(mtls_token_server, SSLServerCert=str(test_pki.ca_pem),
                          SSLClientCert=str(path), SSLClientCertPassword="wrong-cert-pass")
    assert "SSLClientCertPassword" in str(raised.value)
    assert "wrong-cert-pass" not in str(raised.value)


def test_connect_through_squid_to_mutual_tls(squid: Any, mtls_token_server: TokenServer,
                                             test_pki: TestPKI) -> None:
    server = mtls_token_server
    mark = squid.mark()
    t = transport(SSLServerCert=str(test_pki.ca_pem), SSLClientCert=str(test_pki.client_p12),
                  SSLClientCertPassword=test_pki.client_p12_password,
                  Proxy_Server="127.0.0.1", Proxy_Port=squid.ports["basic"],
                  Proxy_User=squid.basic_user, Proxy_Password=squid.basic_password)
    answer = t.request("POST", server.token_url, data=client_form(server))
    t.close()
    assert answer.json()["access_token"] in server.access_tokens
    want = f"CONNECT 127.0.0.1:{server.port} 200"
    assert any(want in line and "user=basicuser" in line
               for line in squid.lines_since(mark, want))
