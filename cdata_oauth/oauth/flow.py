"""What every flow of one statement shares, OAuth 1.0a and 2.0 alike: its inputs, the
OtherOptions, the secrets to mask, required inputs and provider URLs checked once (an
OAuth 2.0 URL not set explicitly comes from the ``OAuthIssuer``'s metadata), the
``OAuthParam:*`` extras, and the connection's transport."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from cdata_oauth.config.options import Options, parse_other_options
from cdata_oauth.conversions import text_or_none
from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.lazy import resolve
from cdata_oauth.oauth.discovery import (
    ENDPOINTS,
    ServerMetadata,
    discover,
    endpoint_error,
    missing_endpoint,
)
from cdata_oauth.oauth.operations import Invocation
from cdata_oauth.oauth.urls import check_url

if TYPE_CHECKING:
    import requests

    from cdata_oauth.oauth.loopback import CallbackListener

__all__ = ["Flow"]

LOOPBACK = "cdata_oauth.oauth.loopback"
"""APP mode's listener and browser: loaded by the first APP-mode statement only."""


@dataclass
class Flow:
    """The inputs of one statement as a flow reads them, checked once."""

    invocation: Invocation
    options: Options
    secrets: list[object] = field(default_factory=list)

    missing_hint: ClassVar[str] = ""
    """Said after "set the connection property X ..." when a required input is missing."""
    reserved_params: ClassVar[frozenset[str]] = frozenset()
    """Request parameters the protocol sets itself: no ``OAuthParam:`` may send them."""
    use_instead: ClassVar[Mapping[str, str]] = {}
    """The input to set instead of a reserved parameter, where there is one."""
    discovers: ClassVar[bool] = False
    """True for flows whose endpoint URLs may come from OAuthIssuer's metadata."""
    _metadata: ServerMetadata | None = field(default=None, init=False, repr=False)

    @classmethod
    def base_of(cls, invocation: Invocation) -> dict[str, Any]:
        """The fields every flow reads: options and the secrets bound so far."""
        inputs = invocation.inputs
        return {"invocation": invocation,
                "options": parse_other_options(inputs.get("OtherOptions")),
                "secrets": list(inputs.secrets())}

    def get(self, name: str) -> Any:
        return self.invocation.inputs.get(name)

    def require(self, name: str, why: str) -> str:
        """The non-empty text of an input or property, else a ProgrammingError naming it."""
        value = text_or_none(self.get(name))
        if value is None:
            raise ProgrammingError(
                f"{self.invocation.script.name} needs {name} {why}: set the connection "
                f"property {name} or give it in the EXEC statement.{self.missing_hint}")
        return value

    def url(self, name: str, why: str) -> str:
        """A required provider URL, checked against the plain-http policy: the input or
        property when given, else (OAuth 2.0) the one OAuthIssuer's metadata gives."""
        if self.issuer is not None and name in ENDPOINTS and \
                text_or_none(self.get(name)) is None:
            metadata = self.metadata()
            assert metadata is not None
            found = metadata.endpoint(name)
            if found is None:
                raise missing_endpoint(name, metadata, why)
            try:
                check_url(name, found, self.options)
            except ProgrammingError as problem:
                raise endpoint_error(name, metadata, problem) from None
            return found
        value = self.require(name, why)
        check_url(name, value, self.options)
        return value

    @property
    def issuer(self) -> str | None:
        """OAuthIssuer, for the flows that discover; None otherwise."""
        value = text_or_none(self.get("OAuthIssuer")) if self.discovers else None
        return None if value is None else value.strip()

    def metadata(self) -> ServerMetadata | None:
        """OAuthIssuer's server metadata (fetched once per process, see ``discovery``);
        None without OAuthIssuer."""
        issuer = self.issuer
        if issuer is None:
            return None
        if self._metadata is None:
            self._metadata = discover(issuer, self._get_metadata)
        return self._metadata

    def _get_metadata(self, url: str) -> requests.Response:
        return self.send("GET", url, headers={"Accept": "application/json"})

    def extra_params(self, reserved: frozenset[str] | None = None) -> dict[str, str]:
        """The ``OAuthParam:<name>`` inputs, as request parameters; a parameter the
        protocol sets itself is refused, naming the input to use instead."""
        refused = self.reserved_params if reserved is None else reserved
        params: dict[str, str] = {}
        for name, value in self.invocation.inputs.family("OAuthParam:").items():
            if name.lower() in refused:
                instead = self.use_instead.get(name.lower())
                hint = f"use {instead} instead" if instead else "the connector sets it itself"
                raise ProgrammingError(f"OAuthParam:{name} cannot be sent: {hint}.")
            params[name] = "" if value is None else str(value)
        return params

    def listener(self, callback: str, timeout: float | None) -> CallbackListener:
        """APP mode: the loopback listener the browser comes back to."""
        listener: CallbackListener = resolve(f"{LOOPBACK}:CallbackListener")(callback, timeout)
        return listener

    @staticmethod
    def open_browser(url: str) -> None:
        """APP mode: send the person's browser to the provider (without waiting)."""
        resolve(f"{LOOPBACK}:open_browser")(url)

    def send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One request through the connection's transport, this flow's secrets masked."""
        transport = self.invocation.context.transport(self.invocation.inputs)
        return transport.request(method, url, secrets=self.secrets, **kwargs)
