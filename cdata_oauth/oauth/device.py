"""The device authorization grant (RFC 8628): a first sign-in on a host with no browser.

``GetOAuthDeviceCode`` (operation ``oauthGetDeviceCode``) asks the device authorization
endpoint for a device code and the user code a person enters at the verification URI;
``GetOAuthAccessToken GrantType='DEVICE'`` polls the token endpoint with the device code
until the person has signed in (AuthMode=WEB: a DeviceCode you bring; AuthMode=APP: it
asks for a code itself and tells the person on stderr and in a log record).

Client authentication, request bodies and token answers are the OAuth 2.0 flow's
(``oauth2._Flow``); this module adds the device authorization request, the prompt and
the wait. The wait sleeps in short steps, so Ctrl-C ends it at once, and it is bounded by
the code's ``expires_in`` and by ``Timeout``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import threading
import time
import webbrowser
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from oauthlib.oauth2.rfc6749.parameters import prepare_token_request

from cdata_oauth.conversions import text_or_none
from cdata_oauth.exceptions import OAuthError, OperationalError
from cdata_oauth.logguard import in_use
from cdata_oauth.oauth.oauth2 import _TOKEN_RESERVED, _Flow
from cdata_oauth.oauth.responses import excerpt, oauth_error_from_fields, redirect_message
from cdata_oauth.transport.neterrors import caused_by

if TYPE_CHECKING:
    import requests

    from cdata_oauth.oauth.operations import Invocation

__all__ = ["DEFAULT_INTERVAL", "DEVICE_GRANT", "MAX_RETRIES", "SLOW_DOWN_STEP", "DeviceCode",
           "device_access_token", "get_device_code"]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5.0
"""Seconds between polls when the server gives no (or no positive) ``interval`` (RFC 8628
section 3.2)."""
SLOW_DOWN_STEP = 5.0
"""Seconds added to the interval on each ``slow_down`` (RFC 8628 section 3.5)."""
MAX_RETRIES = 3
"""Connection resets and 502/503/504 answers retried in a row while polling; one more
ends the wait."""
TICK = 0.25
"""The longest single sleep of the wait: Ctrl-C is seen within it."""
TRANSIENT_STATUSES = frozenset({502, 503, 504})

log = logging.getLogger("cdata_oauth")

_sleep = time.sleep  # the wait's clock, replaceable by tests
_now = time.monotonic

_AUTHORIZATION_RESERVED = frozenset({"client_id", "client_secret", "scope"})
_POLL_RESERVED = _TOKEN_RESERVED | {"device_code"}


@dataclass(frozen=True)
class DeviceCode:
    """A device authorization answer (RFC 8628 section 3.2), and when it arrived."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: int
    interval: float
    extras: Mapping[str, Any]
    received: float

    @property
    def expires_at(self) -> float:
        return self.received + self.expires_in

    def outputs(self) -> dict[str, Any]:
        interval: float | int = int(self.interval) if self.interval == int(self.interval) \
            else self.interval
        outputs: dict[str, Any] = {
            "DeviceCode": self.device_code, "UserCode": self.user_code,
            "VerificationURI": self.verification_uri,
            "VerificationURIComplete": self.verification_uri_complete,
            "ExpiresIn": self.expires_in, "Interval": interval}
        for name, value in sorted(self.extras.items()):
            outputs["OAuthParam:" + name] = json.dumps(value, sort_keys=True) \
                if isinstance(value, dict | list) else value
        return outputs


class _Transient(Exception):
    """A poll that may be retried: a connection reset or a 502/503/504 answer."""


