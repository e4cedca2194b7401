"""What a test does when a server it needs is not installed: skip locally, with the
package to install; fail under CI (``CI=true``), so that CI never passes by skipping."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(what: str, install: str) -> NoReturn:
    """Skip (locally) or fail (``CI=true``) the test, saying how to install ``what``."""
    message = f"{what} is not installed; {install}."
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: a missing server is a failure)", pytrace=False)
    pytest.skip(message)
