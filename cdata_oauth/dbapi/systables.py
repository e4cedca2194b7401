"""Read-only system tables, queried with ordinary SELECT through sqlglot's executor.

``sys_procedures`` and ``sys_procedureparameters`` describe what can be called; more
tables register themselves in ``SYSTEM_TABLES``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cdata_oauth.dbapi.results import ResultSet, table
from cdata_oauth.exceptions import NotSupportedError, ProgrammingError

if TYPE_CHECKING:
    from sqlglot import exp

    from cdata_oauth.catalog.lookup import Catalog
    from cdata_oauth.oauth.context import ConnectionContext

Rows = tuple[tuple[str, ...], list[tuple[Any, ...]]]
TableProvider = Callable[["Catalog", "ConnectionContext"], Rows]


def _procedures(catalog: Catalog, context: ConnectionContext) -> Rows:
    return (("ProcedureName", "Description"),
            [(s.name, s.description) for s in catalog])


def _parameters(catalog: Catalog, context: ConnectionContext) -> Rows:
    columns = ("ProcedureName", "ColumnName", "Direction", "DataType", "IsRequired",
               "DefaultValue", "AllowedValues", "Description")
    rows: list[tuple[Any, ...]] = []
    for script in catalog:
        for given in script.inputs:
            rows.append((script.name, given.name, "input", given.xs_type, given.required,
                         given.default, ",".join(given.values) or None, given.description))
        for output in script.outputs:
            rows.append((script.name, output.name, "output", output.xs_type, False, None,
                         None, output.description))
    return columns, rows


def _connection_props(catalog: Catalog, context: ConnectionContext) -> Rows:
    from cdata_oauth.tokens.lifecycle import connection_props

    return connection_props(context)


SYSTEM_TABLES: dict[str, TableProvider] = {
    "sys_procedures": _procedures,
    "sys_procedureparameters": _parameters,
    "sys_connection_props": _connection_props,
}


_CHECK_COLUMNS = "check the column names (SELECT * shows them) and the expressions."


def run_select(ast: exp.Select, tables: tuple[str, ...], catalog: Catalog,
               context: ConnectionContext) -> ResultSet:
    """Run a SELECT over the system tables it names."""
    from sqlglot.errors import SqlglotError
    from sqlglot.executor import execute

    known = ", ".join(sorted(SYSTEM_TABLES))
    if not tables:
        raise NotSupportedError(
            f"SELECT needs FROM <system table> ({known}); call procedures with EXEC.")
    unknown = [t for t in tables if t.lower() not in SYSTEM_TABLES]
    if unknown:
        raise NotSupportedError(
            f"SELECT reads only the system tables ({known}); "
            f"{', '.join(unknown)} is not one. Call procedures with EXEC.")
    data: dict[str, list[dict[str, Any]]] = {}
    canonical: dict[str, str] = {}
    for name in {t.lower() for t in tables}:
        columns, rows = SYSTEM_TABLES[name](catalog, context)
        canonical.update({c.lower(): c for c in columns})
        data[name] = [dict(zip(columns, row, strict=True)) for row in rows]
    try:
        result = execute(ast, tables=data, dialect="tsql")
    except SqlglotError as exc:
        raise ProgrammingError(f"Cannot run the SELECT: {exc}".split("\n")[0]
                               + f"; {_CHECK_COLUMNS}") from exc
    except (TypeError, ValueError, KeyError, ZeroDivisionError) as exc:
        raise ProgrammingError(f"Cannot run the SELECT: {type(exc).__name__}: {exc}; "
                               f"{_CHECK_COLUMNS}") from exc
    columns = tuple(canonical.get(c.lower(), c) for c in result.columns)
    return table(columns, [tuple(r) for r in result.rows])