@dataclass
class _DeviceFlow(_Flow):
    """The OAuth 2.0 flow of one statement, with the polls' transient failures told apart."""

    polling: bool = False

    @classmethod
    def from_flow(cls, flow: _Flow) -> _DeviceFlow:
        """The same statement's flow (its secrets list shared: logguard holds it)."""
        made = cls(**{f.name: getattr(flow, f.name) for f in fields(flow) if f.init})
        for f in fields(flow):
            if not f.init:  # e.g. discovered metadata: carried over as it stands
                setattr(made, f.name, getattr(flow, f.name))
        return made

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            response = super().send(method, url, **kwargs)
        except OperationalError as exc:
            if self.polling and _is_reset(exc):
                raise _Transient(str(exc)) from exc
            raise
        if self.polling and response.status_code in TRANSIENT_STATUSES:
            host = urlsplit(url).hostname or "the server"
            raise _Transient(f"The token endpoint at {host} answered HTTP "
                             f"{response.status_code} {response.reason or ''}".rstrip())
        return response


def _is_reset(exc: BaseException) -> bool:
    return caused_by(exc, ConnectionResetError) or caused_by(exc, ConnectionAbortedError) \
        or caused_by(exc, BrokenPipeError)


# -- GetOAuthDeviceCode ------------------------------------------------------------------

def get_device_code(invocation: Invocation) -> Mapping[str, Any]:
    """``oauthGetDeviceCode``: a device code, its user code and where to enter it."""
    flow = _DeviceFlow.from_flow(_Flow.of(invocation))
    with in_use(flow.secrets):
        code = request_device_code(flow)
    remember(flow, code)
    return code.outputs()


def request_device_code(flow: _DeviceFlow) -> DeviceCode:
    """POST the device authorization request (RFC 8628 section 3.1) and read the answer."""
    url = flow.url("OAuthDeviceAuthorizationURL", "to ask for a device code")
    flow.require("OAuthClientId", "to ask for a device code")
    auth = flow.authenticate(url)  # as a token request does (clientauth.METHODS)
    params: list[tuple[str, str]] = list(auth.fields.items())
    headers = {"Accept": "application/json",
               "Content-Type": "application/x-www-form-urlencoded", **auth.headers}
    scope = text_or_none(flow.get("Scope"))
    if scope is not None:
        params.append(("scope", scope))
    params.extend(flow.extra_params(_AUTHORIZATION_RESERVED).items())
    response = flow.send("POST", url, data=urlencode(params).encode("utf-8"), headers=headers)
    host = urlsplit(url).hostname or "the server"
    code = parse_device_code(response.status_code, response.headers, response.text,
                             flow.secrets, f"The device authorization endpoint at {host}")
    flow.secrets.append(code.device_code)
    return code


def parse_device_code(status: int, headers: Mapping[str, str], body: str,
                      secrets: list[object], what: str) -> DeviceCode:
    """The fields of a device authorization answer, or the error that says what is wrong."""
    if 300 <= status < 400:
        raise OperationalError(redirect_message(what, status, headers))
    try:
        answer = json.loads(body) if body.strip() else None
    except ValueError:
        answer = None
    if isinstance(answer, dict) and answer.get("error"):
        raise oauth_error_from_fields(answer, status, secrets, what)
    if not 200 <= status < 300:
        raise OperationalError(f"{what} answered HTTP {status} without an OAuth error; body: "
                               f"{excerpt(body, secrets)}")
    if not isinstance(answer, dict):
        raise OperationalError(
            f"{what} answered HTTP {status} with a body that is not a JSON object (RFC 8628 "
            f"section 3.2); body: {excerpt(body, secrets)}. Check "
            "OAuthDeviceAuthorizationURL: it must be the provider's device authorization "
            "endpoint.")
    fields_ = dict(answer)
    shown = excerpt(body, secrets, fields_)
    device_code = _required(fields_, ("device_code",), what, shown)
    secrets.append(device_code)
    user_code = _required(fields_, ("user_code",), what, shown)
    # Google sends verification_url (and no complete URI) instead of RFC 8628's names.
    uri = _required(fields_, ("verification_uri", "verification_url"), what, shown)
    complete = text_or_none(fields_.pop("verification_uri_complete", None)) or \
        text_or_none(fields_.pop("verification_url_complete", None))
    expires_in = _positive(fields_.pop("expires_in", None))
    if expires_in is None:
        raise OperationalError(
            f"{what} answered without a positive expires_in (the seconds the device code "
            f"is valid, which RFC 8628 section 3.2 requires); body: {shown}.")
    interval = _positive(fields_.pop("interval", None)) or DEFAULT_INTERVAL
    return DeviceCode(device_code, user_code, uri, complete, int(expires_in), interval,
                      fields_, _now())


