"""Every bad input of service-account sign-in ends as a ProgrammingError that names the
property and the path or variable, never the key, password, assertion or token; the
secrets are secret by name; and assertions carry the claims RFC 7523 asks for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import cdata_oauth
from cdata_oauth.catalog.lookup import builtin_scripts
from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.oauth import assertions
from cdata_oauth.oauth.clientauth import client_authentication
from cdata_oauth.redaction import is_secret_field, is_secret_name

UNREACHED = "http://127.0.0.1:9/token"  # every error here comes before any request
PASSWORD = "hunter2-key-password"
SECRET_ENV = "CDATA_TEST_NOT_SET_7Q"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: Any, password: str | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password
        else serialization.NoEncryption())
    data: bytes = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8, encryption)
    return data


def _fails(message_parts: tuple[str, ...], statement: str = "EXEC GetOAuthAccessToken",
           never: tuple[str, ...] = (), **props: Any) -> str:
    props = {"OAuthVersion": "2.0", "OAuthAccessTokenURL": UNREACHED,
             "OAuthClientId": "svc", **props}
    with cdata_oauth.connect(**props) as conn, pytest.raises(ProgrammingError) as caught:
        conn.execute(statement)
    message = str(caught.value)
    for part in message_parts:
        assert part in message
    for secret in never:
        assert secret not in message
    return message


def test_a_missing_key_file_names_the_property_and_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.pem"
    _fails(("OAuthJWTCert", str(path), "does not exist"), GrantType="JWT",
           OAuthJWTCert=str(path))


def test_a_folder_for_a_key_file_is_not_a_file(tmp_path: Path) -> None:
    _fails(("OAuthJWTCert", str(tmp_path), "not a file"), GrantType="JWT",
           OAuthJWTCert=str(tmp_path))


def test_a_pem_file_given_as_pfxfile_is_the_wrong_type(tmp_path: Path,
                                                       rsa_key: rsa.RSAPrivateKey) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(rsa_key))
    _fails(("OAuthJWTCert", str(path), "not a PFX"), GrantType="JWT", OAuthJWTCert=str(path),
           OAuthJWTCertType="PFXFILE", never=(path.read_text().splitlines()[1],))


def test_a_pem_file_given_as_googlejson_is_not_json(tmp_path: Path,
                                                    rsa_key: rsa.RSAPrivateKey) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(rsa_key))
    _fails(("OAuthJWTCert", str(path), "not a JSON file"), GrantType="JWT",
           OAuthJWTCert=str(path), OAuthJWTCertType="GOOGLEJSON")


def test_a_file_that_holds_no_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some words")
    _fails(("OAuthJWTCert", str(path)), GrantType="JWT", OAuthJWTCert=str(path))


def test_a_wrong_password_is_named_without_being_shown(tmp_path: Path,
                                                       rsa_key: rsa.RSAPrivateKey) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(rsa_key, PASSWORD))
    _fails(("OAuthJWTCert", str(path), "OAuthJWTCertPassword", "wrong"), GrantType="JWT",
           OAuthJWTCert=str(path), OAuthJWTCertPassword="not-" + PASSWORD,
           never=(PASSWORD,))
    _fails(("OAuthJWTCertPassword",), GrantType="JWT", OAuthJWTCert=str(path))


@pytest.mark.parametrize(("curve", "algorithm", "fits"), [
    (None, "ES256", "RS256"), (ec.SECP256R1(), "RS256", "ES256"),
    (ec.SECP384R1(), "ES256", "ES384"), (ec.SECP256R1(), "PS256", "ES256"),
])
def test_a_key_whose_type_does_not_fit_the_algorithm_is_refused(
        tmp_path: Path, rsa_key: rsa.RSAPrivateKey, curve: ec.EllipticCurve | None,
        algorithm: str, fits: str) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(rsa_key if curve is None else ec.generate_private_key(curve)))
    _fails(("OAuthJWTAlgorithm=" + algorithm, "OAuthJWTCert", fits), GrantType="JWT",
           OAuthJWTCert=str(path), OAuthJWTAlgorithm=algorithm)


@pytest.mark.parametrize("field", ["client_email", "private_key", "private_key_id", "token_uri"])
def test_a_google_key_file_missing_a_field_names_the_field(
        tmp_path: Path, rsa_key: rsa.RSAPrivateKey, field: str) -> None:
    fields = {"type": "service_account", "client_email": "svc@p.iam.gserviceaccount.com",
              "private_key": _pem(rsa_key).decode(), "private_key_id": "kid-1",
              "token_uri": UNREACHED}
    del fields[field]
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(fields))
    _fails(("OAuthJWTCert", str(path), field), GrantType="JWT", OAuthJWTCert=str(path),
           never=(_pem(rsa_key).decode().splitlines()[1],))


def test_a_missing_client_assertion_file_names_the_property_and_path(tmp_path: Path) -> None:
    path = tmp_path / "projected" / "token"
    _fails(("OAuthClientAssertion", str(path), "does not exist"), GrantType="CLIENT",
           OAuthClientAssertion=f"file:{path}")


def test_an_empty_client_assertion_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("\n")
    _fails(("OAuthClientAssertion", str(path), "empty"), GrantType="CLIENT",
           OAuthClientAssertion=f"file:{path}")


@pytest.mark.parametrize(("name", "grant"), [("OAuthClientAssertion", "CLIENT"),
                                             ("SubjectToken", "TOKENEXCHANGE")])
def test_an_environment_variable_that_is_not_set_is_named(
        monkeypatch: pytest.MonkeyPatch, name: str, grant: str) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    _fails((name, SECRET_ENV, "not set"), GrantType=grant, **{name: f"env:{SECRET_ENV}"})


def test_token_exchange_needs_a_subject_token_and_an_actor_token_type() -> None:
    _fails(("SubjectToken",), GrantType="TOKENEXCHANGE")
    _fails(("ActorTokenType",), GrantType="TOKENEXCHANGE", SubjectToken="subject-tok-1",
           ActorToken="actor-tok-1", never=("subject-tok-1", "actor-tok-1"))


def test_jwt_grant_without_a_key_file_says_what_to_set() -> None:
    _fails(("OAuthJWTCert",), GrantType="JWT")


def test_client_secret_jwt_without_a_secret_and_a_conflicting_assertion_are_refused() -> None:
    _fails(("ClientAuth=CLIENT_SECRET_JWT", "OAuthClientSecret"), GrantType="CLIENT",
           OtherOptions="ClientAuth=CLIENT_SECRET_JWT")
    _fails(("OAuthClientAssertion", "ClientAuth=POST"), GrantType="CLIENT",
           OAuthClientSecret="s3cr3t-value", OAuthClientAssertion="eyJ.x.y",
           OtherOptions="ClientAuth=POST", never=("s3cr3t-value", "eyJ.x.y"))


def test_without_pyjwt_signing_says_which_extra_to_install(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(rsa_key))
    monkeypatch.setattr(assertions, "optional_module", lambda name: None)
    _fails(("PyJWT", "cdata_oauth[jwt]"), GrantType="JWT", OAuthJWTCert=str(path))


def test_assertion_inputs_are_secret_and_token_types_are_not() -> None:
    for name in ("OAuthClientAssertion", "SubjectToken", "ActorToken", "OAuthJWTCertPassword"):
        assert is_secret_name(name)
    for name in ("SubjectTokenType", "ActorTokenType", "RequestedTokenType", "IssuedTokenType",
                 "OAuthJWTCert", "OAuthJWTIssuer"):
        assert not is_secret_name(name)
    for field in ("client_assertion", "assertion", "subject_token", "actor_token"):
        assert is_secret_field(field)
    assert not is_secret_field("client_assertion_type")
    assert not is_secret_field("subject_token_type")


CLIENT_ASSERTION_INPUTS = ("OAuthJWTCert", "OAuthJWTCertType", "OAuthJWTCertPassword",
                           "OAuthJWTAudience", "OAuthJWTValidityTime", "OAuthJWTAlgorithm",
                           "OAuthJWTPublicKeyId", "OAuthClientAssertion")


@pytest.mark.parametrize("procedure", ["RefreshOAuthAccessToken", "GetOAuthDeviceCode",
                                       "RevokeOAuthToken", "IntrospectOAuthToken"])
def test_every_procedure_that_authenticates_the_client_takes_an_assertion_per_call(
        procedure: str) -> None:
    """ClientAuth=PRIVATE_KEY_JWT works for each of these requests (clientauth.METHODS), so
    each takes the key and assertion inputs in the EXEC as GetOAuthAccessToken does."""
    scripts = builtin_scripts()
    reference, script = scripts["getoauthaccesstoken"], scripts[procedure.lower()]
    for name in CLIENT_ASSERTION_INPUTS:
        given, model = script.find_input(name), reference.find_input(name)
        assert given is not None and model is not None, (procedure, name)
        assert (given.values, given.xs_type, given.secret) == (
            model.values, model.xs_type, model.secret), (procedure, name)


def test_connection_repr_masks_assertions_and_subject_tokens() -> None:
    with cdata_oauth.connect(OAuthClientAssertion="eyJhbGciOi.assertion.sig",
                             SubjectToken="subject-token-value-1",
                             OAuthJWTCertPassword=PASSWORD) as conn:
        shown = repr(conn.properties)
    for secret in ("eyJhbGciOi.assertion.sig", "subject-token-value-1", PASSWORD):
        assert secret not in shown


class _Source:
    """The fields client authentication reads, as a flow holds them."""

    def __init__(self, **values: Any) -> None:
        self.values = values
        self.secrets: list[object] = []
        self.client_id: str | None = values.pop("client_id", "svc")
        self.client_secret: str | None = values.pop("client_secret", None)
        self.options: dict[str, Any] = {"ClientAuth": values.pop("ClientAuth", None)}

    def get(self, name: str) -> Any:
        return self.values.get(name)


def test_private_key_jwt_assertion_claims_and_expiry_bound(tmp_path: Path,
                                                          rsa_key: rsa.RSAPrivateKey) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(rsa_key))
    source = _Source(ClientAuth="PRIVATE_KEY_JWT", OAuthJWTCert=str(path),
                     OAuthJWTValidityTime=3600, OAuthJWTPublicKeyId="k1")
    one = client_authentication(source, "https://as.example/token")
    two = client_authentication(source, "https://as.example/token")
    claims = [jwt.decode(a.fields["client_assertion"], rsa_key.public_key(),
                         algorithms=["RS256"], audience="https://as.example/token")
              for a in (one, two)]
    assert claims[0]["iss"] == claims[0]["sub"] == "svc"
    assert claims[0]["exp"] - claims[0]["iat"] == 300
    assert claims[0]["jti"] != claims[1]["jti"]
    assert jwt.get_unverified_header(one.fields["client_assertion"])["kid"] == "k1"
    assert one.fields["client_assertion"] in source.secrets
    assert "client_assertion" not in repr(one)


def test_ec_keys_sign_with_the_algorithm_of_their_curve(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    path = tmp_path / "ec.pem"
    path.write_bytes(_pem(key))
    source = _Source(ClientAuth="PRIVATE_KEY_JWT", OAuthJWTCert=str(path))
    auth = client_authentication(source, "https://as.example/token")
    token = auth.fields["client_assertion"]
    assert jwt.get_unverified_header(token)["alg"] == "ES384"
    jwt.decode(token, key.public_key(), algorithms=["ES384"], audience="https://as.example/token")


def test_client_secret_jwt_is_hs256_with_the_secret() -> None:
    secret = "a-client-secret-of-at-least-32-bytes!!"
    auth = client_authentication(_Source(ClientAuth="CLIENT_SECRET_JWT", client_secret=secret),
                                 "https://as.example/token")
    jwt.decode(auth.fields["client_assertion"], secret, algorithms=["HS256"],
               audience="https://as.example/token")
    assert "client_secret" not in auth.fields and not auth.headers


def test_assertion_parameters_cannot_be_smuggled_in_as_oauth_params() -> None:
    _fails(("OAuthParam:client_assertion", "OAuthClientAssertion"), GrantType="CLIENT",
           **{"OAuthParam:client_assertion": "eyJ.forged.sig"}, never=("eyJ.forged.sig",))
    _fails(("OAuthParam:subject_token", "SubjectToken"), GrantType="TOKENEXCHANGE",
           SubjectToken="subject-tok-2", **{"OAuthParam:subject_token": "other-tok-3"})


def test_private_key_jwt_needs_a_client_id(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(rsa_key))
    _fails(("ClientAuth=PRIVATE_KEY_JWT", "OAuthClientId"), GrantType="JWT",
           OAuthClientId=None, OAuthJWTIssuer="svc", OAuthJWTCert=str(path),
           OtherOptions="ClientAuth=PRIVATE_KEY_JWT")
