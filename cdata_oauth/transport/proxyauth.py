"""Proxy-Authorization values: BASIC, DIGEST (RFC 7616), PROPRIETARY and NONE.

One object per proxy serves both plain forwarding (digest URI = the absolute URL) and
CONNECT tunnels (digest URI = ``host:port``); it remembers the last Digest challenge so
later requests authenticate at once instead of paying a 407 each time.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Callable, Iterable
from urllib.request import parse_http_list, parse_keqv_list

from cdata_oauth.exceptions import NotSupportedError, OperationalError

__all__ = ["ProxyAuth"]

_HASHES: dict[str, Callable[[bytes], hashlib._Hash]] = {
    "MD5": hashlib.md5,
    "SHA-256": hashlib.sha256,
    "SHA-512-256": lambda data: hashlib.new("sha512_256", data),
}


class ProxyAuth:
    """Builds the Proxy-Authorization header for one proxy and one scheme."""

    def __init__(self, scheme: str, user: str | None, password: str | None,
                 token: str | None, label: str) -> None:
        self.scheme = scheme
        self.user = user or ""
        self.password = password or ""
        self.token = token
        self.label = label
        self._lock = threading.Lock()
        self._challenge: dict[str, str] | None = None
        self._count = 0

    @property
    def active(self) -> bool:
        """True when this proxy gets credentials at all."""
        if self.scheme == "PROPRIETARY":
            return bool(self.token)
        return self.scheme in ("BASIC", "DIGEST", "NTLM") and bool(self.user)

    @property
    def ntlm(self) -> bool:
        """NTLM authenticates a connection, in a handshake of two requests on it."""
        return self.scheme == "NTLM" and self.active

    def ntlm_handshake(self, host: str) -> NtlmHandshake:
        return NtlmHandshake(self.user, self.password, host, self.label)

    def preemptive(self, method: str, uri: str) -> str | None:
        """The header to send before any challenge (Digest only once a challenge is known)."""
        if not self.active:
            return None
        if self.scheme == "PROPRIETARY":
            return self.token
        if self.scheme == "NTLM":
            return None  # per connection: see ntlm_handshake
        if self.scheme == "BASIC":
            pair = f"{self.user}:{self.password}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
        with self._lock:
            if self._challenge is None:
                return None
            return self._digest(self._challenge, method, uri)

    def answer(self, method: str, uri: str, challenges: Iterable[str],
               sent: str | None) -> str | None:
        """After a 407: the header to retry with, or None when retrying cannot help."""
        if self.scheme != "DIGEST" or not self.active:
            return None
        for raw in challenges:
            name, _, rest = raw.strip().partition(" ")
            if name.lower() != "digest":
                continue
            fields = parse_keqv_list(parse_http_list(rest))
            with self._lock:
                old = self._challenge
                stale = fields.get("stale", "").lower() == "true"
                if sent is not None and old is not None and not stale \
                        and old.get("nonce") == fields.get("nonce"):
                    return None  # this very nonce was answered and refused: wrong password
                self._challenge, self._count = fields, 0
                return self._digest(fields, method, uri)
        return None

    def _digest(self, ch: dict[str, str], method: str, uri: str) -> str:
        """RFC 7616 response for qop=auth (or no qop); the caller holds the lock."""
        algorithm = ch.get("algorithm", "MD5").upper()
        session = algorithm.endswith("-SESS")
        hasher = _HASHES.get(algorithm[:-5] if session else algorithm)
        if hasher is None:
            raise NotSupportedError(
                f"The proxy {self.label} asks for Digest algorithm {algorithm}, which is not "
                "supported (MD5, SHA-256, SHA-512-256 and their -sess forms are).")

        def h(text: str) -> str:
            return hasher(text.encode("utf-8")).hexdigest()

        realm, nonce = ch.get("realm", ""), ch.get("nonce", "")
        self._count += 1
        nc = f"{self._count:08x}"
        cnonce = os.urandom(8).hex()
        ha1 = h(f"{self.user}:{realm}:{self.password}")
        if session:
            ha1 = h(f"{ha1}:{nonce}:{cnonce}")
        ha2 = h(f"{method}:{uri}")
        qops = [q.strip().lower() for q in ch.get("qop", "").split(",") if q.strip()]
        parts = [f'username="{self.user}"', f'realm="{realm}"', f'nonce="{nonce}"',
                 f'uri="{uri}"', f"algorithm={ch.get('algorithm', 'MD5')}"]
        if "auth" in qops:
            response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
            parts += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
        elif not qops:
            response = h(f"{ha1}:{nonce}:{ha2}")
        else:
            raise OperationalError(
                f"The proxy {self.label} asks for Digest qop {ch.get('qop')!r}; only 'auth' "
                "is supported.")
        parts.append(f'response="{response}"')
        if "opaque" in ch:
            parts.append(f'opaque="{ch["opaque"]}"')
        return "Digest " + ", ".join(parts)


class NtlmHandshake:
    """One NTLM exchange with a proxy (pyspnego does the messages): ``first()`` goes with
    the first request, ``second(challenges)`` answers the proxy's 407 on the same
    connection."""

    def __init__(self, user: str, password: str, host: str, label: str) -> None:
        import spnego

        self.label = label
        self._context = spnego.client(user, password, hostname=host, service="HTTP",
                                      protocol="ntlm")

    def first(self) -> str:
        return "NTLM " + base64.b64encode(self._step(None)).decode("ascii")

    def second(self, challenges: Iterable[str]) -> str | None:
        for raw in challenges:
            name, _, rest = raw.strip().partition(" ")
            if name.lower() == "ntlm" and rest.strip():
                try:
                    token = base64.b64decode(rest.strip(), validate=True)
                except ValueError:
                    break
                return "NTLM " + base64.b64encode(self._step(token)).decode("ascii")
        return None

    def _step(self, token: bytes | None) -> bytes:
        from spnego.exceptions import SpnegoError

        try:
            out = self._context.step(token)
        except (SpnegoError, ValueError) as exc:
            raise OperationalError(f"NTLM with the {self.label} failed "
                                   f"({type(exc).__name__}).") from exc
        if not out:
            raise OperationalError(f"NTLM with the {self.label} ended without a message.")
        return bytes(out)