def _required(fields_: dict[str, Any], names: tuple[str, ...], what: str, shown: str) -> str:
    for name in names:
        value = text_or_none(fields_.pop(name, None))
        if value is not None:
            for other in names:
                fields_.pop(other, None)
            return value.strip()
    raise OperationalError(
        f"{what} answered without {names[0]} (RFC 8628 section 3.2); body: {shown}. Check "
        "OAuthDeviceAuthorizationURL: it must be the provider's device authorization "
        "endpoint.")


def _positive(value: Any) -> float | None:
    """A positive number from a JSON number or numeric text; None for anything else."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < float("inf") else None


# -- what the connection remembers of codes it asked for ---------------------------------

def _key(device_code: str) -> str:
    return hashlib.sha256(device_code.encode("utf-8")).hexdigest()


def remember(flow: _Flow, code: DeviceCode) -> None:
    """Keep the code's interval and expiry on the connection, for WEB mode's second step."""
    flow.invocation.context.device_codes.remember(
        _key(code.device_code), (code.received, code.interval, code.expires_at))


# -- GetOAuthAccessToken GrantType=DEVICE ------------------------------------------------

def device_access_token(flow: _Flow) -> dict[str, Any]:
    """GrantType=DEVICE: WEB polls for the DeviceCode given; APP asks for a code, tells the
    person, and polls. Returns the usual token outputs."""
    device = _DeviceFlow.from_flow(flow)
    token_url = device.url("OAuthAccessTokenURL", "to poll for the device grant's tokens")
    device.require("OAuthClientId", "for the device grant")
    if str(device.get("AuthMode") or "APP").upper() == "WEB":
        given = device.require("DeviceCode", "(the DeviceCode GetOAuthDeviceCode returned) "
                               "for GrantType=DEVICE with AuthMode=WEB").strip()
        device.secrets.append(given)
        known = device.invocation.context.device_codes.get(_key(given))
        if known is None:  # from elsewhere: poll now, 5 s apart, until Timeout
            received, interval, expires_at = _now(), DEFAULT_INTERVAL, None
            first = received
        else:
            received, interval, expires_at = known
            first = received + interval
        outputs = _wait(device, token_url, given, interval, expires_at, first)
        device.invocation.context.device_codes.forget(_key(given))
        return outputs
    code = request_device_code(device)
    tell_the_person(code)
    return _wait(device, token_url, code.device_code, code.interval, code.expires_at,
                 code.received + code.interval)


def prompt(code: DeviceCode) -> str:
    """What the person is told (stderr and the log record)."""
    text = f"To sign in, open {code.verification_uri} and enter {code.user_code}"
    if code.verification_uri_complete:
        text += f" (or open {code.verification_uri_complete}, which fills in the code)"
    minutes = code.expires_in / 60
    valid = f"{minutes:g} minutes" if code.expires_in % 60 == 0 else f"{code.expires_in} seconds"
    return text + f". The code is valid for {valid}."


def tell_the_person(code: DeviceCode) -> None:
    """APP mode: the prompt on stderr (stdout belongs to the caller's program) and as an
    INFO record on ``cdata_oauth`` carrying the fields; then a browser, when one opens."""
    message = prompt(code)
    print(message, file=sys.stderr, flush=True)
    log.info(message, extra={"verification_uri": code.verification_uri,
                             "user_code": code.user_code,
                             "verification_uri_complete": code.verification_uri_complete,
                             "expires_in": code.expires_in})
    if code.verification_uri_complete and _browser_may_open():
        threading.Thread(target=_open_quietly, args=(code.verification_uri_complete,),
                         name="cdata_oauth-device-browser", daemon=True).start()


def _browser_may_open() -> bool:
    """True where ``webbrowser`` would start a real browser: BROWSER set, a graphical
    session, macOS or Windows. Elsewhere it would start a console browser (lynx, w3m) on
    the very terminal that shows the prompt, so the person is left to use another device."""
    if os.environ.get("BROWSER") or sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _open_quietly(url: str) -> None:
    with contextlib.suppress(webbrowser.Error, OSError):  # the prompt says where to go
        webbrowser.open(url)


def _wait(flow: _DeviceFlow, token_url: str, device_code: str, interval: float,
          expires_at: float | None, first_poll: float) -> dict[str, Any]:
    """Poll until tokens arrive, the code expires, Timeout passes, or an error ends it."""
    timeout = flow.get("Timeout")
    started = _now()
    limit = started + float(timeout) if timeout not in (None, 0, "0") else None
    extras = flow.extra_params(_POLL_RESERVED)
    failures = 0
    due = max(first_poll, started)
    flow.polling = True
    while True:
        _pause_until(due, limit, expires_at, started, timeout)
        auth = flow.authenticate(token_url)  # afresh: a client assertion is single use
        body = str(prepare_token_request(
            DEVICE_GRANT, device_code=device_code, client_id=flow.client_id,
            **auth.oauthlib_kwargs(), **extras))
        try:
            return flow.token_request(token_url, body, auth)
        except _Transient as exc:
            failures += 1
            if failures > MAX_RETRIES:
                raise OperationalError(
                    f"Polling for the sign-in failed {failures} times in a row (last: {exc}); "
                    "the wait ended. Try again later, or check the provider's status."
                    ) from None
        except OAuthError as exc:
            if exc.error == "authorization_pending":
                failures = 0
            elif exc.error == "slow_down":
                failures = 0
                interval += SLOW_DOWN_STEP
            else:
                raise _explained(exc) from None
        due = _now() + interval


def _pause_until(due: float, limit: float | None, expires_at: float | None, started: float,
                 timeout: Any) -> None:
    """Sleep in short steps until ``due``; raise when the code expires or Timeout passes
    first."""
    while True:
        now = _now()
        if expires_at is not None and now >= expires_at and (limit is None or
                                                              expires_at <= limit):
            raise OperationalError(
                f"The device code expired after {expires_at - started:.0f} seconds of waiting "
                "before the sign-in was completed; run the statement again for a new code "
                "(AuthMode=WEB: a new GetOAuthDeviceCode).")
        if limit is not None and now >= limit:
            raise OperationalError(_timed_out(timeout, expires_at, now))
        ends = [t for t in (due, limit, expires_at) if t is not None]
        step = min(ends) - now
        if step <= 0:
            return
        _sleep(min(step, TICK))


def _timed_out(timeout: Any, expires_at: float | None, now: float) -> str:
    if expires_at is None:
        still = "how long the code is still valid is not known here"
    else:
        still = f"the code was still valid for {max(expires_at - now, 0):.0f} more seconds"
    return (f"The sign-in was not completed within {float(timeout):g} seconds (Timeout); "
            f"{still}. Run the statement again with a larger Timeout to wait longer, or "
            "Timeout=0 to wait until the code expires.")


_EXPLAINED = {
    "access_denied": "The sign-in was declined (access_denied): the person refused it, or "
                     "the provider does not allow it. Run the statement again to start over.",
    "expired_token": "The device code expired before the sign-in was completed "
                     "(expired_token); run the statement again for a new code.",
}


def _explained(exc: OAuthError) -> OAuthError:
    """access_denied and expired_token said plainly; the provider's fields kept."""
    lead = _EXPLAINED.get(exc.error or "")
    if lead is None:
        return exc
    return OAuthError(f"{lead} {exc}", error=exc.error, description=exc.description,
                      uri=exc.uri, status=exc.status)
