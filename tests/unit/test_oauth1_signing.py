"""OAuth 1.0a signing: the published RFC 5849 section 1.2 example as fixed vectors, and
the PFX (PKCS#12) key file edge cases of RSA-SHA1."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from oauthlib.oauth1.rfc5849 import signature as rfc
from oauthlib.oauth1.rfc5849.utils import escape, parse_authorization_header

from cdata_oauth import ProgrammingError
from cdata_oauth.keys import load_signing_key
from cdata_oauth.oauth.oauth1 import Signer
from tests.servers.oauth1_provider import SigningKeyFiles, make_rsa_key, write_pfx

# RFC 5849 section 1.2: the printer (client) and photos.example.net (server).
CONSUMER_KEY, CONSUMER_SECRET = "dpf43f3p2l4k3l03", "kd94hf93k423kf44"

# The one signature base string the section prints (the photo request).
PHOTO_BASE_STRING = (
    "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3D"
    "dpf43f3p2l4k3l03%26oauth_nonce%3DchapoH%26oauth_signature_method%3DHMAC-SHA1%26"
    "oauth_timestamp%3D137131202%26oauth_token%3Dnnch734d00sl2jdk%26size%3Doriginal")

RFC_REQUESTS = [
    pytest.param(dict(method="POST", url="https://photos.example.net/initiate",
                      callback="http://printer.example.com/ready", nonce="wIjqoS",
                      timestamp="137131200"),
                 "74KNZJeDHnMBp0EMJ9ZHt/XKycU=", None, id="temporary-credentials"),
    pytest.param(dict(method="POST", url="https://photos.example.net/token",
                      token="hh5s93j4hdidpola", token_secret="hdhd0244k9j7ao03",
                      verifier="hfdp7dh39dks9884", nonce="walatlh", timestamp="137131201"),
                 "gKgrFCywp7rO0OXSjdot/IHF7IU=", None, id="token-credentials"),
    pytest.param(dict(method="GET",
                      url="http://photos.example.net/photos?file=vacation.jpg&size=original",
                      token="nnch734d00sl2jdk", token_secret="pfkkdhi9sl3r4s00",
                      nonce="chapoH", timestamp="137131202"),
                 "MdpQcU8iPSUjWoN/UDMsK2sui9I=", PHOTO_BASE_STRING, id="photo-request"),
]


def _hmac(base: str, consumer_secret: str, token_secret: str,
          digest: Any = hashlib.sha1) -> str:
    """RFC 5849 3.4.2, computed here: key = escaped secrets joined by '&'."""
    key = f"{escape(consumer_secret)}&{escape(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base.encode(), digest).digest()).decode()


def _sent(headers: dict[str, str]) -> dict[str, str]:
    """The Authorization header's parameters, decoded."""
    return {k: unquote(v) for k, v in parse_authorization_header(headers["Authorization"])}


def _base_string(url: str, method: str, headers: dict[str, str]) -> str:
    """The base string a server computes from the request as sent (RFC 5849 3.4.1)."""
    params = rfc.collect_parameters(uri_query=urlsplit(url).query, headers=headers)
    return rfc.signature_base_string(method, rfc.base_string_uri(url),
                                     rfc.normalize_parameters(params))


@pytest.mark.parametrize(("request_args", "expected_signature", "expected_base"), RFC_REQUESTS)
def test_rfc5849_section_1_2_example(request_args: dict[str, str], expected_signature: str,
                                     expected_base: str | None) -> None:
    # The RFC's requests carry realm="Photos" and leave out the optional oauth_version.
    signer = Signer(CONSUMER_KEY, CONSUMER_SECRET, "HMAC-SHA1", realm="Photos",
                    send_version=False)
    method, url = request_args.pop("method"), request_args.pop("url")
    signed_url, headers, body = signer.sign(method, url, **request_args)
    sent = _sent(headers)
    assert sent["oauth_signature"] == expected_signature
    assert sent["realm"] == "Photos"
    assert "oauth_version" not in sent
    assert signed_url == url and body is None
    if expected_base is not None:
        assert _base_string(url, method, headers) == expected_base
    # and it is the HMAC-SHA1 of that base string under consumer secret & token secret
    assert _hmac(_base_string(url, method, headers), CONSUMER_SECRET,
                 request_args.get("token_secret", "")) == expected_signature


def test_oauth_version_is_sent_by_default() -> None:
    _, headers, _ = Signer(CONSUMER_KEY, CONSUMER_SECRET).sign("POST", "https://h.example/r")
    sent = _sent(headers)
    assert sent["oauth_version"] == "1.0"
    assert sent["oauth_signature_method"] == "HMAC-SHA1"
    assert len(sent["oauth_nonce"]) >= 8 and sent["oauth_timestamp"].isdigit()


