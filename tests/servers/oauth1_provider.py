"""An OAuth 1.0a provider (RFC 5849) on 127.0.0.1, built on oauthlib's server endpoints.

Its RequestValidator really checks what a provider must: consumer keys, nonces (each used
once) and timestamps (oauthlib: within 10 minutes), signatures of all four methods (RSA
against the client's registered public key; oauthlib verifies RSA through PyJWT, so this
side is independent of the connector's ``cryptography`` signing), request tokens,
verifiers and callbacks. The authorize page approves at once and redirects to the
callback with oauth_token and oauth_verifier (or answers the verifier for ``oob``).

Failed checks answer 401 with ``oauth_problem=...`` (the OAuth Problem Reporting
extension real providers use); malformed requests get oauthlib's ``error=...`` 400s.
``/bad/*`` paths answer badly on purpose (HTML, no token, 500, header-only problem).
"""

from __future__ import annotations

import hmac
import http.server
import secrets
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import pytest

ALL_METHODS = ("HMAC-SHA1", "HMAC-SHA256", "PLAINTEXT", "RSA-SHA1")

#: validator_log entry that failed -> the oauth_problem a real provider would report.
_PROBLEMS = (("client", "consumer_key_unknown"), ("resource_owner", "token_rejected"),
             ("verifier", "verifier_invalid"), ("callback", "parameter_rejected"),
             ("realm", "permission_denied"), ("signature", "signature_invalid"))

_current = threading.local()  # the oauthlib request of the HTTP request being served


def _key() -> str:
    return secrets.token_hex(12)  # 24 alphanumerics: within oauthlib's 20..30 rule


@dataclass
class ConsumerApp:
    """A registered client: consumer key and secret, optional RSA public key (PEM)."""

    key: str
    secret: str
    rsa_public_pem: str | None = None
    deny: bool = False  # the user refuses at the authorize page
    extra: dict[str, str] = field(default_factory=dict)  # added to the access token answer


@dataclass
class Received:
    """One request as it reached the provider, for tests to check what was sent."""

    path: str
    method: str
    headers: dict[str, str]
    body: str
    oauth: dict[str, str]
    query: dict[str, str]


def _oauth_params(headers: dict[str, str]) -> dict[str, str]:
    from oauthlib.oauth1.rfc5849.utils import parse_authorization_header

    auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if not auth.lower().startswith("oauth "):
        return {}
    try:
        return {k: unquote(v) for k, v in parse_authorization_header(auth)}
    except ValueError:
        return {}


