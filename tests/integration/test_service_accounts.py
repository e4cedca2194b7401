"""Service-account and secretless sign-in against real token endpoints on 127.0.0.1: the
JWT bearer grant at Authlib's JWTBearerGrant and at a Google-style endpoint, client
assertions (private_key_jwt, client_secret_jwt, a federated assertion from a rotating
file) at panva's oidc-provider, token exchange, and renewal without a refresh token."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

import cdata_oauth
from cdata_oauth.exceptions import OAuthError
from cdata_oauth.tokens.stores import Token, now_ms
from tests.servers.jwt_endpoints import (
    ACCESS_TOKEN_TYPE,
    AUTHLIB_CLIENT,
    JWT_BEARER,
    AuthlibJwtServer,
    GoogleStyleServer,
    RecordingServer,
    TokenExchangeServer,
    new_rsa_key,
    pem,
    public_jwk,
    subject_token,
)
from tests.servers.oidc_provider import OidcProvider

PASSWORD = "key-password-Zq8"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PKJWT_ID, CSJWT_ID = "cdata-private-key-jwt", "cdata-client-secret-jwt"
CSJWT_SECRET = "client-secret-jwt-secret-at-least-32-bytes-long-7Hq"
GOOGLE_EMAIL = "reporting@cdata-test.iam.gserviceaccount.com"
PLATFORM = "https://platform.example/issuer"


def _row(conn: cdata_oauth.Connection, statement: str,
         parameters: tuple[Any, ...] = ()) -> dict[str, Any]:
    cursor = conn.execute(statement, parameters)
    values = cursor.fetchone()
    assert values is not None
    return {d[0]: v for d, v in zip(cursor.description or (), values, strict=True)}


@pytest.fixture
def key_file(tmp_path: Path, test_rsa_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "service.pem"
    path.write_bytes(pem(test_rsa_key))
    return path


# -- 1. the JWT bearer grant -----------------------------------------------------------

def _authlib(server: AuthlibJwtServer, cert: Path, **extra: Any) -> cdata_oauth.Connection:
    return cdata_oauth.connect(OAuthVersion="2.0", GrantType="JWT", OAuthClientId=AUTHLIB_CLIENT,
                               OAuthAccessTokenURL=server.url, OAuthJWTCert=str(cert),
                               Timeout=30, **extra)


def test_jwt_bearer_grant_is_accepted_by_authlibs_jwt_bearer_grant(
        authlib_jwt: AuthlibJwtServer, key_file: Path) -> None:
    with _authlib(authlib_jwt, key_file) as conn:
        row = _row(conn, "EXEC GetOAuthAccessToken Scope='read'")
    assert row["OAuthAccessToken"] == authlib_jwt.issued[0]["access_token"]
    form = authlib_jwt.forms[0]
    assert form["grant_type"] == JWT_BEARER and form["scope"] == "read"
    assert "client_secret" not in form and "client_assertion" not in form
    claims = jwt.decode(form["assertion"], options={"verify_signature": False})
    assert claims["iss"] == claims["sub"] == AUTHLIB_CLIENT
    assert claims["aud"] == authlib_jwt.url
    assert claims["exp"] - claims["iat"] == 3600 and claims["jti"]
    assert jwt.get_unverified_header(form["assertion"])["alg"] == "RS256"


def test_jwt_bearer_acts_for_the_subject_authlib_knows_and_not_for_another(
        authlib_jwt: AuthlibJwtServer, key_file: Path) -> None:
    with _authlib(authlib_jwt, key_file, OAuthJWTSubject="alice@example.com") as conn:
        assert _row(conn, "EXEC GetOAuthAccessToken")["OAuthAccessToken"]
    with _authlib(authlib_jwt, key_file) as conn, pytest.raises(OAuthError) as caught:
        conn.execute("EXEC GetOAuthAccessToken OAuthJWTSubject='mallory@example.com'")
    assert caught.value.error == "invalid_grant"


@pytest.mark.parametrize("form", ["pkcs1-encrypted", "pkcs8-encrypted", "pfx"])
def test_encrypted_and_pkcs12_keys_sign_assertions_authlib_accepts(
        authlib_jwt: AuthlibJwtServer, test_rsa_key: rsa.RSAPrivateKey, tmp_path: Path,
        form: str) -> None:
    path = tmp_path / f"key.{form}"
    if form == "pfx":
        path.write_bytes(pkcs12.serialize_key_and_certificates(
            b"svc", test_rsa_key, None, None,
            serialization.BestAvailableEncryption(PASSWORD.encode())))
        cert_type = "PFXFILE"
    else:
        fmt = serialization.PrivateFormat.TraditionalOpenSSL if form.startswith("pkcs1") \
            else serialization.PrivateFormat.PKCS8
        path.write_bytes(pem(test_rsa_key, PASSWORD, fmt))
        cert_type = "PEMKEY_FILE"
    with _authlib(authlib_jwt, path, OAuthJWTCertType=cert_type,
                  OAuthJWTCertPassword=PASSWORD) as conn:
        assert _row(conn, "EXEC GetOAuthAccessToken")["OAuthAccessToken"]


def test_an_assertion_signed_with_another_key_is_refused_by_authlib(
        authlib_jwt: AuthlibJwtServer, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    other.write_bytes(pem(new_rsa_key()))
    with _authlib(authlib_jwt, other) as conn, pytest.raises(OAuthError) as caught:
        conn.execute("EXEC GetOAuthAccessToken")
    assert caught.value.error == "invalid_grant"


def test_a_google_service_account_key_file_gives_issuer_key_id_and_token_url(
        test_rsa_key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    google = GoogleStyleServer(test_rsa_key, GOOGLE_EMAIL, "key-id-5f3a")
    try:
        key = google.key_file(tmp_path, test_rsa_key)
        with cdata_oauth.connect(OAuthVersion="2.0", GrantType="JWT", OAuthJWTCert=str(key),
                                 OAuthJWTCertType="GOOGLEJSON", OAuthJWTValidityTime=7200,
                                 Scope="https://www.googleapis.com/auth/bigquery") as conn:
            row = _row(conn, "EXEC GetOAuthAccessToken")
            delegated = _row(conn, "EXEC GetOAuthAccessToken OAuthJWTSubject='bob@corp.example'")
    finally:
        google.stop()
    assert row["OAuthAccessToken"].startswith("ya29.") and row["ExpiresIn"] == 3599
    assert delegated["OAuthAccessToken"]
    first, second = google.claims
    assert "sub" not in first and second["sub"] == "bob@corp.example"
    assert first["scope"] == "https://www.googleapis.com/auth/bigquery"
    assert first["exp"] - first["iat"] == 3600  # OAuthJWTValidityTime capped at Google's hour
    assert "scope" not in google.forms[0] and "client_id" not in google.forms[0]
    assert first["jti"] != second["jti"]


# -- 2, 3. client assertions at oidc-provider ------------------------------------------

@pytest.fixture(scope="module")
def assertion_key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture(scope="module")
def jwt_oidc(assertion_key: rsa.RSAPrivateKey) -> Iterator[OidcProvider]:
    common: dict[str, Any] = {"grant_types": ["client_credentials"], "response_types": [],
                              "redirect_uris": []}
    provider = OidcProvider(clients=[
        {**common, "client_id": PKJWT_ID, "token_endpoint_auth_method": "private_key_jwt",
         "jwks": {"keys": [public_jwk(assertion_key, "svc-key-1")]}},
        {**common, "client_id": CSJWT_ID, "client_secret": CSJWT_SECRET,
         "token_endpoint_auth_method": "client_secret_jwt"},
    ])
    try:
        yield provider
    finally:
        provider.stop()


def _oidc(provider: OidcProvider, client_id: str, **extra: Any) -> cdata_oauth.Connection:
    return cdata_oauth.connect(OAuthVersion="2.0", GrantType="CLIENT", OAuthClientId=client_id,
                               OAuthAccessTokenURL=provider.issuer + "/token", Timeout=30,
                               **extra)


def test_private_key_jwt_client_gets_tokens_from_oidc_provider_twice(
        jwt_oidc: OidcProvider, assertion_key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    cert = tmp_path / "client.pem"
    cert.write_bytes(pem(assertion_key))
    with _oidc(jwt_oidc, PKJWT_ID, OAuthJWTCert=str(cert), OAuthJWTPublicKeyId="svc-key-1",
               OAuthJWTAlgorithm="PS256", OtherOptions="ClientAuth=PRIVATE_KEY_JWT") as conn:
        first = _row(conn, "EXEC GetOAuthAccessToken Scope='read'")
        second = _row(conn, "EXEC GetOAuthAccessToken Scope='read'")  # a fresh jti, or replay
    assert first["OAuthAccessToken"] and second["OAuthAccessToken"]
    assert first["OAuthAccessToken"] != second["OAuthAccessToken"]


def test_client_secret_jwt_client_gets_a_token_from_oidc_provider(
        jwt_oidc: OidcProvider) -> None:
    with _oidc(jwt_oidc, CSJWT_ID, OAuthClientSecret=CSJWT_SECRET,
               OtherOptions="ClientAuth=CLIENT_SECRET_JWT") as conn:
        assert _row(conn, "EXEC GetOAuthAccessToken Scope='read'")["OAuthAccessToken"]


def test_client_secret_jwt_with_the_wrong_secret_is_invalid_client(
        jwt_oidc: OidcProvider) -> None:
    with _oidc(jwt_oidc, CSJWT_ID, OAuthClientSecret="not-the-secret-but-as-long-as-it-3",
               OtherOptions="ClientAuth=CLIENT_SECRET_JWT") as conn, \
            pytest.raises(OAuthError) as caught:
        conn.execute("EXEC GetOAuthAccessToken")
    assert caught.value.error == "invalid_client"


def _federated(key: rsa.RSAPrivateKey, audience: str) -> str:
    """An assertion that another party (a workload's platform) issued for the client."""
    return subject_token(key, PKJWT_ID, audience, subject=PKJWT_ID, lifetime=120,
                         kid="svc-key-1")


def test_a_federated_assertion_file_is_read_afresh_for_every_request(
        jwt_oidc: OidcProvider, assertion_key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    token_url = jwt_oidc.issuer + "/token"
    mounted = tmp_path / "projected" / "token"
    mounted.parent.mkdir()
    mounted.write_text(_federated(assertion_key, token_url) + "\n")
    with _oidc(jwt_oidc, PKJWT_ID, OAuthClientAssertion=f"file:{mounted}") as conn:
        assert _row(conn, "EXEC GetOAuthAccessToken")["OAuthAccessToken"]
        mounted.write_text(_federated(assertion_key, token_url))  # the platform rotates it
        assert _row(conn, "EXEC GetOAuthAccessToken")["OAuthAccessToken"]  # no replay
        with pytest.raises(OAuthError) as caught:  # the same assertion again: a replay
            conn.execute("EXEC GetOAuthAccessToken")
    assert caught.value.error == "invalid_client"


def test_a_federated_assertion_from_an_environment_variable(
        jwt_oidc: OidcProvider, assertion_key: rsa.RSAPrivateKey,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDATA_TEST_ASSERTION",
                       _federated(assertion_key, jwt_oidc.issuer + "/token"))
    with _oidc(jwt_oidc, PKJWT_ID, OAuthClientAssertion="env:CDATA_TEST_ASSERTION") as conn:
        assert _row(conn, "EXEC GetOAuthAccessToken")["OAuthAccessToken"]


def test_refresh_authenticates_the_client_with_a_fresh_assertion_for_its_endpoint(
        test_rsa_key: rsa.RSAPrivateKey, key_file: Path, tmp_path: Path) -> None:
    server = RecordingServer()
    log_file = tmp_path / "refresh.log"
    try:
        with cdata_oauth.connect(OAuthVersion="2.0", OAuthClientId="svc",
                                 OAuthAccessTokenURL=server.url, OAuthJWTCert=str(key_file),
                                 LogFile=str(log_file),
                                 OtherOptions="ClientAuth=PRIVATE_KEY_JWT") as conn:
            row = _row(conn, "EXEC RefreshOAuthAccessToken OAuthRefreshToken='refresh-me-1'")
            _row(conn, "EXEC RefreshOAuthAccessToken OAuthRefreshToken='refresh-me-2'")
    finally:
        server.stop()
    assert row["OAuthAccessToken"].startswith("recorded.")
    first, second = server.forms
    assert first["grant_type"] == "refresh_token"
    assert first["client_assertion_type"] == CLIENT_ASSERTION_TYPE
    assert "Authorization" not in server.headers[0] and "client_secret" not in first
    claims = [jwt.decode(f["client_assertion"], test_rsa_key.public_key(),
                         algorithms=["RS256"], audience=server.url) for f in (first, second)]
    assert claims[0]["iss"] == claims[0]["sub"] == "svc"
    assert claims[0]["exp"] - claims[0]["iat"] <= 300
    assert claims[0]["jti"] != claims[1]["jti"]
    logged = log_file.read_text()
    assert "client_assertion=" in logged
    assert first["client_assertion"] not in logged and "refresh-me-1" not in logged


def test_introspection_and_revocation_sign_an_assertion_with_a_key_given_in_the_statement(
        jwt_oidc: OidcProvider, assertion_key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    cert = tmp_path / "client.pem"
    cert.write_bytes(pem(assertion_key))
    auth = ("OAuthJWTCert=?, OAuthJWTPublicKeyId='svc-key-1', "
            "OtherOptions='ClientAuth=PRIVATE_KEY_JWT'")
    with cdata_oauth.connect(OAuthVersion="2.0", OAuthClientId=PKJWT_ID,
                             OAuthIssuer=jwt_oidc.issuer, Timeout=30) as conn:
        issued = _row(conn, f"EXEC GetOAuthAccessToken GrantType='CLIENT', Scope='read', {auth}",
                      (str(cert),))["OAuthAccessToken"]
        asked = f"EXEC IntrospectOAuthToken Token=?, {auth}"
        active = _row(conn, asked, (issued, str(cert)))
        revoked = _row(conn, f"EXEC RevokeOAuthToken Token=?, {auth}", (issued, str(cert)))
        gone = _row(conn, asked, (issued, str(cert)))
        with pytest.raises(OAuthError) as caught:  # the connection alone has no key
            conn.execute("EXEC IntrospectOAuthToken Token=?", (issued,))
    assert active["Active"] == "true" and active["ClientId"] == PKJWT_ID
    assert revoked["Revoked"] == "true"
    assert gone["Active"] == "false"
    assert caught.value.error == "invalid_client"


def test_a_refresh_sends_the_client_assertion_given_in_the_statement() -> None:
    server = RecordingServer()
    given = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJzdmMifQ.c2lnbmVk"
    try:
        with cdata_oauth.connect(OAuthVersion="2.0", OAuthClientId="svc",
                                 OAuthAccessTokenURL=server.url) as conn:
            row = _row(conn, "EXEC RefreshOAuthAccessToken OAuthRefreshToken='refresh-me-3', "
                             "OAuthClientAssertion=?", (given,))
    finally:
        server.stop()
    assert row["OAuthAccessToken"].startswith("recorded.")
    (form,) = server.forms
    assert form["client_assertion"] == given
    assert form["client_assertion_type"] == CLIENT_ASSERTION_TYPE


# -- 4. token exchange -----------------------------------------------------------------

@pytest.fixture
def exchange(test_rsa_key: rsa.RSAPrivateKey) -> Iterator[TokenExchangeServer]:
    server = TokenExchangeServer(test_rsa_key, PLATFORM, "sts.example")
    yield server
    server.stop()


def _exchange(server: TokenExchangeServer, **extra: Any) -> cdata_oauth.Connection:
    return cdata_oauth.connect(OAuthVersion="2.0", GrantType="TOKENEXCHANGE",
                               OAuthAccessTokenURL=server.url, Timeout=30, **extra)


def test_token_exchange_trades_a_signed_subject_token_from_a_file(
        exchange: TokenExchangeServer, test_rsa_key: rsa.RSAPrivateKey,
        tmp_path: Path) -> None:
    token_file = tmp_path / "oidc-token"
    token_file.write_text(subject_token(test_rsa_key, PLATFORM, "sts.example"))
    with _exchange(exchange, SubjectToken=f"file:{token_file}") as conn:
        row = _row(conn, "EXEC GetOAuthAccessToken Audience='reports-api', Scope='read', "
                         "RequestedTokenType='urn:ietf:params:oauth:token-type:access_token'")
    assert row["OAuthAccessToken"].startswith("exchanged.")
    assert row["IssuedTokenType"] == ACCESS_TOKEN_TYPE
    assert row["OAuthParam:sub"] == "workload-7"
    form = exchange.forms[0]
    assert form["subject_token_type"] == "urn:ietf:params:oauth:token-type:jwt"
    assert form["audience"] == "reports-api" and form["scope"] == "read"


def test_token_exchange_with_an_actor_token_and_a_literal_subject_token(
        exchange: TokenExchangeServer, test_rsa_key: rsa.RSAPrivateKey) -> None:
    subject = subject_token(test_rsa_key, PLATFORM, "sts.example")
    with _exchange(exchange) as conn:
        row = _row(conn, f"EXEC GetOAuthAccessToken SubjectToken='{subject}', "
                         "ActorToken='actor-access-token-1', "
                         f"ActorTokenType='{ACCESS_TOKEN_TYPE}', Resource='https://api.example/'")
    assert row["IssuedTokenType"] == ACCESS_TOKEN_TYPE
    form = exchange.forms[0]
    assert form["actor_token"] == "actor-access-token-1"
    assert form["resource"] == "https://api.example/"


def test_a_subject_token_the_server_cannot_verify_is_refused(
        exchange: TokenExchangeServer) -> None:
    forged = subject_token(new_rsa_key(), PLATFORM, "sts.example")
    with _exchange(exchange, SubjectToken=forged) as conn, pytest.raises(OAuthError) as caught:
        conn.execute("EXEC GetOAuthAccessToken")
    assert caught.value.error == "invalid_grant"
    assert forged not in str(caught.value)


# -- 5. renewal without a refresh token -------------------------------------------------

def _expire(conn: cdata_oauth.Connection) -> None:
    stored = conn.tokens.stored()
    assert stored is not None and stored.refresh_token is None
    conn.tokens.store.save(Token(stored.access_token, None, None, 3600,
                                 now_ms() - 2 * 3600 * 1000))


@pytest.mark.parametrize("grant", ["JWT", "TOKENEXCHANGE"])
def test_initiate_oauth_obtains_a_new_token_the_same_way_when_due_in_a_single_flight(
        grant: str, test_rsa_key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    if grant == "JWT":
        server: GoogleStyleServer | TokenExchangeServer = GoogleStyleServer(
            test_rsa_key, GOOGLE_EMAIL, "kid-renew")
        extra: dict[str, Any] = {"OAuthJWTCert": str(server.key_file(tmp_path, test_rsa_key)),
                                 "Scope": "https://www.googleapis.com/auth/drive"}
    else:
        server = TokenExchangeServer(test_rsa_key, PLATFORM, "sts.example")
        token_file = tmp_path / "token"
        token_file.write_text(subject_token(test_rsa_key, PLATFORM, "sts.example"))
        extra = {"OAuthAccessTokenURL": server.url, "SubjectToken": f"file:{token_file}"}
    try:
        with cdata_oauth.connect(OAuthVersion="2.0", GrantType=grant,
                                 InitiateOAuth="GETANDREFRESH",
                                 OAuthSettingsLocation=f"memory://renew-{grant}-{id(server)}",
                                 **extra) as conn:
            first = conn.tokens.access_token()
            assert server.hits == 1
            _expire(conn)
            seen: list[str] = []
            threads = [threading.Thread(target=lambda: seen.append(conn.tokens.access_token()))
                       for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        server.stop()
    assert server.hits == 2  # one renewal for the four threads
    assert len(set(seen)) == 1 and seen[0] != first
    assert server.forms[0]["grant_type"] == server.forms[1]["grant_type"]


# -- secrets ---------------------------------------------------------------------------

def test_assertions_keys_and_subject_tokens_never_reach_logs_or_logfile(
        exchange: TokenExchangeServer, test_rsa_key: rsa.RSAPrivateKey, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    google = GoogleStyleServer(test_rsa_key, GOOGLE_EMAIL, "kid-logs")
    log_file = tmp_path / "oauth.log"
    key = google.key_file(tmp_path, test_rsa_key)
    subject = subject_token(test_rsa_key, PLATFORM, "sts.example")
    caplog.set_level(logging.DEBUG)
    try:
        with cdata_oauth.connect(OAuthVersion="2.0", LogFile=str(log_file)) as conn:
            _row(conn, f"EXEC GetOAuthAccessToken GrantType='JWT', OAuthJWTCert='{key}', "
                       "Scope='s'")
            _row(conn, f"EXEC GetOAuthAccessToken GrantType='TOKENEXCHANGE', "
                       f"OAuthAccessTokenURL='{exchange.url}', SubjectToken='{subject}'")
    finally:
        google.stop()
    written = log_file.read_text() + "\n".join(r.getMessage() for r in caplog.records)
    private_body = json.loads(key.read_text())["private_key"].splitlines()[1]
    for secret in (google.forms[0]["assertion"], subject, private_body):
        assert secret not in written
    assert "assertion=" in written  # the request was logged, its value masked
