"""Private keys from files: PEM (PKCS#8, PKCS#1, SEC1, encrypted or not, with or without
certificates) or PKCS#12 (.pfx/.p12), opened with a password.

One loader serves every key the connector reads (``Cert`` for OAuth 1.0a RSA-SHA1,
``SSLClientCert`` for TLS client certificates, and the keys that sign assertions). Each
way a file can be unusable (missing, unreadable, neither format, wrong or missing
password, no private key) has its own message naming the property, because each has a
different fix; no message ever quotes the file's content or the password.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12

from cdata_oauth.exceptions import ProgrammingError

__all__ = ["GoogleServiceAccount", "KeyFile", "LoadedKey", "load_google_json", "load_key",
           "load_signing_key"]

_KEY_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.+?-----END \1PRIVATE KEY-----",
                        re.S)


@dataclass(frozen=True)
class KeyFile:
    """The properties that name a key file and its password, as messages name them."""

    file_property: str
    password_property: str


@dataclass(frozen=True)
class LoadedKey:
    """A private key and the certificates that came with it (leaf first), if any."""

    key: PrivateKeyTypes
    certificates: tuple[x509.Certificate, ...]


CERT = KeyFile("Cert", "CertPassword")


def load_signing_key(cert: str, password: str | None) -> RSAPrivateKey:
    """The RSA key of ``Cert`` (a .pfx/.p12 file, or a PEM key file) for RSA-SHA1."""
    key = load_key(cert, password, CERT).key
    if not isinstance(key, RSAPrivateKey):
        raise ProgrammingError(
            f"Cert {cert!r} holds a {type(key).__name__.removeprefix('_')} key, not an RSA "
            "key; RSA-SHA1 signs with RSA only.")
    return key


def load_key(location: str, password: str | None, names: KeyFile,
             kind: str | None = None) -> LoadedKey:
    """The private key (and certificates) held by the file at ``location``.

    ``kind`` ("PEM" or "PFX") insists on one format, for properties that name it."""
    label = f"{names.file_property} {location!r}"
    data = _read(label, location, names)
    is_pem = b"-----BEGIN" in data
    if kind == "PEM" and not is_pem:
        raise ProgrammingError(
            f"{label} is not a PEM file; give a PEM private key file, or name the file's "
            "type (e.g. PFXFILE for a .pfx/.p12).")
    if kind == "PFX" and is_pem:
        raise ProgrammingError(
            f"{label} is a PEM file, not a PFX (PKCS#12) file; name its type as a PEM key "
            "file (e.g. PEMKEY_FILE).")
    if is_pem:
        return _from_pem(label, data, password, names)
    return _from_pkcs12(label, data, password, names)


@dataclass(frozen=True)
class GoogleServiceAccount:
    """What a Google service-account key file gives: who signs, with which key, where."""

    client_email: str
    key: PrivateKeyTypes = field(repr=False)
    private_key_id: str
    token_uri: str
    private_key_pem: str = field(repr=False)  # a secret: callers mask it


_GOOGLE_FIELDS = ("client_email", "private_key", "private_key_id", "token_uri")


def load_google_json(location: str, names: KeyFile) -> GoogleServiceAccount:
    """The fields of a Google service-account key file (JSON) and its private key."""
    label = f"{names.file_property} {location!r}"
    data = _read(label, location, names)
    try:
        fields = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ProgrammingError(
            f"{label} is not a JSON file; GOOGLEJSON takes the service-account key file "
            "Google gives (IAM > Service accounts > Keys > JSON).") from None
    if not isinstance(fields, dict):
        raise ProgrammingError(f"{label} is JSON but not a service-account key object.")
    absent = [name for name in _GOOGLE_FIELDS
              if not isinstance(fields.get(name), str) or not fields[name].strip()]
    if absent:
        raise ProgrammingError(
            f"{label} lacks {', '.join(absent)}; download a new JSON key for the service "
            "account.")
    key = _from_pem(f"{label} (its private_key)", fields["private_key"].encode("utf-8"),
                    None, names).key
    return GoogleServiceAccount(fields["client_email"], key, fields["private_key_id"],
                                fields["token_uri"], fields["private_key"])


def _read(label: str, location: str, names: KeyFile) -> bytes:
    path = Path(location).expanduser()
    if not path.exists():
        raise ProgrammingError(
            f"{label} does not exist; set {names.file_property} to the path of the PEM or "
            "PFX (PKCS#12) file that holds the private key.")
    if not path.is_file():
        raise ProgrammingError(f"{label} is not a file; point it at a .pem or .pfx file.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProgrammingError(
            f"{label} cannot be read ({exc.strerror or type(exc).__name__}); check its "
            "permissions.") from exc
    return data


def _from_pkcs12(label: str, data: bytes, password: str | None, names: KeyFile) -> LoadedKey:
    if not data.startswith(b"\x30"):  # a DER SEQUENCE, as every PKCS#12 file begins
        raise ProgrammingError(
            f"{label} is not a PFX (PKCS#12) file nor a PEM file; export the certificate "
            "with its private key as .pfx/.p12, or give a PEM private key file.")
    # After the password, try none and the empty one: tools differ, and a password given
    # for a file that has none is harmless.
    candidates = ([password.encode("utf-8")] if password else []) + [None, b""]
    for candidate in candidates:
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, candidate)
        except ValueError:
            continue
        except Exception as exc:  # e.g. an unsupported algorithm inside the file
            raise ProgrammingError(
                f"{label} cannot be read as PKCS#12 ({type(exc).__name__}).") from exc
        if key is None:
            raise ProgrammingError(
                f"{label} holds no private key (only certificates); export the PFX with "
                "its private key.")
        return LoadedKey(key, tuple(c for c in (cert, *extra) if c is not None))
    raise ProgrammingError(_password_problem(label, password, names))


def _from_pem(label: str, data: bytes, password: str | None, names: KeyFile) -> LoadedKey:
    block = _KEY_BLOCK.search(data)
    if block is None:
        raise ProgrammingError(
            f"{label} is a PEM file that holds no private key; put the private key in it "
            "(with its certificate, where one is needed), or give a .pfx with its key.")
    try:
        key = load_pem_private_key(block.group(0), password.encode("utf-8") if password
                                   else None)
    except TypeError as exc:  # encrypted without a password, or a password for a plain key
        if password:
            raise ProgrammingError(
                f"{label} is not encrypted; remove {names.password_property}.") from exc
        raise ProgrammingError(_password_problem(label, None, names)) from exc
    except ValueError as exc:
        if password:
            raise ProgrammingError(_password_problem(label, password, names)) from exc
        raise ProgrammingError(f"{label} holds no readable private key.") from exc
    except Exception as exc:
        raise ProgrammingError(f"{label} cannot be read ({type(exc).__name__}).") from exc
    try:
        certificates = tuple(x509.load_pem_x509_certificates(data)) \
            if b"-----BEGIN CERTIFICATE-----" in data else ()
    except ValueError as exc:
        raise ProgrammingError(f"{label} holds a certificate that cannot be read.") from exc
    return LoadedKey(key, certificates)


def _password_problem(label: str, password: str | None, names: KeyFile) -> str:
    if password:
        return (f"{label} cannot be opened with the {names.password_property} given: the "
                "password is wrong (or the file is damaged).")
    return f"{label} is protected by a password; set {names.password_property}."