def _validator_class() -> type[Any]:
    from oauthlib.oauth1 import RequestValidator

    class Validator(RequestValidator):  # type: ignore[misc]
        """Stores in memory; every check is real."""

        def __init__(self, provider: OAuth1Provider) -> None:
            super().__init__()
            self.p = provider

        # policy
        @property
        def enforce_ssl(self) -> bool:
            return False  # loopback test server

        @property
        def allowed_signature_methods(self) -> tuple[str, ...]:
            return ALL_METHODS

        @property
        def dummy_client(self) -> str:
            return "dummyclientdummyclient00"

        @property
        def dummy_request_token(self) -> str:
            return "dummyrequesttokendummy00"

        @property
        def dummy_access_token(self) -> str:
            return "dummyaccesstokendummy000"

        def _problem(self, request: Any, problem: str) -> None:
            request.oauth_problem = problem

        # clients
        def validate_client_key(self, client_key: str, request: Any) -> bool:
            return client_key in self.p.apps

        def get_client_secret(self, client_key: str, request: Any) -> str:
            app = self.p.apps.get(client_key)
            return app.secret if app else "dummy-secret"

        def get_rsa_key(self, client_key: str, request: Any) -> str:
            app = self.p.apps.get(client_key)
            if app is None or app.rsa_public_pem is None:
                return self.p.dummy_rsa_public_pem()
            return app.rsa_public_pem

        # nonces and timestamps (oauthlib checks the timestamp window itself)
        def validate_timestamp_and_nonce(self, client_key: str, timestamp: str, nonce: str,
                                         request: Any, request_token: str | None = None,
                                         access_token: str | None = None) -> bool:
            seen = (client_key, timestamp, nonce, request_token or access_token)
            with self.p.lock:
                if seen in self.p.nonces:
                    self._problem(request, "nonce_used")
                    return False
                self.p.nonces.add(seen)
            return True

        # realms: accepted, not enforced
        @property
        def realms(self) -> list[str]:
            return ["photos"]

        def get_default_realms(self, client_key: str, request: Any) -> list[str]:
            return []

        def get_realms(self, token: str, request: Any) -> list[str]:
            return []

        def validate_requested_realms(self, client_key: str, realms: list[str],
                                      request: Any) -> bool:
            return True

        def verify_realms(self, token: str, realms: list[str], request: Any) -> bool:
            return True

        def validate_realms(self, *args: Any, **kwargs: Any) -> bool:
            return True

        # callbacks: oob or a loopback http URL
        def validate_redirect_uri(self, client_key: str, redirect_uri: str,
                                  request: Any) -> bool:
            if redirect_uri == "oob":
                return True
            parts = urlsplit(redirect_uri)
            return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")

        def get_redirect_uri(self, token: str, request: Any) -> str:
            return str(self.p.request_tokens[token]["callback"])

        # request tokens
        def save_request_token(self, token: dict[str, str], request: Any) -> None:
            with self.p.lock:
                self.p.request_tokens[token["oauth_token"]] = {
                    "client": request.client_key, "secret": token["oauth_token_secret"],
                    "callback": request.redirect_uri, "verifier": None}

        def verify_request_token(self, token: str, request: Any) -> bool:
            return token in self.p.request_tokens

        def validate_request_token(self, client_key: str, token: str, request: Any) -> bool:
            found = self.p.request_tokens.get(token)
            return found is not None and found["client"] == client_key

        def get_request_token_secret(self, client_key: str, token: str, request: Any) -> str:
            found = self.p.request_tokens.get(token)
            return str(found["secret"]) if found else "dummy-request-secret"

        def save_verifier(self, token: str, verifier: dict[str, str], request: Any) -> None:
            with self.p.lock:
                self.p.request_tokens[token]["verifier"] = verifier["oauth_verifier"]

        def validate_verifier(self, client_key: str, token: str, verifier: str,
                              request: Any) -> bool:
            found = self.p.request_tokens.get(token)
            expected = found and found["verifier"]
            return bool(expected) and hmac.compare_digest(str(expected), verifier)

        def invalidate_request_token(self, client_key: str, request_token: str,
                                     request: Any) -> None:
            with self.p.lock:
                self.p.request_tokens.pop(request_token, None)

        # access tokens
        def save_access_token(self, token: dict[str, str], request: Any) -> None:
            app = self.p.apps[request.client_key]
            token.update(app.extra)  # the answer is encoded after this call
            with self.p.lock:
                self.p.access_tokens[token["oauth_token"]] = {
                    "client": request.client_key, "secret": token["oauth_token_secret"]}

        def validate_access_token(self, client_key: str, token: str, request: Any) -> bool:
            found = self.p.access_tokens.get(token)
            return found is not None and found["client"] == client_key

        def get_access_token_secret(self, client_key: str, token: str, request: Any) -> str:
            found = self.p.access_tokens.get(token)
            return str(found["secret"]) if found else "dummy-access-secret"

    return Validator


def _capturing(endpoint_class: type[Any]) -> type[Any]:
    """The endpoint, remembering the oauthlib request it builds (for its validator_log)."""

    class Capturing(endpoint_class):  # type: ignore[misc, valid-type]
        def _create_request(self, *args: Any, **kwargs: Any) -> Any:
            request = super()._create_request(*args, **kwargs)
            _current.request = request
            return request

    return Capturing


