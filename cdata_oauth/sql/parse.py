"""SQL text -> a statement template, parsed once by sqlglot (T-SQL) and cached.

A template keeps placeholders as slots; ``bind_call`` fills them from the caller's
parameters, so values never pass through SQL text and cannot change the statement.
This module knows nothing of OAuth or procedures.
"""

from __future__ import annotations

import datetime
import decimal
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import sqlglot.dialects.tsql  # noqa: F401  (registers T-SQL at import, under the import lock)
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token, TokenType

from cdata_oauth.conversions import PLAIN_TYPES, SCALAR_NAMES, plain_scalar
from cdata_oauth.exceptions import DataError, NotSupportedError, ProgrammingError
from cdata_oauth.redaction import mask

if TYPE_CHECKING:
    from sqlglot.parser import Parser
    from sqlglot.tokens import Tokenizer

__all__ = ["Call", "CallTemplate", "SelectTemplate", "bind_call", "bind_select",
           "check_parameter", "parse"]

PARSE_CACHE_SIZE = 512

QMARK = "qmark"
NAMED = "named"
LITERAL = "literal"


class Slot(NamedTuple):
    """Where an argument's value comes from: a literal, the n-th ``?``, or ``@name``."""

    kind: str
    value: Any


def _literal(value: Any) -> Slot:
    """Slot(LITERAL, value), made without NamedTuple's Python-level ``__new__``: a new
    statement makes one per value."""
    return tuple.__new__(Slot, (LITERAL, value))


class CallTemplate(NamedTuple):
    """``EXEC procedure [name =] value, ...`` with its values still as slots. (A NamedTuple,
    as Call: one is made per new statement, and a frozen dataclass costs several times as
    much to make.)"""

    procedure: str
    args: tuple[tuple[str | None, Slot], ...]
    qmarks: int
    literal_call: Call | None = None
    """The bound call when every value is a literal: nothing to bind per execution."""

    def __repr__(self) -> str:
        return _shown_call("CallTemplate", self.procedure, self.args)


def _template(procedure: str, args: tuple[tuple[str | None, Slot], ...], qmarks: int,
              literals: list[tuple[str | None, Any]] | None = None) -> CallTemplate:
    """A template, with its bound call when every value is a literal (``literals``: the
    literal (name, value) pairs, when the caller has them already)."""
    call = None
    if literals is None:
        literals = [(name, value) for name, (kind, value) in args if kind == LITERAL]
    if len(literals) == len(args):
        call = tuple.__new__(Call, (procedure, tuple(literals), True))  # Call(..., True)
    return tuple.__new__(CallTemplate, (procedure, args, qmarks, call))


@dataclass(frozen=True)
class SelectTemplate:
    """A ``SELECT`` (served from system tables); ``tables`` are the names it reads."""

    ast: exp.Select
    tables: tuple[str, ...]
    qmarks: int


class Call(NamedTuple):
    """A procedure call with every value bound: (input name or None if positional, value)."""

    procedure: str
    args: tuple[tuple[str | None, Any], ...]
    reusable: bool = False
    """True for a cached template's literal-only call: binding may remember its inputs."""

    def __repr__(self) -> str:
        return _shown_call("Call", self.procedure, self.args)


def _shown_call(kind: str, procedure: str, args: tuple[tuple[str | None, Any], ...]) -> str:
    """A call for a repr: the input names, each value masked (any of them may be a secret)."""
    shown = ", ".join(f"{name or '?'}={mask(value)}" for name, value in args)
    return f"<{kind} {procedure}({shown})>"


def parse(text: str) -> CallTemplate | SelectTemplate:
    """Parse one statement; repeated texts come from a bounded cache."""
    if not isinstance(text, str):
        raise ProgrammingError(
            f"The statement must be a str, not {type(text).__name__}; pass the SQL text.")
    return _parse_cached(text)


_load_lock = threading.Lock()
_local = threading.local()
_TOKEN_TYPE = attrgetter("token_type")
_TOKEN_TEXT = attrgetter("text")
_LITERAL_TYPES = frozenset((TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.NUMBER))
"""Strings and numbers: the values of a shape."""
_REWRITTEN_TYPES = frozenset((TokenType.PLACEHOLDER, TokenType.COLON))
"""What _normalise_tokens may rewrite."""
_number_dash = (TokenType.NUMBER, TokenType.DASH)
_EQ, _COLUMN, _IDENTIFIER, _LITERAL = exp.EQ, exp.Column, exp.Identifier, exp.Literal


