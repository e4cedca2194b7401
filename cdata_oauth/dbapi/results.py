"""Outputs of an operation -> result columns and one row.

Declared outputs come first, in declared order; a wildcard output (``OAuthParam:*``)
then adds one column per extra field, sorted by name, so columns are stable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cdata_oauth.catalog.model import Script
from cdata_oauth.conversions import whole_number
from cdata_oauth.dbapi.types import type_code_for

Description = tuple[str, str, None, None, None, None, bool]


@dataclass(frozen=True)
class ResultSet:
    """Column descriptions (PEP 249 7-tuples) and rows."""

    description: tuple[Description, ...]
    rows: list[tuple[Any, ...]]


def _column(name: str, code: str) -> Description:
    return (name, code, None, None, None, None, True)


LAYOUTS_PER_CONNECTION = 256
"""Scripts whose declared columns a connection keeps (a connection calls a few)."""

Layout = tuple[tuple[str, str, Description], ...]
"""(folded name, type, column) of each declared, non-wildcard output."""


class Projector:
    """Turns an operation's outputs into a result set; owned by one connection, it keeps
    each script's declared columns so that a repeated statement does not rebuild them."""

    def __init__(self) -> None:
        self._layouts: dict[str, tuple[Script, Layout]] = {}

    def project(self, script: Script, outputs: Mapping[str, Any]) -> ResultSet:
        return project(script, outputs, self._declared_columns(script))

    def _declared_columns(self, script: Script) -> Layout:
        key = script.name.lower()
        hit = self._layouts.get(key)
        if hit is not None and hit[0] is script:
            return hit[1]
        layout = declared_columns(script)
        if len(self._layouts) >= LAYOUTS_PER_CONNECTION:
            self._layouts.clear()
        self._layouts[key] = (script, layout)
        return layout


def declared_columns(script: Script) -> Layout:
    """The columns of the script's declared, non-wildcard outputs, in declared order."""
    return tuple((o.name.lower(), o.xs_type, _column(o.name, type_code_for(o.xs_type)))
                 for o in script.outputs if not o.prefix)


def project(script: Script, outputs: Mapping[str, Any], declared: Layout | None = None
            ) -> ResultSet:
    """One row holding the script's outputs, taken from what the operation returned."""
    by_key = {k.lower(): (k, v) for k, v in outputs.items()}
    row: list[Any] = []
    if declared is None:
        declared = declared_columns(script)
    for folded, xs_type, _ in declared:
        entry = by_key.get(folded)
        row.append(_as_type(None if entry is None else entry[1], xs_type))
    used = {folded for folded, _, _ in declared}
    if len(declared) == len(script.outputs) or used.issuperset(by_key):
        # no wildcard output, or nothing beyond the declared ones: the columns are fixed
        return ResultSet(tuple(column for _, _, column in declared), [tuple(row)])
    names = [column[0] for _, _, column in declared]
    codes = [column[1] for _, _, column in declared]
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
        return whole_number(value)
    return value
