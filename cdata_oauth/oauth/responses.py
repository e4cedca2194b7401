"""Token endpoint answers -> token fields, or the exception that says what went wrong.

Providers answer in JSON (RFC 6749 section 5.1), some in a form-encoded body whatever the
content type says; errors come as RFC 6749 section 5.2 fields in either encoding. Anything
else is shown as the status and a short, secret-masked excerpt of the body.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

from cdata_oauth.exceptions import OAuthError, OperationalError
from cdata_oauth.redaction import is_secret_name, mask_url, scrub

__all__ = ["TokenResponse", "decode_fields", "excerpt", "oauth_error_from_fields",
           "parse_token_response"]

EXCERPT_CHARS = 200

#: Response fields that have their own output columns.
_DECLARED = ("access_token", "refresh_token", "expires_in", "oauth_token_secret")


class TokenResponse:
    """The fields of a successful token response, and how they map to outputs."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.fields = dict(fields)

    @property
    def access_token(self) -> str:
        return str(self.fields["access_token"])

    @property
    def refresh_token(self) -> str | None:
        value = self.fields.get("refresh_token")
        return None if value in (None, "") else str(value)

    @property
    def expires_in(self) -> int | None:
        value = self.fields.get("expires_in")
        if value in (None, ""):
            return None
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return None

    def extras(self) -> dict[str, Any]:
        """Every field that is not a declared output, e.g. token_type, scope, id_token."""
        return {name: value for name, value in self.fields.items() if name not in _DECLARED}

    def outputs(self, sent_refresh_token: str | None = None) -> dict[str, Any]:
        """The operation's outputs; a refresh token is never lost when none comes back."""
        outputs: dict[str, Any] = {
            "OAuthAccessToken": self.access_token,
            "OAuthTokenSecret": "",
            "OAuthRefreshToken": self.refresh_token or sent_refresh_token,
            "ExpiresIn": self.expires_in,
        }
        for name, value in self.extras().items():
            outputs["OAuthParam:" + name] = _cell(value)
        return outputs


def _cell(value: Any) -> Any:
    """Nested JSON values become JSON text so that each column holds one scalar."""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return value


def parse_token_response(status: int, content_type: str | None, body: str,
                         secrets: Iterable[object] = (), what: str = "The token endpoint",
                         headers: Mapping[str, str] | None = None) -> TokenResponse:
    """Interpret one token endpoint answer; raises OAuthError or OperationalError.

    ``headers`` (of the answer) let a redirect or a Retry-After be explained."""
    secrets = list(secrets)
    if 300 <= status < 400:
        raise OperationalError(redirect_message(what, status, headers))
    note = retry_note(headers)
    fields = _decode(body, content_type)
    if fields is not None and fields.get("error") and not fields.get("access_token"):
        error = oauth_error_from_fields(fields, status, secrets, what)
        if note:
            error.args = (str(error) + note,)
        raise error
    if not 200 <= status < 300:
        raise OperationalError(
            f"{what} answered HTTP {status} without an OAuth error; body: "
            f"{excerpt(body, secrets, fields)}{note}")
    if fields is None:
        raise OperationalError(
            f"{what} answered HTTP {status} with a body that is neither JSON nor form-encoded "
            f"({content_type or 'no content type'}); body: {excerpt(body, secrets)}")
    if not fields.get("access_token"):
        raise OperationalError(
            f"{what} answered HTTP {status} without an access_token; body: "
            f"{excerpt(body, secrets, fields)}")
    return TokenResponse(fields)


def redirect_message(what: str, status: int, headers: Mapping[str, str] | None) -> str:
    """Redirects of token requests are never followed: the credentials would go along."""
    location = _header(headers, "Location")
    target = f" to {mask_url(location)!r}" if location else ""
    return (f"{what} answered HTTP {status}, a redirect{target}. Token requests are not "
            "followed to another address, so that credentials go only to the URL you "
            "configured; if the provider moved, set its new URL in the connection properties.")


def retry_note(headers: Mapping[str, str] | None) -> str:
    """' The server asks to retry after ...' when the answer has a Retry-After header."""

    value = (_header(headers, "Retry-After") or "").strip()
    if not value:
        return ""
    if value.isdigit():
        at = datetime.datetime.now(datetime.timezone.utc) + \
            datetime.timedelta(seconds=int(value))
        when = f"{int(value)} seconds (Retry-After), at {at:%Y-%m-%d %H:%M:%S} UTC"
    else:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return f" The server sent Retry-After: {value[:60]!r}; wait before retrying."
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        when = f"{moment.astimezone(datetime.timezone.utc):%Y-%m-%d %H:%M:%S} UTC (Retry-After)"
    return f" The server asks to retry after {when}; do not retry sooner."


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value)
    return None


def oauth_error_from_fields(fields: Mapping[str, Any], status: int | None,
                            secrets: Iterable[object] = (),
                            what: str = "The token endpoint") -> OAuthError:
    """An OAuthError carrying RFC 6749 error fields, its message showing them (masked)."""
    secrets = list(secrets)
    error = _text(fields.get("error"))
    description = _text(fields.get("error_description"))
    uri = _text(fields.get("error_uri"))
    shown = [f"error={scrub(error or '', secrets)}"]
    if description:
        shown.append(f"error_description={scrub(description, secrets)!r}")
    if uri:
        shown.append(f"error_uri={scrub(mask_url(uri), secrets)}")
    where = f" (HTTP {status})" if status is not None else ""
    return OAuthError(f"{what} refused the request{where}: " + ", ".join(shown) + ".",
                      error=error, description=description, uri=uri, status=status)


def excerpt(body: str, secrets: Iterable[object] = (),
            fields: Mapping[str, Any] | None = None) -> str:
    """A short, one-line, secret-masked quote of a body for an error message."""
    values = [*secrets]
    if fields:
        values.extend(v for k, v in fields.items() if is_secret_name(k) and isinstance(v, str))
    text = scrub(body, values)
    text = " ".join(text.split())
    if not text:
        return "(empty)"
    if len(text) > EXCERPT_CHARS:
        text = text[:EXCERPT_CHARS] + "..."
    return repr(text)


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def decode_fields(body: str, content_type: str | None) -> dict[str, Any] | None:
    """The fields of an answer (JSON object or form-encoded), else None."""
    return _decode(body, content_type)


def _decode(body: str, content_type: str | None) -> dict[str, Any] | None:
    """JSON object, or form fields, whatever the content type claims; else None."""
    text = body.strip()
    if not text:
        return None
    if text[:1] in "{[":
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None
    if "html" in (content_type or "").lower() or text[:1] == "<":
        return None
    if "=" not in text or any(ch.isspace() for ch in text):
        return None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    return dict(pairs) if pairs else None
