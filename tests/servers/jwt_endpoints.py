"""Token endpoints that take signed assertions, on 127.0.0.1:

- ``AuthlibJwtServer``: a Flask app whose token endpoint is Authlib's server-side
  ``JWTBearerGrant`` (RFC 7523 2.1), so the assertion's signature and claims are checked by
  code nobody here wrote; its client's public key is the test key's.
- ``GoogleStyleServer``: checks what Google's token endpoint checks of a service account's
  assertion: RS256, ``kid`` = private_key_id, ``iss`` = client_email, ``aud`` = token_uri,
  ``scope`` among the claims, a lifetime of at most an hour; verified with the public half.
- ``TokenExchangeServer``: RFC 8693: verifies the subject token's signature with the
  issuer's public key, and its ``aud``; answers with ``issued_token_type``.

Each counts the requests it answered and keeps the forms it received.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jwt
import pytest
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc7523 import JWTBearerGrant
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, request
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
AUTHLIB_CLIENT = "svc-authlib"
AUTHLIB_USERS = (AUTHLIB_CLIENT, "alice@example.com")  # the service itself, or for whom it acts


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: Any, password: str | None = None,
        fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password
        else serialization.NoEncryption())
    data: bytes = key.private_bytes(serialization.Encoding.PEM, fmt, encryption)
    return data


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig"}


class _Threaded:
    """A server in a daemon thread; ``url`` is its token endpoint."""

    url: str
    hits: int
    forms: list[dict[str, str]]

    def _serve(self, server: Any) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- Authlib ---------------------------------------------------------------------------

class AuthlibJwtServer(_Threaded):
    """Authlib's JWTBearerGrant behind a Flask token endpoint at /token."""

    def __init__(self, public_key: rsa.RSAPublicKey, expires_in: int = 3600) -> None:
        self.hits = 0
        self.forms = []
        self.issued: list[dict[str, Any]] = []
        public_pem = public_key.public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
        public_key_object = RSAKey.import_key(public_pem)
        outer = self

        class Client(ClientMixin):  # type: ignore[misc]
            client_id = AUTHLIB_CLIENT

            def get_client_id(self) -> str:
                return self.client_id

            def check_grant_type(self, grant_type: str) -> bool:
                return grant_type == JWT_BEARER

            def get_allowed_scope(self, scope: str) -> str:
                return " ".join(s for s in (scope or "").split() if s in ("read", "write"))

        client = Client()

        class Grant(JWTBearerGrant):  # type: ignore[misc]
            def resolve_issuer_client(self, issuer: str) -> Any:
                return client if issuer == AUTHLIB_CLIENT else None

            def resolve_client_public_key(self, client: Any) -> RSAKey:
                return public_key_object

            def authenticate_user(self, subject: str) -> Any:
                return subject if subject in AUTHLIB_USERS else None

            def has_granted_permission(self, client: Any, user: Any) -> bool:
                return True

            def get_audiences(self) -> list[str]:
                return [outer.url]

        app = Flask("authlib-jwt-bearer")
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {JWT_BEARER: expires_in}
        server = AuthorizationServer(app, query_client=lambda cid: client if cid ==
                                     AUTHLIB_CLIENT else None,
                                     save_token=lambda token, request: self.issued.append(
                                         dict(token)))
        server.register_grant(Grant)

        @app.post("/token")
        def token() -> Any:
            outer.hits += 1
            outer.forms.append(dict(request.form))
            return server.create_token_response()

        http = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{http.server_port}/token"
        self._serve(http)


# -- ours ------------------------------------------------------------------------------

class _FormHandler(BaseHTTPRequestHandler):
    owner: _FormServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode("utf-8")))
        self.owner.hits += 1
        self.owner.forms.append(form)
        status, answer = self.owner.answer(form, dict(self.headers))
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _FormServer(_Threaded):
    def __init__(self) -> None:
        self.hits = 0
        self.forms = []
        handler = type("Handler", (_FormHandler,), {"owner": self})
        http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{http.server_address[1]}/token"
        self._serve(http)

    def answer(self, form: dict[str, str], headers: dict[str, str]
               ) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError


def _refuse(description: str, error: str = "invalid_grant") -> tuple[int, dict[str, Any]]:
    return 400, {"error": error, "error_description": description}