@lru_cache(maxsize=1)
def _tsql() -> Any:
    """sqlglot's T-SQL dialect, looked up once under a lock (threads racing on sqlglot's
    first dialect lookup were handed a dialect that cannot parse EXEC)."""
    with _load_lock:
        return Dialect.get_or_raise("tsql")


def _engine() -> tuple[Tokenizer, Parser]:
    """This thread's T-SQL tokenizer and parser. Both reset themselves on every use, so one
    pair serves a thread's statements; building them per statement cost 8% of a parse."""
    engine: tuple[Tokenizer, Parser] | None = getattr(_local, "engine", None)
    if engine is None:
        dialect = _tsql()
        engine = _local.engine = (dialect.tokenizer(), dialect.parser())
    return engine


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def _parse_cached(text: str) -> CallTemplate | SelectTemplate:
    tokenizer, parser = _engine()  # first: sqlglot's first load happens under a lock
    try:
        tokens, types = _normalise_tokens(tokenizer.tokenize(text))
        shape = _shape(tokens, types)
        shaped = _from_shape(tokens, shape)
        if shaped is not None:
            return shaped
        statements = _statements(parser.parse(tokens, text))
    except ParseError as exc:
        # from None: sqlglot's own message quotes the statement, values (secrets?) and all,
        # and a chained cause is printed by every traceback and logger.exception
        raise ProgrammingError(_describe_parse_error(exc, text)) from None
    except (TokenError, RecursionError, ValueError):
        raise ProgrammingError(_describe_token_error(text)) from None
    if not statements:
        raise ProgrammingError("The statement is empty; write EXEC <procedure> ...")
    if len(statements) > 1:
        raise ProgrammingError(
            f"{len(statements)} statements were given; execute() runs one statement at a time: "
            "run each with its own execute() call.")
    tree = statements[0]
    if isinstance(tree, exp.Execute):
        template = _call_template(tree)
        _remember_shape(tokens, shape, template)
        return template
    if isinstance(tree, exp.Select):
        tables = tuple(t.name for t in tree.find_all(exp.Table))
        qmarks = sum(1 for p in tree.find_all(exp.Parameter) if _qmark_index(p) is not None)
        return SelectTemplate(tree, tables, qmarks)
    kind = tree.key.upper() if not isinstance(tree, exp.Command) else str(tree.this).upper()
    raise NotSupportedError(
        f"{kind} statements are not supported. Run EXEC/EXECUTE <procedure> [Input = value, ...] "
        "or SELECT from the system tables sys_procedures and sys_procedureparameters.")


def _statements(parsed: list[exp.Expr | None]) -> list[exp.Expr]:
    """The statements sqlglot found, less the empty ones: ``;;`` gives None, and a comment
    after a ``;`` (``EXEC X; -- done``) a Semicolon node that holds only the comment."""
    return [s for s in parsed if s is not None and not isinstance(s, exp.Semicolon)]


_QMARK = "?"  # a Var named "?<n>" cannot come from user text: "?" is its own token


def _normalise_tokens(tokens: list[Token]) -> tuple[list[Token], tuple[TokenType, ...]]:
    """Rewrite sqlglot tokens before parsing, so that the tree keeps what the text said;
    returns the tokens and their types.

    - each ``?`` becomes the parameter ``@?<n>``, numbered in text order (sqlglot's own
      Placeholder nodes carry no position, and LIMIT comes before WHERE in its tree);
    - ``OAuthParam:prompt`` written without brackets becomes one identifier, as
      ``[OAuthParam:prompt]`` would be.
    """
    types = tuple(map(_TOKEN_TYPE, tokens))
    if _REWRITTEN_TYPES.isdisjoint(types):
        return tokens, types  # nothing to rewrite (the common case): skip the copy
    out: list[Token] = []
    count = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.token_type == TokenType.PLACEHOLDER and token.text == "?":
            out.append(Token(TokenType.PARAMETER, "@", token.line, token.col, token.start,
                             token.start, token.comments))
            out.append(Token(TokenType.VAR, f"{_QMARK}{count}", token.line, token.col,
                             token.start, token.end))
            count += 1
            i += 1
            continue
        if (token.token_type == TokenType.VAR and i + 2 < len(tokens)
                and tokens[i + 1].token_type == TokenType.COLON
                and tokens[i + 2].token_type == TokenType.VAR
                and tokens[i + 1].start == token.end + 1
                and tokens[i + 2].start == tokens[i + 1].end + 1):
            last = tokens[i + 2]
            out.append(Token(TokenType.IDENTIFIER, f"{token.text}:{last.text}", token.line,
                             token.col, token.start, last.end, token.comments))
            i += 3
            continue
        out.append(token)
        i += 1
    return out, tuple(map(_TOKEN_TYPE, out))