class OAuth1Provider:
    """The provider; ``start()`` binds 127.0.0.1 on a free port, ``stop()`` closes it."""

    def __init__(self) -> None:
        from oauthlib.oauth1 import (
            AccessTokenEndpoint,
            AuthorizationEndpoint,
            RequestTokenEndpoint,
            ResourceEndpoint,
        )

        try:
            import jwt  # noqa: F401  (oauthlib verifies RSA-SHA1 through PyJWT)
        except ImportError as exc:
            raise RuntimeError("The OAuth 1.0a test provider needs PyJWT to verify RSA-SHA1 "
                               "signatures: pip install pyjwt.") from exc
        self.lock = threading.RLock()
        self.apps: dict[str, ConsumerApp] = {}
        self.nonces: set[tuple[str, str, str, str | None]] = set()
        self.request_tokens: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, dict[str, str]] = {}
        self.received: list[Received] = []
        self._dummy_pem: str | None = None
        validator = _validator_class()(self)
        self.request_token_endpoint = _capturing(RequestTokenEndpoint)(validator)
        self.authorization_endpoint = AuthorizationEndpoint(validator)
        self.access_token_endpoint = _capturing(AccessTokenEndpoint)(validator)
        self.resource_endpoint = _capturing(ResourceEndpoint)(validator)
        self._server: _Server | None = None

    # set-up
    def register(self, rsa_public_pem: str | None = None, deny: bool = False,
                 extra: dict[str, str] | None = None) -> ConsumerApp:
        app = ConsumerApp(_key(), secrets.token_urlsafe(18), rsa_public_pem, deny,
                          dict(extra or {}))
        with self.lock:
            self.apps[app.key] = app
        return app

    def dummy_rsa_public_pem(self) -> str:
        if self._dummy_pem is None:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import rsa

            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self._dummy_pem = key.public_key().public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
        return self._dummy_pem

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the provider first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def request_token_url(self) -> str:
        return self.base_url + "/request_token"

    @property
    def authorization_url(self) -> str:
        return self.base_url + "/authorize"

    @property
    def access_token_url(self) -> str:
        return self.base_url + "/access_token"

    @property
    def resource_url(self) -> str:
        return self.base_url + "/resource"

    def connection_properties(self, app: ConsumerApp, **overrides: Any) -> dict[str, Any]:
        """OAuthVersion=1.0 and this provider's URLs for ``app``; overrides win."""
        props: dict[str, Any] = {
            "OAuthVersion": "1.0", "OAuthClientId": app.key, "OAuthClientSecret": app.secret,
            "OAuthRequestTokenURL": self.request_token_url,
            "OAuthAuthorizationURL": self.authorization_url,
            "OAuthAccessTokenURL": self.access_token_url, "Timeout": 20}
        props.update(overrides)
        return {k: v for k, v in props.items() if v is not None}

    def requests_to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def authorize(self, authorization_url: str) -> str:
        """What the user's browser does: open the URL, return the redirect (or oob body)."""
        import requests

        response = requests.get(authorization_url, allow_redirects=False, timeout=10)
        return response.headers.get("Location") or response.text

    # life cycle
    def start(self) -> OAuth1Provider:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.provider = self
        threading.Thread(target=self._server.serve_forever, name="oauth1-provider",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> OAuth1Provider:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    provider: OAuth1Provider


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        p = self.server.provider
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        headers = {k: v for k, v in self.headers.items()}
        parts = urlsplit(self.path)
        uri = f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"
        with p.lock:
            p.received.append(Received(parts.path, method, headers, body,
                                       _oauth_params(headers),
                                       dict(parse_qsl(parts.query, keep_blank_values=True))))
        _current.request = None
        route = {
            "/request_token": lambda: p.request_token_endpoint.create_request_token_response(
                uri, method, body or None, headers),
            "/access_token": lambda: p.access_token_endpoint.create_access_token_response(
                uri, method, body or None, headers),
            "/authorize": lambda: self._authorize(p, uri),
            "/resource": lambda: self._resource(p, uri, method, body, headers),
            "/bad/html": lambda: ({"Content-Type": "text/html"},
                                  "<html><body>Welcome! Please log in.</body></html>", 200),
            "/bad/notoken": lambda: ({"Content-Type": "application/x-www-form-urlencoded"},
                                     "oauth_token_secret=s3cr3tvalue&user_id=7", 200),
            "/bad/500": lambda: ({"Content-Type": "text/plain"},  # echoes a PLAINTEXT secret
                                 "internal failure for signature "
                                 + _oauth_params(headers).get("oauth_signature", ""), 500),
            "/bad/header-problem": lambda: (
                {"WWW-Authenticate": 'OAuth realm="test", oauth_problem="timestamp_refused"',
                 "Content-Type": "text/plain"}, "", 401),
        }.get(parts.path)
        if route is None:
            self._send({"Content-Type": "text/plain"}, "not found", 404)
            return
        resp_headers, resp_body, status = route()
        if status == 401 and not resp_body and not parts.path.startswith("/bad/"):
            resp_body = urlencode({"oauth_problem": self._problem()})
            resp_headers = {"Content-Type": "application/x-www-form-urlencoded"}
        self._send(resp_headers, resp_body or "", status)

    def _problem(self) -> str:
        request = getattr(_current, "request", None)
        if request is None:
            return "signature_invalid"
        if getattr(request, "oauth_problem", None):
            return str(request.oauth_problem)
        log = getattr(request, "validator_log", {}) or {}
        return next((problem for name, problem in _PROBLEMS if log.get(name) is False),
                    "signature_invalid")

    def _authorize(self, p: OAuth1Provider, uri: str) -> tuple[dict[str, str], str | None, int]:
        from oauthlib.oauth1 import OAuth1Error

        token = dict(parse_qsl(urlsplit(uri).query)).get("oauth_token", "")
        pending = p.request_tokens.get(token)
        if pending is not None and p.apps[pending["client"]].deny:
            callback = str(pending["callback"])
            sep = "&" if "?" in callback else "?"
            return {"Location": f"{callback}{sep}denied={token}"}, None, 302
        try:
            realms, credentials = p.authorization_endpoint.get_realms_and_credentials(uri)
            return p.authorization_endpoint.create_authorization_response(  # type: ignore[no-any-return]
                uri, realms=realms, credentials=credentials)
        except OAuth1Error as exc:
            return {"Content-Type": "application/x-www-form-urlencoded"}, exc.urlencoded, \
                exc.status_code

    def _resource(self, p: OAuth1Provider, uri: str, method: str, body: str,
                  headers: dict[str, str]) -> tuple[dict[str, str], str | None, int]:
        valid, request = p.resource_endpoint.validate_protected_resource_request(
            uri, method, body or None, headers)
        if not valid:
            return {}, None, 401
        return {"Content-Type": "text/plain"}, f"hello {request.client_key}", 200

    def _send(self, headers: dict[str, str], body: str, status: int) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="session")
