"""The token lifecycle of a connection (InitiateOAuth, single-flight renewal), the token
stores (file, memory; Redis and PostgreSQL for fleets, with drivers from the extras
through ``lazy``; stores of other packages by entry point), encryption at rest, and
``BearerAuth``.

Talks to its connection through ``lifecycle.ProcedureRunner``, never by importing dbapi.
May import: oauth, transport, config and the base modules.
"""