def _qmark_index(node: exp.Expression) -> int | None:
    """n for the parameter that stands for the n-th ``?`` of the text, else None."""
    name = node.name
    if name.startswith(_QMARK) and name[1:].isdigit():
        return int(name[1:])
    return None


_SHAPES = ("Write EXEC <procedure> [Input = value, ...] or SELECT ... FROM sys_procedures "
           "(or sys_procedureparameters).")


def _describe_parse_error(exc: Exception, text: str) -> str:
    """sqlglot's line and column, and the token there unless it is a value (a secret?)."""

    errors = getattr(exc, "errors", None) or []
    if not errors:
        return f"Syntax error. {_SHAPES}"
    first = errors[0]
    line, col = first.get("line"), first.get("col")
    near = (first.get("highlight") or "").strip()
    if near:
        near = _described(_token_type_at(text, line, col), near)
    description = re.sub(r" for <class '[^']*'>", "", str(first.get("description") or ""))
    description = _TOKEN_REPR.sub(_described_token_repr, description)
    near_text = f" near {near}" if near else ""
    return f"Syntax error at line {line}, column {col}{near_text}: {description}. {_SHAPES}"


_VALUE_WORDS = {**{t: "a quoted value" for t in TokenType if t.name.endswith("STRING")},
                TokenType.NUMBER: "a number", TokenType.IDENTIFIER: "a quoted name",
                TokenType.SENTINEL: "the end of the statement"}
"""Tokens a message names by kind only: a value, or a name in quotes or brackets (often a
value given in the wrong quotes), may be a secret."""
_TOKEN_REPR = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: \d+, "
                         r"col: \d+, start: \d+, end: \d+, comments: \[.*\]>")
"""sqlglot's repr of a token in its descriptions ("... but got <Token ...>")."""


def _described(token_type: TokenType | None, text: str) -> str:
    if token_type is None:  # the tokens cannot be told apart: stay cautious
        return "a value"
    return _VALUE_WORDS.get(token_type) or repr(text)


def _described_token_repr(match: re.Match[str]) -> str:
    return _described(getattr(TokenType, match.group(1), None), match.group(2))


def _token_type_at(text: str, line: Any, col: Any) -> TokenType | None:
    try:
        tokens = _engine()[0].tokenize(text)
    except Exception:  # the parse error is being reported already; stay cautious
        return None
    found = [t.token_type for t in tokens if t.line == line and t.col == col]
    return found[0] if found else None


_CLOSERS = {"'": "'", '"': '"', "[": "]"}


def _describe_token_error(text: str) -> str:
    """Where a quote, bracket or comment opens and never closes (sqlglot cannot say)."""
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        opener = "/*" if text.startswith("/*", i) else char if char in _CLOSERS else None
        if opener is None:
            i += 1
            continue
        closer = "*/" if opener == "/*" else _CLOSERS[opener]
        j = i + len(opener)
        while True:
            j = text.find(closer, j)
            if j >= 0 and closer != "*/" and text.startswith(closer * 2, j):
                j += 2  # a doubled quote or bracket is a literal one
                continue
            break
        if j < 0:
            line = text.count("\n", 0, i) + 1
            column = i - (text.rfind("\n", 0, i) + 1) + 1
            what = "comment" if opener == "/*" else "quote" if opener != "[" else "bracket"
            hint = " (a quote inside a value is written twice: 'it''s')" \
                if opener in "'\"" else ""
            return (f"Cannot read the statement: the {opener} {what} at line {line}, column "
                    f"{column} is never closed; close it{hint}.")
        i = j + len(closer)
    return f"Cannot read the statement; check its quotes and brackets. {_SHAPES}"


def _call_template(tree: exp.Execute) -> CallTemplate:
    target = tree.args.get("this")
    identifier = target.args.get("this") if isinstance(target, exp.Table) else None
    procedure = identifier.args["this"] if type(identifier) is _IDENTIFIER \
        else target.name if isinstance(target, exp.Table) else ""
    if not procedure or not isinstance(target, exp.Table):
        raise ProgrammingError("EXEC must be followed by a procedure name.")
    if target.args.get("db") or target.args.get("catalog"):
        raise ProgrammingError(
            f"Procedure names take no schema prefix: write EXEC {procedure} ...")
    args: list[tuple[str | None, Slot]] = []
    literals: list[tuple[str | None, Any]] = []
    qmarks = 0
    seen_named = False
    for item in tree.args.get("expressions") or ():
        plain = _plain_argument(item)
        if plain is not None:
            args.append((plain[0], _literal(plain[1])))
            literals.append(plain)
            seen_named = True
            continue
        named = type(item) is exp.EQ
        value_node = item.expression if named else item
        if _adjacent_strings(value_node) or (not named and isinstance(item, exp.Alias)):
            raise ProgrammingError(
                "Two values follow each other without a comma between them; separate inputs "
                "with commas: EXEC <procedure> Input = value, Other = value.")
        name: str | None = None
        if named:
            name = _argument_name(item.this)
            seen_named = True
        elif seen_named:
            raise ProgrammingError(
                "A positional value follows a named input; put positional values first.")
        slot = _slot(value_node, name, qmarks)
        if slot.kind == QMARK:
            qmarks += 1
        elif slot.kind == LITERAL:
            literals.append((name, slot.value))
        args.append((name, slot))
    return _template(procedure, tuple(args), qmarks, literals)


