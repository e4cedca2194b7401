"""Result rows as text: an aligned table, JSON or CSV (the ``cdata-oauth`` command and
the demo print with these)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

__all__ = ["FORMATS", "render", "render_csv", "render_json", "render_table"]

FORMATS = ("table", "json", "csv")
NULL_TEXT = "NULL"


def _cell(value: Any) -> str:
    if value is None:
        return NULL_TEXT
    if isinstance(value, bytes):
        return value.hex()
    return str(value).replace("\r", " ").replace("\n", " ")


def render_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell, a rule under the header, NULL for None."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
              for r in cells]
    return "\n".join(lines) + "\n"


def render_json(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A JSON array with one object per row, keys in column order."""
    objects = [dict(zip(columns, row, strict=True)) for row in rows]
    return json.dumps(objects, indent=2, default=str) + "\n"


def render_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """RFC 4180 CSV with a header line; None is an empty field."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


def render(fmt: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    renderers = {"table": render_table, "json": render_json, "csv": render_csv}
    return renderers[fmt](columns, rows)
