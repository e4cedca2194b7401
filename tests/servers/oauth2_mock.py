"""Fixtures for the oauth2_mock test server (filled in by its issue)."""
