"""SQL text -> a statement template, parsed once by sqlglot (T-SQL) and cached.

A template keeps placeholders as slots; ``bind_call`` fills them from the caller's
parameters, so values never pass through SQL text and cannot change the statement.
This module knows nothing of OAuth or procedures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .exceptions import NotSupportedError, ProgrammingError

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["Call", "CallTemplate", "SelectTemplate", "bind_call", "bind_select", "parse"]

PARSE_CACHE_SIZE = 512

QMARK = "qmark"
NAMED = "named"
LITERAL = "literal"


@dataclass(frozen=True)
class Slot:
    """Where an argument's value comes from: a literal, the n-th ``?``, or ``@name``."""

    kind: str
    value: Any


@dataclass(frozen=True)
class CallTemplate:
    """``EXEC procedure [name =] value, ...`` with its values still as slots."""

    procedure: str
    args: tuple[tuple[str | None, Slot], ...]
    qmarks: int


@dataclass(frozen=True)
class SelectTemplate:
    """A ``SELECT`` (served from system tables); ``tables`` are the names it reads."""

    ast: exp.Select
    tables: tuple[str, ...]
    qmarks: int


@dataclass(frozen=True)
class Call:
    """A procedure call with every value bound: (input name or None if positional, value)."""

    procedure: str
    args: tuple[tuple[str | None, Any], ...]


def parse(text: str) -> CallTemplate | SelectTemplate:
    """Parse one statement; repeated texts come from a bounded cache."""
    if not isinstance(text, str):
        raise ProgrammingError(f"The statement must be a str, not {type(text).__name__}.")
    return _parse_cached(text)


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def _parse_cached(text: str) -> CallTemplate | SelectTemplate:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    try:
        statements = [s for s in sqlglot.parse(text, read="tsql") if s is not None]
    except ParseError as exc:
        raise ProgrammingError(_describe_parse_error(exc)) from exc
    except (TokenError, RecursionError, ValueError) as exc:
        raise ProgrammingError(f"Cannot read the statement: {exc}") from exc
    if not statements:
        raise ProgrammingError("The statement is empty; write EXEC <procedure> ...")
    if len(statements) > 1:
        raise ProgrammingError(
            f"{len(statements)} statements were given; execute() runs one statement at a time.")
    tree = statements[0]
    if isinstance(tree, exp.Execute):
        return _call_template(tree)
    if isinstance(tree, exp.Select):
        tables = tuple(t.name for t in tree.find_all(exp.Table))
        return SelectTemplate(tree, tables, len(list(tree.find_all(exp.Placeholder))))
    kind = tree.key.upper() if not isinstance(tree, exp.Command) else str(tree.this).upper()
    raise NotSupportedError(
        f"{kind} statements are not supported. Run EXEC/EXECUTE <procedure> [Input = value, ...] "
        "or SELECT from the system tables sys_procedures and sys_procedureparameters.")


def _describe_parse_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None) or []
    if errors:
        first = errors[0]
        near = (first.get("highlight") or "").strip()
        where = f"line {first.get('line')}, column {first.get('col')}"
        near_text = f" near {near!r}" if near else ""
        return f"Syntax error at {where}{near_text}: {first.get('description')}."
    return f"Syntax error: {exc}"


def _call_template(tree: exp.Execute) -> CallTemplate:
    from sqlglot import exp

    target = tree.this
    if not isinstance(target, exp.Table) or not target.name:
        raise ProgrammingError("EXEC must be followed by a procedure name.")
    if target.args.get("db") or target.args.get("catalog"):
        raise ProgrammingError(
            f"Procedure names take no schema prefix: write EXEC {target.name} ...")
    args: list[tuple[str | None, Slot]] = []
    qmarks = 0
    seen_named = False
    for item in tree.expressions:
        name: str | None = None
        value_node = item
        if isinstance(item, exp.EQ):
            name = _argument_name(item.this)
            value_node = item.expression
            seen_named = True
        elif seen_named:
            raise ProgrammingError(
                "A positional value follows a named input; put positional values first.")
        slot = _slot(value_node, name, qmarks)
        if slot.kind == QMARK:
            qmarks += 1
        args.append((name, slot))
    return CallTemplate(target.name, tuple(args), qmarks)


