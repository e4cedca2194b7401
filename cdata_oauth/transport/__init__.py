"""HTTP for the operations: one session per settings, routing through HTTP proxies and
SOCKS firewalls, proxy authentication, TLS, deadlines, network errors and the HTTP log.

Owns: every byte on the wire. Knows nothing of OAuth or SQL.
May import: config and the base modules.
"""
