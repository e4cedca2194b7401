"""Fixtures for the embedded OAuth 2.0 provider (cdata_oauth.provider), on 127.0.0.1.

``embedded_provider`` is shared by the session: use it when a test does not look at the
provider's counters or settings. ``fresh_provider`` is a new provider per test, for tests
that count grants, change the token lifetime or rotation, or register clients.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cdata_oauth.provider import EmbeddedProvider


@pytest.fixture(scope="session")
def embedded_provider() -> Iterator[EmbeddedProvider]:
    with EmbeddedProvider() as provider:
        yield provider


@pytest.fixture
def fresh_provider() -> Iterator[EmbeddedProvider]:
    with EmbeddedProvider() as provider:
        yield provider