def test_form_body_parameters_are_signed() -> None:
    signer = Signer(CONSUMER_KEY, CONSUMER_SECRET)
    url = "https://h.example/r"
    _, headers, body = signer.sign(
        "POST", url, body="scope=photos&x=1", nonce="n0nce", timestamp="1700000000",
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    sent = _sent(headers)
    params = rfc.collect_parameters(body=parse_qsl(body or ""), headers=headers)
    base = rfc.signature_base_string("POST", url, rfc.normalize_parameters(params))
    assert "scope%3Dphotos" in base
    assert _hmac(base, CONSUMER_SECRET, "") == sent["oauth_signature"]


def test_plaintext_and_hmac_sha256() -> None:
    _, headers, _ = Signer("ck", "c s", "PLAINTEXT").sign(
        "POST", "https://h.example/r", token="t", token_secret="t&s")
    sent = _sent(headers)
    assert sent["oauth_signature"] == "c%20s&t%26s"  # RFC 5849 3.4.4: encoded secrets
    url = "https://h.example/r"
    _, headers, _ = Signer("ck", "cs", "HMAC-SHA256").sign("POST", url, nonce="abc",
                                                            timestamp="1700000000")
    sent = _sent(headers)
    assert sent["oauth_signature"] == _hmac(
        _base_string(url, "POST", headers), "cs", "", hashlib.sha256)


def test_rsa_sha1_verifies_with_the_public_key(oauth1_test_key: SigningKeyFiles) -> None:
    key = load_signing_key(oauth1_test_key.pfx_path, oauth1_test_key.password)
    url = "https://h.example/r"
    _, headers, _ = Signer("ck", None, "RSA-SHA1", key).sign("POST", url)
    sent = _sent(headers)
    assert sent["oauth_signature_method"] == "RSA-SHA1"
    public = serialization.load_pem_public_key(oauth1_test_key.public_pem.encode())
    public.verify(base64.b64decode(sent["oauth_signature"]),  # type: ignore[union-attr]
                  _base_string(url, "POST", headers).encode(), padding.PKCS1v15(),
                  hashes.SHA1())  # type: ignore[call-arg]


def test_signer_repr_hides_secrets() -> None:
    assert "topsecret" not in repr(Signer("ck", "topsecret"))


# -- PFX files ----------------------------------------------------------------------------

def test_pfx_with_password(oauth1_test_key: SigningKeyFiles) -> None:
    key = load_signing_key(oauth1_test_key.pfx_path, oauth1_test_key.password)
    assert key.public_key().public_numbers() == \
        oauth1_test_key.private_key.public_key().public_numbers()


def test_pfx_without_password(tmp_path: Path, oauth1_test_key: SigningKeyFiles) -> None:
    path = write_pfx(tmp_path / "open.pfx", oauth1_test_key.private_key, None)
    assert load_signing_key(path, None).key_size == 2048
    assert load_signing_key(path, "ignored-when-the-file-has-none").key_size == 2048


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProgrammingError, match="does not exist"):
        load_signing_key(str(tmp_path / "nowhere.pfx"), "x")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ProgrammingError, match="is not a file"):
        load_signing_key(str(tmp_path), None)


def test_wrong_password(oauth1_test_key: SigningKeyFiles) -> None:
    with pytest.raises(ProgrammingError, match="password is wrong") as caught:
        load_signing_key(oauth1_test_key.pfx_path, "not-the-password")
    assert oauth1_test_key.password not in str(caught.value)


def test_password_needed(oauth1_test_key: SigningKeyFiles) -> None:
    with pytest.raises(ProgrammingError, match="set CertPassword"):
        load_signing_key(oauth1_test_key.pfx_path, None)


def test_certificate_without_private_key(tmp_path: Path,
                                         oauth1_test_key: SigningKeyFiles) -> None:
    path = write_pfx(tmp_path / "cert-only.pfx", oauth1_test_key.private_key, "pw",
                     include_key=False)
    with pytest.raises(ProgrammingError, match="holds no private key"):
        load_signing_key(path, "pw")


def test_not_a_pfx(tmp_path: Path) -> None:
    path = tmp_path / "notes.pfx"
    path.write_text("these are not the keys you are looking for")
    with pytest.raises(ProgrammingError, match="not a PFX"):
        load_signing_key(str(path), "pw")


def test_ec_key_is_refused(tmp_path: Path) -> None:
    path = write_pfx(tmp_path / "ec.pfx", ec.generate_private_key(ec.SECP256R1()), "pw")
    with pytest.raises(ProgrammingError, match="not an RSA key"):
        load_signing_key(path, "pw")


def test_pem_private_key(tmp_path: Path) -> None:
    key = make_rsa_key()
    path = tmp_path / "key.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b"pem-pw")))
    assert load_signing_key(str(path), "pem-pw").key_size == 2048
    with pytest.raises(ProgrammingError, match="password is wrong"):
        load_signing_key(str(path), "nope")
    with pytest.raises(ProgrammingError, match="set CertPassword"):
        load_signing_key(str(path), None)
