"""Encryption at rest of stored token entries (``OAuthSettingsEncryptionKey``).

An entry is sealed with AES-256-GCM under a key derived from the passphrase with scrypt;
every write draws a fresh salt (so a fresh key) and a fresh nonce, and the GCM tag
authenticates the whole record, so a changed byte, a wrong key or a swapped entry is
refused rather than read. The sealed entry is a small JSON envelope that names its own
parameters, so they can grow later without breaking entries written today.

Fail closed both ways: a plaintext entry met with a key set, or a sealed one met without
a key, is refused (``OperationalError`` saying what to do), never read or overwritten.

The passphrase may be given as is, or as ``env:NAME`` / ``file:PATH`` (read when used).
Derived keys are cached per salt (bounded), so reading an unchanged entry costs one
AES-GCM open, not one scrypt.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from cdata_oauth.exceptions import OperationalError, ProgrammingError
from cdata_oauth.tokens.stores import ENVELOPE_FORMAT, is_sealed

__all__ = ["ENVELOPE_FORMAT", "EntryCipher", "cipher_for", "is_sealed", "read_key_source"]

KEY_PROPERTY = "OAuthSettingsEncryptionKey"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
MAX_SCRYPT_N = 2 ** 20  # an entry may not make a reader spend more (a denial of service)
AAD = ENVELOPE_FORMAT.encode()
_CACHE_SIZE = 64


def read_key_source(value: str) -> bytes:
    """The passphrase a property value names: ``env:NAME``, ``file:PATH`` or itself."""
    text = value.strip()
    if text.lower().startswith("env:"):
        name = text[4:].strip()
        found = os.environ.get(name)
        if not found:
            raise ProgrammingError(
                f"{KEY_PROPERTY} names the environment variable {name!r}, which is not set "
                "or is empty; set it, or give the passphrase another way.")
        return found.encode("utf-8")
    if text.lower().startswith("file:"):
        path = Path(text[5:].strip()).expanduser()
        try:
            data = path.read_bytes().strip()
        except OSError as exc:
            raise ProgrammingError(
                f"{KEY_PROPERTY} names the file {path}, which cannot be read "
                f"({exc.strerror or type(exc).__name__}); check the path and its "
                "permissions.") from exc
        if not data:
            raise ProgrammingError(f"{KEY_PROPERTY} names the file {path}, which is empty; "
                                   "put the passphrase in it.")
        return data
    if not text:
        raise ProgrammingError(f"{KEY_PROPERTY} is empty; give a passphrase, env:NAME or "
                               "file:PATH, or leave it out to store entries in clear.")
    return value.encode("utf-8")


class EntryCipher:
    """Seals and opens entries under one passphrase."""

    def __init__(self, passphrase: bytes) -> None:
        self._passphrase = passphrase
        self._keys: OrderedDict[tuple[bytes, int, int, int], bytes] = OrderedDict()
        self._guard = threading.Lock()  # one scrypt at a time: each takes 16 MiB or more

    def __repr__(self) -> str:
        return "EntryCipher(********)"

    def _key(self, salt: bytes, n: int, r: int, p: int) -> bytes:
        slot = (salt, n, r, p)
        with self._guard:
            found = self._keys.get(slot)
            if found is None:
                found = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(self._passphrase)
                self._keys[slot] = found
                while len(self._keys) > _CACHE_SIZE:
                    self._keys.popitem(last=False)
            else:
                self._keys.move_to_end(slot)
            return found

    def seal(self, plaintext: bytes) -> bytes:
        """A JSON envelope: fresh salt and nonce, scrypt parameters, the GCM ciphertext."""
        salt, nonce = os.urandom(16), os.urandom(12)
        key = self._key(salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        sealed = AESGCM(key).encrypt(nonce, plaintext, AAD)
        envelope = {"format": ENVELOPE_FORMAT, "cipher": "AES-256-GCM",
                    "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
                            "salt": _b64(salt)},
                    "nonce": _b64(nonce), "ciphertext": _b64(sealed)}
        return (json.dumps(envelope) + "\n").encode("utf-8")

    def open(self, envelope: dict[str, Any], where: str) -> bytes:
        """The plaintext of an envelope; ``OperationalError`` when it cannot be opened."""
        try:
            kdf = envelope["kdf"]
            n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
            if kdf.get("name") != "scrypt" or envelope.get("cipher") != "AES-256-GCM" \
                    or not (2 <= n <= MAX_SCRYPT_N and 1 <= r <= 32 and 1 <= p <= 16):
                raise ValueError("unsupported parameters")
            salt, nonce = _unb64(kdf["salt"]), _unb64(envelope["nonce"])
            ciphertext = _unb64(envelope["ciphertext"])
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise OperationalError(
                f"The encrypted token entry in {where} is malformed; it was left untouched. "
                "Delete it to sign in again.") from None
        try:
            return AESGCM(self._key(salt, n, r, p)).decrypt(nonce, ciphertext, AAD)
        except InvalidTag:
            raise OperationalError(
                f"Cannot decrypt the token entry in {where}: {KEY_PROPERTY} is not the key "
                "it was written with, or the entry was altered. It was left untouched; set "
                "the right key, or delete the entry to sign in again.") from None


_ciphers: dict[bytes, EntryCipher] = {}
_ciphers_guard = threading.Lock()


def cipher_for(key_value: str) -> EntryCipher:
    """The process's one cipher for the passphrase a property value names, so that every
    connection shares its derived keys (one scrypt per written entry, not per connection)."""
    passphrase = read_key_source(key_value)
    with _ciphers_guard:
        found = _ciphers.get(passphrase)
        if found is None:
            if len(_ciphers) >= 16:
                _ciphers.clear()
            found = _ciphers[passphrase] = EntryCipher(passphrase)
        return found


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not text")
    return base64.b64decode(text.encode("ascii"), validate=True)
