"""Fixtures for the oauth1_provider test server (filled in by its issue)."""
