"""The operations an ``api:call op="..."`` can name: one registry, looked up by name.

A built-in operation is an entry of ``BUILTIN_OPERATIONS`` (name -> its target), loaded at
first use through the lazy seam; a new capability adds an entry there. Users and tests
add their own with ``register_operation``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from cdata_oauth.config.inputs import Inputs
from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.lazy import resolve
from cdata_oauth.oauth.context import ConnectionContext

__all__ = ["BUILTIN_OPERATIONS", "Invocation", "Operation", "Outputs", "Procedure",
           "get_operation", "register_operation", "unregister_operation"]


class Procedure(Protocol):
    """What an operation may know of the procedure it runs (``catalog.Script`` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def source(self) -> str: ...


class Invocation(NamedTuple):
    """One run of an operation: the procedure, its bound inputs, and the connection.
    (A NamedTuple: one is made per statement.)"""

    script: Procedure
    inputs: Inputs
    context: ConnectionContext


Outputs = Mapping[str, Any] | Sequence[Mapping[str, Any]]
"""What an operation returns: one row's outputs, or several rows (one per ``api:push``)."""
Operation = Callable[[Invocation], Outputs]

BUILTIN_OPERATIONS: dict[str, dict[str, str]] = {
    "oauthgetaccesstoken": {"1.0": "cdata_oauth.oauth.oauth1:get_access_token",
                            "2.0": "cdata_oauth.oauth.oauth2:get_access_token"},
    "oauthgetuserauthorizationurl": {"1.0": "cdata_oauth.oauth.oauth1:authorization_url",
                                     "2.0": "cdata_oauth.oauth.oauth2:authorization_url"},
    "oauthgetservermetadata": {"2.0": "cdata_oauth.oauth.oauth2:server_metadata"},
    "oauthrevoketoken": {"2.0": "cdata_oauth.oauth.revocation:revoke_token"},
    "oauthintrospecttoken": {"2.0": "cdata_oauth.oauth.introspection:introspect_token"},
    "oauthgetdevicecode": {"2.0": "cdata_oauth.oauth.device:get_device_code"},
}
"""Operation name -> OAuthVersion -> the flow function that runs it (loaded at first use)."""
_registry: dict[str, Operation] = {}
_lock = threading.Lock()


def register_operation(name: str, operation: Operation) -> None:
    """Make ``operation`` callable from scripts as ``<api:call op="name">``."""
    with _lock:
        _registry[name.lower()] = operation


def unregister_operation(name: str) -> None:
    with _lock:
        _registry.pop(name.lower(), None)


def get_operation(name: str) -> Operation:
    key = name.lower()
    operation = _registry.get(key)
    if operation is not None:
        return operation
    operation = _builtins.get(key)
    if operation is not None:
        return operation
    targets = BUILTIN_OPERATIONS.get(key)
    if targets is None:
        known = sorted(set(_registry) | set(BUILTIN_OPERATIONS))
        raise ProgrammingError(
            f"Operation {name!r} is not known; scripts may call: {', '.join(known)}.")
    operation = _builtins[key] = _by_version(name, targets)
    return operation


_builtins: dict[str, Operation] = {}
"""The built-in operations made so far, by folded name (one per name, made once)."""


def _by_version(name: str, targets: Mapping[str, str]) -> Operation:
    """The operation that runs the flow of the invocation's OAuthVersion."""

    def run(invocation: Invocation) -> Outputs:
        version = str(invocation.inputs.get("OAuthVersion") or "")
        target = targets.get(version) or targets.get("2.0")
        if target is None:
            raise ProgrammingError(
                f"{invocation.script.name} runs {name}, which needs OAuthVersion="
                f"{' or '.join(sorted(targets))}; set OAuthVersion.")
        flow: Operation = resolve(target)
        return flow(invocation)

    return run
