"""Outputs of an operation -> result columns and rows (one row per mapping of outputs:
an operation returns one, or a list of them).

Declared outputs come first, in declared order; a wildcard output (``OAuthParam:*``)
then adds one column per extra field any row has, sorted by name, so columns are stable
(a row without that field holds NULL there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from cdata_oauth.catalog.model import Script
from cdata_oauth.conversions import whole_number
from cdata_oauth.dbapi.types import type_code_for
from cdata_oauth.oauth.operations import Outputs

Description = tuple[str, str, None, None, None, None, bool]


class ResultSet(NamedTuple):
    """Column descriptions (PEP 249 7-tuples) and rows. (A NamedTuple: one is made per
    statement, and a frozen dataclass costs several times as much to make.)"""

    description: tuple[Description, ...]
    rows: list[tuple[Any, ...]]


def _column(name: str, code: str) -> Description:
    return (name, code, None, None, None, None, True)


LAYOUTS_PER_CONNECTION = 256
"""Scripts whose declared columns a connection keeps (a connection calls a few)."""


@dataclass(frozen=True)
class Layout:
    """A script's declared, non-wildcard outputs, laid out once per script."""

    columns: tuple[tuple[str, str], ...]  # (folded name, type) of each, in declared order
    names: frozenset[str]  # the folded names
    description: tuple[Description, ...]
    fixed: bool  # no wildcard output: the declared columns are all the columns

    @classmethod
    def of(cls, script: Script) -> Layout:
        declared = [o for o in script.outputs if not o.prefix]
        return cls(tuple((o.name.lower(), o.xs_type) for o in declared),
                   frozenset(o.name.lower() for o in declared),
                   tuple(_column(o.name, type_code_for(o.xs_type)) for o in declared),
                   len(declared) == len(script.outputs))


class Projector:
    """Turns an operation's outputs into a result set; owned by one connection, it keeps
    each script's layout so that a repeated statement does not rebuild it."""

    def __init__(self) -> None:
        self._layouts: dict[str, tuple[Script, Layout]] = {}

    def project(self, script: Script, outputs: Outputs) -> ResultSet:
        return project(script, outputs, self._layout(script))

    def _layout(self, script: Script) -> Layout:
        key = script.name.lower()
        hit = self._layouts.get(key)
        if hit is not None and hit[0] is script:
            return hit[1]
        layout = Layout.of(script)
        if len(self._layouts) >= LAYOUTS_PER_CONNECTION:
            self._layouts.clear()
        self._layouts[key] = (script, layout)
        return layout


def project(script: Script, outputs: Outputs, layout: Layout | None = None) -> ResultSet:
    """The result of one run: one row for one mapping of outputs, or one row per mapping
    when the operation returned several (each ``api:push`` of an API Script is a row)."""
    if layout is None:
        layout = Layout.of(script)
    if type(outputs) is dict or isinstance(outputs, Mapping):  # the usual case, one row:
        fields = {k.lower(): v for k, v in outputs.items()}  # said short, as it is hot
        if layout.fixed or layout.names.issuperset(fields):
            only = tuple([_as_type(fields.get(folded), xs_type)
                          for folded, xs_type in layout.columns])
            return tuple.__new__(ResultSet, (layout.description, [only]))  # ResultSet(...)
    many = [outputs] if isinstance(outputs, Mapping) else list(outputs)
    keyed = [{k.lower(): (k, v) for k, v in one.items()} for one in many]
    rows = [[_as_type(by_key[folded][1] if folded in by_key else None, xs_type)
             for folded, xs_type in layout.columns] for by_key in keyed]
    if layout.fixed or all(layout.names.issuperset(by_key) for by_key in keyed):
        # no wildcard output, or nothing beyond the declared ones: the columns are fixed
        return ResultSet(layout.description, [tuple(row) for row in rows])
    names = [column[0] for column in layout.description]
    codes = [column[1] for column in layout.description]
    used = set(layout.names)
    for output in script.outputs:
        prefix = output.prefix
        if not prefix:
            continue
        spelled: dict[str, str] = {}  # folded -> the first spelling met
        for by_key in keyed:
            for key, (name, _) in by_key.items():
                if key.startswith(prefix.lower()) and key not in used:
                    spelled.setdefault(key, name)
        for key, name in sorted(spelled.items(), key=lambda item: item[1]):
            values = [by_key[key][1] if key in by_key else None for by_key in keyed]
            names.append(prefix + name[len(prefix):])
            codes.append(type_code_for("string", next((v for v in values if v is not None),
                                                      values[0])))
            for row, value in zip(rows, values, strict=True):
                row.append(value)
            used.add(key)
    return ResultSet(tuple(_column(n, c) for n, c in zip(names, codes, strict=True)),
                     [tuple(row) for row in rows])


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
