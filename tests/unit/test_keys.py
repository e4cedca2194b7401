"""The one key loader: every format a key file comes in, and a message per way it fails."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.keys import KeyFile, load_key

JWT = KeyFile("OAuthJWTCert", "OAuthJWTCertPassword")
PASSWORD = "open-sesame-7"


def _certificate(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cdata-oauth-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
         fmt: serialization.PrivateFormat, password: str | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password
        else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption)


@pytest.mark.parametrize(("fmt", "password"), [
    (serialization.PrivateFormat.PKCS8, None),
    (serialization.PrivateFormat.PKCS8, PASSWORD),
    (serialization.PrivateFormat.TraditionalOpenSSL, None),  # PKCS#1
    (serialization.PrivateFormat.TraditionalOpenSSL, PASSWORD),
])
def test_pem_keys_in_pkcs8_and_pkcs1_open_with_their_password(
        tmp_path: Path, rsa_key: rsa.RSAPrivateKey, fmt: serialization.PrivateFormat,
        password: str | None) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(rsa_key, fmt, password))
    loaded = load_key(str(path), password, JWT)
    assert loaded.key.private_numbers() == rsa_key.private_numbers()  # type: ignore[union-attr]
    assert loaded.certificates == ()


def test_a_pem_file_with_key_and_certificate_gives_both(tmp_path: Path,
                                                        rsa_key: rsa.RSAPrivateKey) -> None:
    certificate = _certificate(rsa_key)
    path = tmp_path / "both.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM)
                     + _pem(rsa_key, serialization.PrivateFormat.PKCS8))
    loaded = load_key(str(path), None, JWT)
    assert loaded.certificates == (certificate,)


def test_pkcs12_gives_key_and_certificate(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    certificate = _certificate(rsa_key)
    path = tmp_path / "bundle.pfx"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"test", rsa_key, certificate, None,
        serialization.BestAvailableEncryption(PASSWORD.encode())))
    loaded = load_key(str(path), PASSWORD, JWT)
    assert loaded.certificates == (certificate,)
    with pytest.raises(ProgrammingError, match="set OAuthJWTCertPassword"):
        load_key(str(path), None, JWT)


def test_elliptic_curve_keys_load_too(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "ec.pem"
    path.write_bytes(_pem(key, serialization.PrivateFormat.PKCS8))
    assert isinstance(load_key(str(path), None, JWT).key, ec.EllipticCurvePrivateKey)


def test_each_failure_names_the_property_and_never_the_password(
        tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(_pem(rsa_key, serialization.PrivateFormat.PKCS8, PASSWORD))
    plain = tmp_path / "plain.pem"
    plain.write_bytes(_pem(rsa_key, serialization.PrivateFormat.PKCS8))
    certificate_only = tmp_path / "cert.pem"
    certificate_only.write_bytes(_certificate(rsa_key).public_bytes(serialization.Encoding.PEM))
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"not a key at all")
    cases = [
        (str(tmp_path / "missing.pem"), None, "does not exist"),
        (str(tmp_path), None, "is not a file"),
        (str(encrypted), None, "set OAuthJWTCertPassword"),
        (str(encrypted), "wrong-" + PASSWORD, "password is wrong"),
        (str(plain), PASSWORD, "remove OAuthJWTCertPassword"),
        (str(certificate_only), None, "holds no private key"),
        (str(garbage), None, "not a PFX"),
    ]
    for location, password, expected in cases:
        with pytest.raises(ProgrammingError, match=expected) as raised:
            load_key(location, password, JWT)
        assert str(raised.value).startswith("OAuthJWTCert ")
        assert PASSWORD not in str(raised.value)