SHAPE_CACHE_SIZE = 256
"""EXEC shapes kept: texts that differ only in literal values share one parse."""
_shapes: dict[tuple[Any, ...], tuple[CallTemplate, Any]] = {}
"""shape -> (template, which token gives each literal slot), or (template, the tokens it was
parsed from) until a second text of the shape comes: most shapes are seen once, so the
mapping is worked out when it is first used. A shape that cannot be reused maps to None."""


def _shape(tokens: list[Token], types: tuple[TokenType, ...]) -> tuple[Any, ...]:
    """The tokens' types, and the text of each token but strings and numbers."""
    literal = _LITERAL_TYPES
    return (types, tuple([token.text for token in tokens if token.token_type not in literal]))


def _token_value(tokens: list[Token], index: int) -> Any:
    """The value of a literal token, as _slot reads it from the tree (-n after a DASH)."""
    token = tokens[index]
    if token.token_type is not _number_dash[0]:
        return token.text
    if index > 0 and tokens[index - 1].token_type is _number_dash[1]:
        return -_number(token.text)
    return _number(token.text)


def _remember_shape(tokens: list[Token], shape: tuple[Any, ...], template: CallTemplate) -> None:
    """Keep the template for its shape (see _shapes); a shape already known to be not
    reusable stays so."""
    if len(_shapes) >= SHAPE_CACHE_SIZE:
        _shapes.clear()
    _shapes.setdefault(shape, (template, tokens))


def _literal_mapping(tokens: list[Token], types: tuple[TokenType, ...],
                     template: CallTemplate) -> tuple[tuple[int, int], ...] | None:
    """(slot, token) pairs when each literal slot of the template is one literal token of
    the text it was parsed from, in order (checked value by value); else None."""
    literal_tokens = list(compress(range(len(types)), map(_LITERAL_TYPES.__contains__, types)))
    literal_args = [i for i, (_, slot) in enumerate(template.args) if slot.kind == LITERAL
                    and slot.value is not None and not isinstance(slot.value, bool)]
    if len(literal_tokens) != len(literal_args):
        return None
    for arg, index in zip(literal_args, literal_tokens, strict=True):
        value, expected = _token_value(tokens, index), template.args[arg][1].value
        if value != expected or type(value) is not type(expected):
            return None
    return tuple(zip(literal_args, literal_tokens, strict=True))


def _from_shape(tokens: list[Token], shape: tuple[Any, ...]) -> CallTemplate | None:
    """The template of a known shape, with this text's literal values."""
    known = _shapes.get(shape)
    if known is None:
        return None
    template, mapping = known
    if isinstance(mapping, list):  # the shape's second text: map its first one's literals
        mapping = _literal_mapping(mapping, shape[0], template)
        _shapes[shape] = (template, mapping)
    if mapping is None:
        return None
    args = list(template.args)
    for arg, index in mapping:
        args[arg] = (args[arg][0], _literal(_token_value(tokens, index)))
    return _template(template.procedure, tuple(args), template.qmarks)


def _plain_argument(item: exp.Expression) -> tuple[str, Any] | None:
    """(name, value) of ``Name = 'text'`` or ``Name = 12``, the usual argument, read from the
    nodes' args (sqlglot's ``name``/``this`` properties cost a microsecond each); None for
    anything else, which the general path reads."""
    if type(item) is not _EQ:
        return None
    column, value = item.args.get("this"), item.args.get("expression")
    if type(column) is not _COLUMN or type(value) is not _LITERAL or len(column.args) != 1:
        return None
    identifier = column.args.get("this")
    if type(identifier) is not _IDENTIFIER:
        return None
    text = value.args["this"]
    return identifier.args["this"], text if value.args.get("is_string") else _number(text)


def _adjacent_strings(node: exp.Expression) -> bool:
    """``'a' 'b'``: T-SQL reads two literals in a row as one concatenation."""
    return isinstance(node, exp.Concat) and not node.args.get("safe")


