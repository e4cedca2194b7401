"""Read-only system tables: what a connection can call and how it is set up.

Each table is one entry of ``SYSTEM_TABLES`` (name -> function of the connection giving
columns and rows); a new table is a new entry. ``sql.select`` runs the SELECT over them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cdata_oauth.config.properties import REGISTRY
from cdata_oauth.dbapi.results import ResultSet, table
from cdata_oauth.exceptions import NotSupportedError
from cdata_oauth.lazy import resolve
from cdata_oauth.redaction import mask
from cdata_oauth.sql import Table

if TYPE_CHECKING:
    from sqlglot import exp

    from cdata_oauth.dbapi.connection import Connection

__all__ = ["SYSTEM_TABLES", "TableProvider", "select"]

TableProvider = Callable[["Connection"], Table]

SELECT_RUNNER = "cdata_oauth.sql.select:run_select"
"""sqlglot's executor, loaded by the first SELECT only (it costs a third of a cold start)."""


def _procedures(connection: Connection) -> Table:
    return (("ProcedureName", "Description"),
            [(s.name, s.description) for s in connection.catalog])


def _parameters(connection: Connection) -> Table:
    columns = ("ProcedureName", "ColumnName", "Direction", "DataType", "IsRequired",
               "DefaultValue", "AllowedValues", "Description")
    rows: list[tuple[Any, ...]] = []
    for script in connection.catalog:
        for given in script.inputs:
            rows.append((script.name, given.name, "input", given.xs_type, given.required,
                         given.default, ",".join(given.values) or None, given.description))
        for output in script.outputs:
            rows.append((script.name, output.name, "output", output.xs_type, False, None,
                         None, output.description))
    return columns, rows


def _connection_props(connection: Connection) -> Table:
    """Every property with its value, the token ones as stored.

    Secrets are shown in clear here and only here: reading them is the point. Not the
    store's: the location's password and the encryption key stay masked (the key guards
    every stored token; showing it would undo the encryption).
    """
    properties = connection.properties
    values: dict[str, Any] = {spec.name: properties.get(spec.name) for spec in REGISTRY.values()}
    values.update({name: properties[name] for name in properties})
    token = connection.tokens.stored()
    if token is not None:
        values.update({"OAuthAccessToken": token.access_token,
                       "OAuthRefreshToken": token.refresh_token,
                       "OAuthAccessTokenSecret": token.token_secret,
                       "OAuthExpiresIn": token.expires_in,
                       "OAuthTokenTimestamp": token.timestamp})
    values["OAuthSettingsLocation"] = connection.tokens.location
    if values.get("OAuthSettingsEncryptionKey"):
        values["OAuthSettingsEncryptionKey"] = mask(values["OAuthSettingsEncryptionKey"])
    rows = [(name, None if value is None else _shown(value)) for name, value in values.items()]
    return ("Name", "Value"), rows


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)


SYSTEM_TABLES: dict[str, TableProvider] = {
    "sys_procedures": _procedures,
    "sys_procedureparameters": _parameters,
    "sys_connection_props": _connection_props,
}


def select(ast: exp.Select, tables: tuple[str, ...], connection: Connection) -> ResultSet:
    """Run a SELECT over the system tables it names."""
    known = ", ".join(sorted(SYSTEM_TABLES))
    if not tables:
        raise NotSupportedError(
            f"SELECT needs FROM <system table> ({known}); call procedures with EXEC.")
    unknown = [t for t in tables if t.lower() not in SYSTEM_TABLES]
    if unknown:
        raise NotSupportedError(
            f"SELECT reads only the system tables ({known}); "
            f"{', '.join(unknown)} is not one. Call procedures with EXEC.")
    data = {name: SYSTEM_TABLES[name](connection) for name in {t.lower() for t in tables}}
    columns, rows = resolve(SELECT_RUNNER)(ast, data)
    return table(columns, rows)
