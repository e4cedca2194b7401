"""cdata_oauth: OAuth token operations as SQL stored procedures, behind PEP 249.

    >>> import cdata_oauth
    >>> conn = cdata_oauth.connect("OAuthVersion=2.0;OAuthClientId=...;...")
    >>> conn.execute("EXEC GetOAuthAccessToken GrantType='CLIENT'").fetchone()

Importing the package loads the exceptions only; the type objects (with ``datetime``),
the connection and everything behind it (sqlglot, requests, oauthlib) load at first use,
through the lazy seam (``cdata_oauth.lazy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cdata_oauth.exceptions import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OAuthError,
    OperationalError,
    ProgrammingError,
    Warning,
)
from cdata_oauth.lazy import resolve

__version__ = "0.1.0"

apilevel = "2.0"
"""PEP 249 level this module implements."""

threadsafety = 2
"""Threads may share the module and connections, but not cursors: a connection guards
its state with locks and gives each thread its own HTTP session."""

paramstyle = "qmark"
"""Placeholders are ``?`` (bound from a sequence); ``@name`` binds from a mapping."""


def connect(connection_string: str | None = None, **properties: Any) -> Connection:
    """Open a connection from ``"Name=Value;..."`` and/or keyword properties (keywords win).

    Bad properties raise ``ProgrammingError`` here, naming the property and why.
    """
    connection: type[Connection] = resolve(_LAZY["Connection"])
    settings: type[ConnectionProperties] = resolve(_LAZY["ConnectionProperties"])
    return connection(settings.from_sources(connection_string, **properties))


if TYPE_CHECKING:
    from cdata_oauth.config.properties import ConnectionProperties
    from cdata_oauth.dbapi.connection import Connection, Cursor
    from cdata_oauth.dbapi.types import (
        BINARY,
        DATETIME,
        NUMBER,
        ROWID,
        STRING,
        Binary,
        Date,
        DateFromTicks,
        Time,
        TimeFromTicks,
        Timestamp,
        TimestampFromTicks,
    )
    from cdata_oauth.tokens.bearer import BearerAuth

_LAZY = {
    "BearerAuth": "cdata_oauth.tokens.bearer:BearerAuth",
    "Connection": "cdata_oauth.dbapi.connection:Connection",
    "ConnectionProperties": "cdata_oauth.config.properties:ConnectionProperties",
    "Cursor": "cdata_oauth.dbapi.connection:Cursor",
    **{name: f"cdata_oauth.dbapi.types:{name}" for name in (
        "BINARY", "DATETIME", "NUMBER", "ROWID", "STRING", "Binary", "Date", "DateFromTicks",
        "Time", "TimeFromTicks", "Timestamp", "TimestampFromTicks")},
}
"""The package face's names that load at first use (with what they pull in)."""


def __getattr__(name: str) -> Any:
    """Names of ``_LAZY`` load on first use, so that importing the package stays light."""
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'cdata_oauth' has no attribute {name!r}")
    return resolve(target)


__all__ = [
    "BINARY", "DATETIME", "NUMBER", "ROWID", "STRING", "BearerAuth", "Binary", "Connection",
    "ConnectionProperties", "Cursor", "DataError", "DatabaseError", "Date", "DateFromTicks",
    "Error", "IntegrityError", "InterfaceError", "InternalError", "NotSupportedError",
    "OAuthError", "OperationalError", "ProgrammingError", "Time", "TimeFromTicks",
    "Timestamp", "TimestampFromTicks", "Warning", "__version__", "apilevel", "connect",
    "paramstyle", "threadsafety",
]
