"""Proxy-Authorization values: BASIC, DIGEST (RFC 7616), PROPRIETARY and NONE.

One object per proxy serves both plain forwarding (digest URI = the absolute URL) and
CONNECT tunnels (digest URI = ``host:port``); it remembers the last Digest challenge so
later requests authenticate at once instead of paying a 407 each time.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from urllib.request import parse_http_list

from cdata_oauth.exceptions import NotSupportedError, OperationalError, ProgrammingError
from cdata_oauth.lazy import optional_module

__all__ = ["ProxyAuth"]

_HASHES: dict[str, Callable[[bytes], hashlib._Hash]] = {
    "MD5": hashlib.md5,
    "SHA-256": hashlib.sha256,
    "SHA-512-256": lambda data: hashlib.new("sha512_256", data),
}

# what a quoted-string cannot hold even escaped (RFC 9110 section 5.6.4; HTAB it can)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class ProxyAuth:
    """Builds the Proxy-Authorization header for one proxy and one scheme."""

    def __init__(self, scheme: str, user: str | None, password: str | None,
                 token: str | None, label: str) -> None:
        self.scheme = scheme
        self.user = user or ""
        self.password = password or ""
        self.token = token
        self.label = label
        if scheme == "DIGEST" and _CONTROL.search(self.user):
            # a CR or LF would end the header and start another one
            raise ProgrammingError(
                f"The user name for the {label} holds a control character (such as a line "
                "break), which a Digest header cannot carry; check Proxy_User.")
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
        for scheme, fields in _challenges(challenges):
            if scheme.lower() != "digest":
                continue
            if any(_CONTROL.search(value) for value in fields.values()):
                raise OperationalError(
                    f"The {self.label} sent a Digest challenge with a control character in "
                    "it, which cannot be answered; check the proxy.")
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
                f"The {self.label} asks for Digest algorithm {algorithm}, which is not "
                "supported (MD5, SHA-256, SHA-512-256 and their -sess forms are).")

        def h(text: str) -> str:  # text is on the wire already: one character per byte
            return hasher(text.encode("latin-1")).hexdigest()

        user = _wire(self.user)
        realm, nonce = ch.get("realm", ""), ch.get("nonce", "")
        self._count += 1
        nc = f"{self._count:08x}"
        cnonce = os.urandom(8).hex()
        ha1 = h(f"{user}:{realm}:{_wire(self.password)}")
        if session:
            ha1 = h(f"{ha1}:{nonce}:{cnonce}")
        ha2 = h(f"{method}:{uri}")
        qops = [q.strip().lower() for q in ch.get("qop", "").split(",") if q.strip()]
        parts = [f"username={quoted(user)}", f"realm={quoted(realm)}",
                 f"nonce={quoted(nonce)}", f"uri={quoted(uri)}",
                 f"algorithm={ch.get('algorithm', 'MD5')}"]
        if "auth" in qops:
            response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
            parts += ["qop=auth", f"nc={nc}", f"cnonce={quoted(cnonce)}"]
        elif not qops:
            response = h(f"{ha1}:{nonce}:{ha2}")
        else:
            raise OperationalError(
                f"The {self.label} asks for Digest qop {ch.get('qop')!r}; only 'auth' "
                "is supported.")
        parts.append(f"response={quoted(response)}")
        if "opaque" in ch:
            parts.append(f"opaque={quoted(ch['opaque'])}")
        return "Digest " + ", ".join(parts)


def quoted(value: str) -> str:
    """An RFC 9110 quoted-string: a backslash before each ``"`` and ``\\``, the only two
    characters that need one (a sender should escape nothing else)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wire(text: str) -> str:
    """Text as its UTF-8 bytes, one character per byte: headers go out Latin-1 encoded
    (http.client, the CONNECT writer) and come in Latin-1 decoded, so a user name sent
    this way reaches the proxy as UTF-8 and hashes like the challenge's own values."""
    return text.encode("utf-8").decode("latin-1")


def _challenges(headers: Iterable[str]) -> Iterator[tuple[str, dict[str, str]]]:
    """Each challenge as (scheme, parameters with lower-case names); one header may hold
    several (RFC 9110 section 11.6.1). parse_http_list splits at the commas outside
    quoted-strings and removes their backslash escapes."""
    for header in headers:
        scheme = ""
        params: dict[str, str] = {}
        for item in parse_http_list(header):
            name, eq, value = item.partition("=")
            words = name.split()
            if len(words) != 1 or not eq:  # "Digest realm=...", a bare "Negotiate", ...
                if scheme:
                    yield scheme, params
                scheme, params = (words[0] if words else ""), {}
                if len(words) != 2 or not eq:
                    continue  # a scheme alone, or with a token68
                name = words[1]
            params[name.strip().lower()] = _unquoted(value.strip())
        if scheme:
            yield scheme, params


def _unquoted(value: str) -> str:
    """The inside of a quoted-string whose escapes parse_http_list has already undone."""
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


class NtlmHandshake:
    """One NTLM exchange with a proxy (pyspnego does the messages): ``first()`` goes with
    the first request, ``second(challenges)`` answers the proxy's 407 on the same
    connection."""

    def __init__(self, user: str, password: str, host: str, label: str) -> None:
        spnego = optional_module("spnego")
        assert spnego is not None, "Router refuses NTLM when pyspnego is missing"
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
        errors = optional_module("spnego.exceptions")
        try:
            out = self._context.step(token)
        except (errors.SpnegoError, ValueError) as exc:
            raise OperationalError(f"NTLM with the {self.label} failed "
                                   f"({type(exc).__name__}).") from exc
        if not out:
            raise OperationalError(f"NTLM with the {self.label} ended without a message.")
        return bytes(out)
