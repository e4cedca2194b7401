"""Shared test set-up: the server fixtures live in tests/servers/, one module per server,
and the core tests share an echo operation and a connection whose Location holds it.

Each test gets the marker of its folder (unit, integration, system), so ``-m unit``
selects as well as ``tests/unit`` does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import cdata_oauth
from tests.core_support import ECHO_OP, Recorder, echo_location, registered

pytest_plugins = [
    "tests.servers.oauth2_mock",
    "tests.servers.embedded_provider",
    "tests.servers.squid",
    "tests.servers.dante",
    "tests.servers.badserver",
    "tests.servers.browser",
    "tests.servers.oauth1_provider",
    "tests.servers.tls",
    "tests.servers.hostile",
    "tests.servers.oidc_provider",
    "tests.servers.metadata_server",
    "tests.servers.jwt_endpoints",
    "tests.servers.device_server",
    "tests.servers.redis",
    "tests.servers.postgres",
]


LAYERS = ("unit", "integration", "system")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        layer = next((p for p in Path(str(item.fspath)).parts if p in LAYERS), None)
        if layer is not None:
            item.add_marker(getattr(pytest.mark, layer))


@pytest.fixture
def echo() -> Iterator[Recorder]:
    """The echo operation, registered for one test: it records what it was given."""
    with registered(ECHO_OP, Recorder()) as recorder:
        yield recorder


@pytest.fixture
def conn(tmp_path: Path, echo: Recorder) -> Iterator[cdata_oauth.Connection]:
    """A connection whose Location holds Echo.rsb, calling the echo operation."""
    connection = cdata_oauth.connect(Location=str(echo_location(tmp_path)))
    yield connection
    connection.close()