def _argument_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Parameter):
        return node.name
    if isinstance(node, exp.Column) and (node.args.get("table") is None or not node.table):
        return node.name  # (the args test first: ``Column.table`` costs a microsecond)
    raise ProgrammingError(
        f"{_shown(node)} is not an input name; write InputName = value.")


def _slot(node: exp.Expression, name: str | None, position: int) -> Slot:
    if isinstance(node, exp.Literal):  # the common case first; these node types are disjoint
        return Slot(LITERAL, node.this if node.is_string else _number(node.this))
    if isinstance(node, exp.Parameter):
        index = _qmark_index(node)
        if index is not None:
            return Slot(QMARK, index)
        return Slot(NAMED, node.name)
    if isinstance(node, exp.Placeholder):
        if node.name and node.name != "?":
            return Slot(NAMED, node.name)
        return Slot(QMARK, position)
    if isinstance(node, exp.Null):
        return Slot(LITERAL, None)
    if isinstance(node, exp.Boolean):
        return Slot(LITERAL, bool(node.this))
    if isinstance(node, exp.National):
        return Slot(LITERAL, node.this)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) \
            and not node.this.is_string:
        return Slot(LITERAL, -_number(node.this.this))
    subject = f"The value of {name}" if name else f"Value {position + 1}"
    if isinstance(node, exp.Column) and isinstance(node.this, exp.Identifier) \
            and node.this.quoted and not node.table:
        raise ProgrammingError(
            f"{subject} is a name in double quotes or brackets; T-SQL quotes a value with "
            f"single quotes: {name + '=' if name else ''}'...'.")
    if isinstance(node, exp.HexString):
        raise ProgrammingError(
            f"{subject} is a binary literal (0x...); give text in single quotes or a "
            "number.")
    raise ProgrammingError(
        f"{subject} must be a literal, ? or @name, not {_shown(node)}.")


_HIDDEN_VALUES = (exp.National, exp.HexString, exp.BitString, exp.ByteString)


def _shown(node: exp.Expression) -> str:
    """SQL of a node for an error message, its quoted values and quoted names hidden
    (they may be secrets, or a secret given in the wrong quotes)."""
    def hide(n: exp.Expression) -> exp.Expression:
        if (isinstance(n, exp.Literal) and n.is_string) or isinstance(n, _HIDDEN_VALUES):
            return exp.Literal.string("...")
        if isinstance(n, exp.Identifier) and n.quoted:
            return exp.to_identifier("...", quoted=True)
        return n

    return repr(node.transform(hide).sql(dialect="tsql"))


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


_SCALARS = PLAIN_TYPES | {decimal.Decimal, datetime.datetime, datetime.date, datetime.time}
"""The types a parameter value may have as they are (PEP 249's Date, Time and Timestamp
are the datetime types): the fast path's check."""


def check_parameter(value: Any, label: str) -> Any:
    """The value a ``?``/``@name`` parameter (or a callproc value) binds, or an error naming
    the parameter (``label``: "parameter 1" or "@name") and its type, as sqlite3 does."""
    try:
        return plain_scalar(value)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"Error binding {label}: its bytes are not UTF-8 text (at byte {exc.start}); "
            "pass a str, or bytes encoded as UTF-8.") from None
    except TypeError:
        raise ProgrammingError(
            f"Error binding {label}: type {type(value).__name__!r} is not supported; pass "
            f"one of {SCALAR_NAMES}.") from None


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
                "No parameter given for " + ", ".join("@" + n for n in missing)
                + "; add it to the parameters mapping.")
        for n in named:
            values[n.lower()] = check_parameter(values[n.lower()], "@" + n)
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
            "were given; pass one value per ?.")
    if _SCALARS.issuperset(map(type, params)):
        return params  # the common case, checked at C speed: nothing to convert
    return [check_parameter(value, f"parameter {position}")
            for position, value in enumerate(params, 1)]


def bind_call(template: CallTemplate, params: Any = None) -> Call:
    """Fill the template's slots from ``params`` (a sequence for ?, a mapping for @name)."""
    if params is None or (type(params) is tuple and not params):
        literal = template.literal_call
        if literal is not None:
            return literal
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

    values = _check_params(params, template.qmarks, [])
    if not template.qmarks:
        return template.ast
    positional = cast(Sequence[Any], values)

    def fill(node: Any) -> Any:
        index = _qmark_index(node) if isinstance(node, exp.Parameter) else None
        return node if index is None else exp.convert(positional[index])

    return cast(exp.Select, template.ast.transform(fill))
