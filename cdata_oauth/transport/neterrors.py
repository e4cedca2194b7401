"""Words for network failures: the innermost cause of an exception chain, said plainly
and without the URL (which may carry secrets)."""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

from cdata_oauth.logguard import mask_live
from cdata_oauth.redaction import mask_url

__all__ = ["MaskedCause", "caused_by", "chain", "masked_cause", "reason", "tls_reason"]


class MaskedCause(Exception):
    """What a network library raised, as text with its secrets masked."""


def masked_cause(exc: BaseException, url: str) -> MaskedCause:
    """The cause to chain a PEP 249 error to instead of ``exc``: urllib3 and requests
    quote the request target ("Max retries exceeded with url: /token?client_secret=..."),
    so the original would show it in every printed traceback."""
    text = f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    for quoted in (url, target):  # the URL as sent, and as urllib3 quotes it
        if quoted:
            text = text.replace(quoted, mask_url(quoted))
    return MaskedCause(mask_live(text))


def chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [item.__cause__, item.__context__]
        todo += [a for a in getattr(item, "args", ()) if isinstance(a, BaseException)]
        reason = getattr(item, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return seen


def caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    return any(isinstance(e, kind) for e in chain(exc))


def tls_reason(exc: BaseException) -> str:
    for item in chain(exc):
        if isinstance(item, ssl.SSLCertVerificationError):
            return (f"the server certificate is not trusted ({item.verify_message}); set "
                    "SSLServerCert to a PEM file of the CA that issued it")
    for item in chain(exc):
        if isinstance(item, ssl.SSLError) and item.reason:
            hint = ""
            if "CERTIFICATE_REQUIRED" in item.reason or "HANDSHAKE_FAILURE" in item.reason:
                hint = "; if the server requires a client certificate, set SSLClientCert"
            return f"{item.reason}{hint}"
    return reason(exc)


def reason(exc: BaseException) -> str:
    """The innermost cause's words, without the URL (which may carry secrets)."""
    for item in reversed(chain(exc)):
        text = str(item)
        if isinstance(item, ConnectionRefusedError) or "Connection refused" in text \
                or "Errno 111" in text:
            return "connection refused"
        if isinstance(item, socket.gaierror) or "Name or service not known" in text \
                or "nodename nor servname" in text:
            return "the host name cannot be resolved"
        if isinstance(item, ConnectionResetError) or "Connection reset" in text:
            return "the connection was reset"
        if "RemoteDisconnected" in type(item).__name__:
            return "the server closed the connection without answering"
    return type(chain(exc)[-1]).__name__
