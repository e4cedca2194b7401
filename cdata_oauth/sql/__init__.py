"""SQL text -> statement templates (sqlglot, T-SQL), the shape cache, and SELECT runs over
in-memory tables.

Owns: what a statement says, never what it means: nothing here knows of OAuth.
May import: the base modules (exceptions, redaction, conversions) and sqlglot.
"""

from collections.abc import Sequence
from typing import Any

Table = tuple[Sequence[str], Sequence[tuple[Any, ...]]]
"""A table's column names and rows, as the system tables give them to a SELECT."""