def _argument_name(node: exp.Expression) -> str:
    from sqlglot import exp

    if isinstance(node, exp.Parameter):
        return node.name
    if isinstance(node, exp.Column) and not node.table:
        return node.name
    raise ProgrammingError(
        f"{node.sql(dialect='tsql')!r} is not an input name; write InputName = value.")


def _slot(node: exp.Expression, name: str | None, position: int) -> Slot:
    from sqlglot import exp

    label = name or f"value {position + 1}"
    if isinstance(node, exp.Placeholder):
        if node.name and node.name != "?":
            return Slot(NAMED, node.name)
        return Slot(QMARK, position)
    if isinstance(node, exp.Parameter):
        return Slot(NAMED, node.name)
    if isinstance(node, exp.Null):
        return Slot(LITERAL, None)
    if isinstance(node, exp.Boolean):
        return Slot(LITERAL, bool(node.this))
    if isinstance(node, exp.Literal):
        return Slot(LITERAL, node.this if node.is_string else _number(node.this))
    if isinstance(node, exp.National):
        return Slot(LITERAL, node.this)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) \
            and not node.this.is_string:
        return Slot(LITERAL, -_number(node.this.this))
    raise ProgrammingError(
        f"The value of {label} must be a literal, ? or @name, not "
        f"{node.sql(dialect='tsql')!r}.")


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _named_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).lstrip("@:").lower(): v for k, v in params.items()}


def _check_params(params: Any, qmarks: int, named: list[str]) -> dict[str, Any] | Sequence[Any]:
    if params is None:
        params = ()
    if isinstance(params, Mapping):
        if qmarks:
            raise ProgrammingError(
                f"The statement has {qmarks} ? placeholder(s) but the parameters are a mapping; "
                "pass a sequence, or use @name placeholders.")
        values = _named_params(params)
        missing = [n for n in named if n.lower() not in values]
        if missing:
            raise ProgrammingError(
                "No parameter given for " + ", ".join("@" + n for n in missing) + ".")
        return values
    if isinstance(params, str | bytes) or not isinstance(params, Sequence):
        raise ProgrammingError(
            "Parameters must be a sequence (for ?) or a mapping (for @name), not "
            f"{type(params).__name__}.")
    if named:
        raise ProgrammingError(
            "No parameter given for " + ", ".join("@" + n for n in named)
            + "; pass a mapping of names to values.")
    if len(params) != qmarks:
        raise ProgrammingError(
            f"The statement has {qmarks} ? placeholder(s) but {len(params)} parameter(s) "
            "were given.")
    return params


def bind_call(template: CallTemplate, params: Any = None) -> Call:
    """Fill the template's slots from ``params`` (a sequence for ?, a mapping for @name)."""
    named = [slot.value for _, slot in template.args if slot.kind == NAMED]
    values = _check_params(params, template.qmarks, named)
    bound: list[tuple[str | None, Any]] = []
    for name, slot in template.args:
        if slot.kind == LITERAL:
            value = slot.value
        elif slot.kind == QMARK:
            value = values[slot.value]
        else:
            value = values[slot.value.lower()]
        bound.append((name, value))
    return Call(template.procedure, tuple(bound))


def bind_select(template: SelectTemplate, params: Any = None) -> exp.Select:
    """A copy of the SELECT with its ``?`` placeholders replaced by literal values."""
    from sqlglot import exp

    values = _check_params(params, template.qmarks, [])
    if not template.qmarks:
        return template.ast
    ast = template.ast.copy()
    return exp.replace_placeholders(ast, *values)  # type: ignore[return-value]
