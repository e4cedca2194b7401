"""HTTP for the operations: sessions, routing through proxies and SOCKS, proxy auth, TLS, deadlines, network errors and the HTTP log."""
