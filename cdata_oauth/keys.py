"""The RSA signing key of OAuth 1.0a RSA-SHA1, read from the PKCS#12 (.pfx) file named by
``Cert`` and opened with ``CertPassword``.

Each way the file can be unusable (missing, unreadable, not PKCS#12, wrong password, no
private key, not an RSA key) gets its own message, because each has a different fix.
A PEM private key file is accepted too, since many providers hand out PEM keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cdata_oauth.exceptions import ProgrammingError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = ["load_signing_key"]


def load_signing_key(cert: str, password: str | None) -> RSAPrivateKey:
    """The RSA private key held by ``cert`` (a .pfx/.p12 file, or a PEM key file)."""
    path = Path(cert).expanduser()
    if not path.exists():
        raise ProgrammingError(
            f"Cert {cert!r} does not exist; set Cert to the path of the PFX (PKCS#12) file "
            "that holds your RSA-SHA1 signing key.")
    if not path.is_file():
        raise ProgrammingError(f"Cert {cert!r} is not a file; point it at a .pfx file.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProgrammingError(
            f"Cert {cert!r} cannot be read ({exc.strerror or type(exc).__name__}); check "
            "its permissions.") from exc
    if data.lstrip().startswith(b"-----BEGIN"):
        key = _from_pem(cert, data, password)
    else:
        key = _from_pkcs12(cert, data, password)
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    if not isinstance(key, RSAPrivateKey):
        raise ProgrammingError(
            f"Cert {cert!r} holds a {type(key).__name__.removeprefix('_')} key, not an RSA "
            "key; RSA-SHA1 signs with RSA only.")
    return key


def _from_pkcs12(cert: str, data: bytes, password: str | None) -> object:
    from cryptography.hazmat.primitives.serialization import pkcs12

    if not data.startswith(b"\x30"):  # a DER SEQUENCE, as every PKCS#12 file begins
        raise ProgrammingError(
            f"Cert {cert!r} is not a PFX (PKCS#12) file; export the certificate with its "
            "private key as .pfx/.p12 (or give a PEM private key file).")
    # After CertPassword, try no password and the empty one: tools differ, and a password
    # given for a file that has none is harmless.
    candidates = ([password.encode("utf-8")] if password else []) + [None, b""]
    for candidate in candidates:
        try:
            key, _cert, _extra = pkcs12.load_key_and_certificates(data, candidate)
        except ValueError:
            continue
        except Exception as exc:  # e.g. an unsupported algorithm inside the file
            raise ProgrammingError(
                f"Cert {cert!r} cannot be read as PKCS#12 ({type(exc).__name__}).") from exc
        if key is None:
            raise ProgrammingError(
                f"Cert {cert!r} holds no private key (only certificates); export the PFX "
                "with its private key.")
        return key
    if password:
        raise ProgrammingError(
            f"Cert {cert!r} cannot be opened with the CertPassword given: the password is "
            "wrong (or the file is damaged).")
    raise ProgrammingError(
        f"Cert {cert!r} is protected by a password; set CertPassword.")


def _from_pem(cert: str, data: bytes, password: str | None) -> object:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if b"PRIVATE KEY-----" not in data:
        raise ProgrammingError(
            f"Cert {cert!r} is a PEM file without a private key; RSA-SHA1 needs the private "
            "key (a .pfx with its key, or a PEM private key file).")
    try:
        return load_pem_private_key(data, password.encode("utf-8") if password else None)
    except TypeError as exc:  # encrypted without a password, or a password for a plain key
        if password:
            raise ProgrammingError(
                f"Cert {cert!r} is not encrypted; remove CertPassword.") from exc
        raise ProgrammingError(
            f"Cert {cert!r} is protected by a password; set CertPassword.") from exc
    except ValueError as exc:
        if password:
            raise ProgrammingError(
                f"Cert {cert!r} cannot be opened with the CertPassword given: the password "
                "is wrong (or the file is damaged).") from exc
        raise ProgrammingError(f"Cert {cert!r} holds no readable private key.") from exc
    except Exception as exc:
        raise ProgrammingError(
            f"Cert {cert!r} cannot be read ({type(exc).__name__}).") from exc
