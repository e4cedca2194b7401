"""The operations an ``api:call op="..."`` can name, looked up by name.

Built-in operations are imported at first use, so ``import cdata_oauth`` stays cheap.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from cdata_oauth.exceptions import ProgrammingError

if TYPE_CHECKING:
    from cdata_oauth.catalog.binding import Inputs
    from cdata_oauth.catalog.model import Script
    from cdata_oauth.oauth.context import ConnectionContext

__all__ = ["Invocation", "Operation", "get_operation", "register_operation",
           "unregister_operation"]


@dataclass
class Invocation:
    """One run of an operation: the procedure, its bound inputs, and the connection."""

    script: Script
    inputs: Inputs
    context: ConnectionContext
    extra: dict[str, Any] = field(default_factory=dict)


Operation = Callable[[Invocation], Mapping[str, Any]]

_BUILTIN: dict[str, str] = {
    "oauthgetaccesstoken": "cdata_oauth.oauth.get_access_token:run",
    "oauthgetuserauthorizationurl": "cdata_oauth.oauth.authorization_url:run",
}
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
    target = _BUILTIN.get(key)
    if target is None:
        known = sorted(set(_registry) | set(_BUILTIN))
        raise ProgrammingError(
            f"Operation {name!r} is not known; scripts may call: {', '.join(known)}.")
    module_name, _, attr = target.partition(":")
    operation = cast(Operation, getattr(importlib.import_module(module_name), attr))
    register_operation(name, operation)
    return operation
