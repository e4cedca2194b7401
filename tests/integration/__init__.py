"""Integration tests: real servers on 127.0.0.1 (squid, dante, node, chromium, our own)."""
