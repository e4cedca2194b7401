"""Fixtures for the badserver test server (filled in by its issue)."""
