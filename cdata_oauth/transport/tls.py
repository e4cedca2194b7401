"""The TLS context of a transport: which servers to trust (SSLServerCert) and which
client certificate to present (SSLClientCert, PEM or PKCS#12, with its password).

Verification is on unless SSLServerCert is ``*``; that choice is logged as a warning.
"""

from __future__ import annotations

import functools
import logging
import os
import ssl
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.keys import KeyFile, load_key

__all__ = ["build_context"]

log = logging.getLogger("cdata_oauth")

CLIENT_CERT = KeyFile("SSLClientCert", "SSLClientCertPassword")


def build_context(server_cert: str | None, client_cert: str | None,
                  client_password: str | None) -> ssl.SSLContext:
    """An SSLContext verifying servers (or not, for ``*``) with an optional client cert.

    Contexts are shared between transports with the same settings (loading a CA bundle
    costs ~30 ms); a file's modification time is part of the key, so edits are seen."""
    if server_cert and server_cert.strip() == "*":
        log.warning("SSLServerCert=* : server certificates are NOT verified; anyone on the "
                    "path can read and change the traffic. Use it only for tests.")
    key = (server_cert, _stamp(server_cert), client_cert, _stamp(client_cert), client_password)
    return _cached_context(*key)


def _stamp(location: str | None) -> tuple[int, int] | None:
    if not location or "-----BEGIN" in location or location.strip() == "*":
        return None
    try:
        info = os.stat(os.path.expanduser(location))
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


@functools.lru_cache(maxsize=16)
def _cached_context(server_cert: str | None, _server_stamp: object, client_cert: str | None,
                    _client_stamp: object, client_password: str | None) -> ssl.SSLContext:
    if server_cert and server_cert.strip() == "*":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif server_cert:
        context = ssl.create_default_context()
        context.load_verify_locations(cadata=_trusted_pem(server_cert))
    else:
        context = ssl.create_default_context(cafile=DEFAULT_CA_BUNDLE_PATH)
    if client_cert:
        _load_client_cert(context, client_cert, client_password)
    return context


def _trusted_pem(value: str) -> str:
    """SSLServerCert as PEM text: inline PEM, or the content of the file it names."""
    if "-----BEGIN CERTIFICATE-----" in value:
        return value
    path = Path(value).expanduser()
    try:
        text = path.read_text("ascii", errors="replace")
    except OSError as exc:
        raise ProgrammingError(
            f"SSLServerCert {value!r} cannot be read ({exc.strerror or exc}); give the path "
            "of a PEM file of certificates to trust, or * to accept any.") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ProgrammingError(f"SSLServerCert {value!r} holds no PEM certificate "
                               "(-----BEGIN CERTIFICATE-----).")
    return text


def _load_client_cert(context: ssl.SSLContext, location: str, password: str | None) -> None:
    """Reads PEM or PKCS#12 with the one key loader and hands ssl a key it can load."""
    loaded = load_key(location, password, CLIENT_CERT)
    if not loaded.certificates:
        raise ProgrammingError(f"SSLClientCert {location!r} holds no certificate; put the "
                               "certificate and its key in one PEM file, or give a PFX.")
    key, certs = loaded.key, loaded.certificates
    # ssl only loads keys from files: write one encrypted with a throwaway password.
    throwaway = os.urandom(24).hex().encode()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(throwaway))
    pem += b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
    with tempfile.TemporaryDirectory(prefix="cdata_oauth-") as folder:
        path = os.path.join(folder, "client.pem")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(pem)
        try:
            context.load_cert_chain(path, password=throwaway)
        except ssl.SSLError as exc:
            raise ProgrammingError(f"SSLClientCert {location!r}: the key does not match the "
                                   f"certificate ({exc.reason}).") from None
