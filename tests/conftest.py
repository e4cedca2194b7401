"""Shared test set-up: the server fixtures live in tests/servers/, one module per server."""

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
]
