"""The PEP 249 exception tree, plus OAuthError for answers a provider gave on purpose.

Every failure the connector reports is one of these; third-party exceptions are caught
where the library is called and re-raised from one of them.
"""

from __future__ import annotations

__all__ = [
    "DataError",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OAuthError",
    "OperationalError",
    "ProgrammingError",
    "Warning",
]


class Warning(Exception):
    """Important warnings, such as data truncation."""


class Error(Exception):
    """Base class of every error the connector raises."""


class InterfaceError(Error):
    """Misuse of the interface itself, e.g. using a closed connection or cursor."""


class DatabaseError(Error):
    """Errors of the data source: here, of the procedures and the OAuth provider."""


class DataError(DatabaseError):
    """A value that cannot be converted to the type an input declares."""


class OperationalError(DatabaseError):
    """The provider or the network failed: refused connection, timeout, bad answer."""


class IntegrityError(DatabaseError):
    """Kept for PEP 249; the connector has no relational integrity to violate."""


class InternalError(DatabaseError):
    """A state the connector should never reach; please report it."""


class ProgrammingError(DatabaseError):
    """Bad SQL, an unknown procedure or input, a missing or malformed property."""


class NotSupportedError(DatabaseError):
    """A statement, method or option the connector does not offer."""


class OAuthError(OperationalError):
    """The provider answered with an OAuth error (RFC 6749 section 5.2, or OAuth 1.0a).

    The fields carry what the provider sent so that callers can branch on ``error``
    (e.g. ``invalid_grant`` means the refresh token is dead and the user must log in).
    """

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        description: str | None = None,
        uri: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.error = error
        self.description = description
        self.uri = uri
        self.status = status
