"""The token lifecycle of a connection (InitiateOAuth, single-flight renewal), the token
stores (file, memory) and ``BearerAuth``.

Talks to its connection through ``lifecycle.ProcedureRunner``, never by importing dbapi.
May import: oauth, transport, config and the base modules.
"""