class GoogleStyleServer(_FormServer):
    """A token endpoint that checks a service account's assertion as Google does."""

    def __init__(self, key: rsa.RSAPrivateKey, client_email: str, key_id: str,
                 expires_in: int = 3599) -> None:
        self.public_key = key.public_key()
        self.client_email, self.key_id, self.expires_in = client_email, key_id, expires_in
        self.claims: list[dict[str, Any]] = []
        super().__init__()

    def key_file(self, folder: Path, private_key: rsa.RSAPrivateKey, **changes: Any) -> Path:
        """A service-account JSON key file pointing at this server (``changes`` override
        or, given None, remove fields)."""
        fields: dict[str, Any] = {
            "type": "service_account", "project_id": "cdata-test",
            "private_key_id": self.key_id, "private_key": pem(private_key).decode(),
            "client_email": self.client_email, "client_id": "1234567890",
            "token_uri": self.url}
        for name, value in changes.items():
            if value is None:
                fields.pop(name, None)
            else:
                fields[name] = value
        path = folder / "service-account.json"
        path.write_text(json.dumps(fields))
        return path

    def answer(self, form: dict[str, str], headers: dict[str, str]
               ) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") != JWT_BEARER:
            return _refuse("Invalid grant_type", "unsupported_grant_type")
        assertion = form.get("assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, self.public_key, algorithms=["RS256"],
                                audience=self.url, issuer=self.client_email,
                                options={"require": ["iss", "aud", "iat", "exp"]})
        except jwt.PyJWTError as exc:
            return _refuse(f"Invalid JWT Signature or claims: {type(exc).__name__}")
        if header.get("kid") != self.key_id:
            return _refuse("Invalid key id")
        if not claims.get("scope"):
            return _refuse("Invalid OAuth scope or ID token audience provided.",
                           "invalid_scope")
        if claims["exp"] - claims["iat"] > 3600 or claims["iat"] > time.time() + 60:
            return _refuse("Invalid JWT: Token must be a short-lived token (60 minutes)")
        self.claims.append(claims)
        return 200, {"access_token": "ya29." + secrets.token_urlsafe(24),
                     "expires_in": self.expires_in, "token_type": "Bearer"}


class TokenExchangeServer(_FormServer):
    """RFC 8693: exchanges a subject token signed by the trusted issuer."""

    def __init__(self, issuer_key: rsa.RSAPrivateKey, issuer: str, audience: str) -> None:
        self.public_key = issuer_key.public_key()
        self.issuer, self.audience = issuer, audience
        super().__init__()

    def answer(self, form: dict[str, str], headers: dict[str, str]
               ) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") != TOKEN_EXCHANGE:
            return _refuse("grant_type", "unsupported_grant_type")
        if form.get("subject_token_type") != JWT_TYPE:
            return _refuse("subject_token_type must be " + JWT_TYPE, "invalid_request")
        try:
            subject = jwt.decode(form.get("subject_token", ""), self.public_key,
                                 algorithms=["RS256", "ES256"], audience=self.audience,
                                 issuer=self.issuer)
        except jwt.PyJWTError as exc:
            return _refuse(f"subject_token refused: {type(exc).__name__}")
        if "actor_token" in form and form.get("actor_token_type") != ACCESS_TOKEN_TYPE:
            return _refuse("actor_token_type", "invalid_request")
        issued = form.get("requested_token_type") or ACCESS_TOKEN_TYPE
        return 200, {"access_token": "exchanged." + secrets.token_urlsafe(16),
                     "issued_token_type": issued, "token_type": "Bearer",
                     "expires_in": 600, "scope": form.get("scope", ""),
                     "sub": subject["sub"], "audience": form.get("audience", "")}


class RecordingServer(_FormServer):
    """Answers every request with a new token (and a refresh token), keeping the forms and
    headers, so a test can check how the client authenticated."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        super().__init__()

    def answer(self, form: dict[str, str], headers: dict[str, str]
               ) -> tuple[int, dict[str, Any]]:
        self.headers.append(headers)
        return 200, {"access_token": "recorded." + secrets.token_urlsafe(16),
                     "refresh_token": "refresh." + secrets.token_urlsafe(16),
                     "token_type": "Bearer", "expires_in": 3600}


def subject_token(key: rsa.RSAPrivateKey, issuer: str, audience: str,
                  subject: str = "workload-7", lifetime: int = 600,
                  kid: str = "platform-1") -> str:
    """A JWT as a workload's platform would issue it (a projected token, an OIDC token)."""
    now = int(time.time())
    return jwt.encode({"iss": issuer, "sub": subject, "aud": audience, "iat": now,
                       "exp": now + lifetime, "jti": secrets.token_urlsafe(12)},
                      key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture(scope="session")
def test_rsa_key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture
def authlib_jwt(test_rsa_key: rsa.RSAPrivateKey) -> Iterator[AuthlibJwtServer]:
    server = AuthlibJwtServer(test_rsa_key.public_key())
    yield server
    server.stop()
