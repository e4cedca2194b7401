"""Runs a SELECT over in-memory tables with sqlglot's executor (T-SQL semantics)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.executor import execute

from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.sql import Table

__all__ = ["Table", "run_select"]


_CHECK_COLUMNS = "check the column names (SELECT * shows them) and the expressions."


def run_select(ast: exp.Select, tables: Mapping[str, Table]
               ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """Columns (spelled as the tables declare them) and rows of the SELECT."""
    data: dict[str, list[dict[str, Any]]] = {}
    canonical: dict[str, str] = {}
    for name, (columns, rows) in tables.items():
        canonical.update({c.lower(): c for c in columns})
        data[name] = [dict(zip(columns, row, strict=True)) for row in rows]
    try:
        result = execute(ast, tables=data, dialect="tsql")
    except SqlglotError as exc:
        raise ProgrammingError(f"Cannot run the SELECT: {exc}".split("\n")[0]
                               + f"; {_CHECK_COLUMNS}") from None
    except (TypeError, ValueError, KeyError, ZeroDivisionError) as exc:
        raise ProgrammingError(f"Cannot run the SELECT: {type(exc).__name__}: {exc}; "
                               f"{_CHECK_COLUMNS}") from None  # its frames quote the statement
    columns = tuple(canonical.get(c.lower(), c) for c in result.columns)
    return columns, [tuple(r) for r in result.rows]