def oauth1_provider() -> Iterator[OAuth1Provider]:
    """A started OAuth 1.0a provider shared by the session; register an app per test."""
    with OAuth1Provider() as provider:
        yield provider


# -- test keys ---------------------------------------------------------------------------

@dataclass
class SigningKeyFiles:
    """An RSA key made for a test, its PEM public key, and a PFX file holding it."""

    private_key: Any
    public_pem: str
    pfx_path: str
    password: str


def make_rsa_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_pfx(path: Any, key: Any, password: str | None, include_key: bool = True) -> str:
    """A PKCS#12 file with a self-signed certificate for ``key`` (and the key itself)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import (
        BestAvailableEncryption,
        NoEncryption,
        pkcs12,
    )
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cdata_oauth test consumer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    encryption = BestAvailableEncryption(password.encode()) if password else NoEncryption()
    data = pkcs12.serialize_key_and_certificates(
        b"consumer", key if include_key else None, cert, None, encryption)
    with open(path, "wb") as handle:
        handle.write(data)
    return str(path)


def public_pem(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return str(key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii"))


@pytest.fixture(scope="session")
def oauth1_test_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKeyFiles:
    """One RSA key for the session (2048-bit keys take a moment to make)."""
    key = make_rsa_key()
    password = "pfx-" + secrets.token_hex(4)
    path = write_pfx(tmp_path_factory.mktemp("oauth1-key") / "consumer.pfx", key, password)
    return SigningKeyFiles(key, public_pem(key), path, password)
