"""Outputs of an operation -> result columns and one row.

Declared outputs come first, in declared order; a wildcard output (``OAuthParam:*``)
then adds one column per extra field, sorted by name, so columns are stable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .scripts import Script
from .types import type_code_for

Description = tuple[str, str, None, None, None, None, bool]


@dataclass(frozen=True)
class ResultSet:
    """Column descriptions (PEP 249 7-tuples) and rows."""

    description: tuple[Description, ...]
    rows: list[tuple[Any, ...]]


def _column(name: str, code: str) -> Description:
    return (name, code, None, None, None, None, True)


def project(script: Script, outputs: Mapping[str, Any]) -> ResultSet:
    """One row holding the script's outputs, taken from what the operation returned."""
    by_key = {k.lower(): (k, v) for k, v in outputs.items()}
    names: list[str] = []
    codes: list[str] = []
    row: list[Any] = []
    used: set[str] = set()
    for output in script.outputs:
        if output.prefix:
            continue
        _, value = by_key.get(output.name.lower(), (output.name, None))
        value = _as_type(value, output.xs_type)
        names.append(output.name)
        codes.append(type_code_for(output.xs_type))
        row.append(value)
        used.add(output.name.lower())
    for output in script.outputs:
        prefix = output.prefix
        if not prefix:
            continue
        extra = sorted((k, v) for key, (k, v) in by_key.items()
                       if key.startswith(prefix.lower()) and key not in used)
        for key, value in extra:
            names.append(prefix + key[len(prefix):])
            codes.append(type_code_for("string", value))
            row.append(value)
            used.add(key.lower())
    return ResultSet(tuple(_column(n, c) for n, c in zip(names, codes, strict=True)),
                     [tuple(row)])


def table(columns: Sequence[str], rows: list[tuple[Any, ...]]) -> ResultSet:
    """A result set from plain columns and rows (system tables)."""
    codes = []
    for index, _ in enumerate(columns):
        sample = next((r[index] for r in rows if r[index] is not None), None)
        codes.append(type_code_for("string", sample))
    return ResultSet(tuple(_column(c, code) for c, code in zip(columns, codes, strict=True)),
                     rows)


def _as_type(value: Any, xs_type: str) -> Any:
    if value is None or value == "":
        return None if xs_type != "string" else value
    if xs_type in ("int", "long", "integer"):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return None
    return value
