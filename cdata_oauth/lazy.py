"""The one lazy seam: what pulls in sqlglot, requests, oauthlib or cryptography loads here,
at first use, so that ``import cdata_oauth`` costs the standard library and little more.

Everything else imports at the top of its module. A heavy piece is named by its target,
``"package.module:attribute"``, in a registry (the package face, the operations, the
flows, the transport) and resolved through ``resolve`` the first time it is needed.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache
from typing import Any

__all__ = ["optional_module", "resolve"]


@cache
def resolve(target: str) -> Any:
    """The attribute named by ``"module:attribute"``, importing the module once."""
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def optional_module(name: str) -> Any:
    """A module of an optional extra (e.g. ``spnego`` for NTLM), or None when the extra is
    not installed."""
    if importlib.util.find_spec(name.partition(".")[0]) is None:
        return None
    return importlib.import_module(name)
