"""Binds a procedure call's inputs: EXEC values, then connection properties, then the
script's ``api:set`` lines, then declared defaults; then checks and converts them.
"""

from __future__ import annotations

import datetime
import decimal
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .conversions import BOOL_WORDS, parse_bool, text_or_none
from .exceptions import DataError, ProgrammingError
from .properties import REGISTRY, ConnectionProperties, DefaultingMapping, PropertySpec
from .redaction import is_secret_name, mask
from .scripts import Script, ScriptInput
from .sql import Call

__all__ = ["Inputs", "bind", "text_or_none"]


class Inputs(DefaultingMapping):
    """Everything an operation may read, by case-insensitive name.

    Names nobody set fall back to the property registry's default, so an operation can
    ask for ``Timeout`` and get 60 without each caller repeating it.
    """

    __slots__ = ("_defaulted", "_families", "_secret_names", "_secret_values")

    def __init__(self, values: Mapping[str, Any], secret_names: frozenset[str] = frozenset(),
                 defaulted: frozenset[str] = frozenset()):
        self._values: dict[str, tuple[str, Any]] = {k.lower(): (k, v) for k, v in values.items()}
        self._secret_names = secret_names
        self._defaulted = defaulted  # lower-case names holding only a declared default

    def family(self, prefix: str) -> dict[str, Any]:
        """The ``prefix:<field>`` values as {field: value}, e.g. family('OAuthParam:');
        worked out once per prefix: an Inputs never changes, and a repeated statement
        reuses its Inputs."""
        families: dict[str, dict[str, Any]] | None = getattr(self, "_families", None)
        if families is None:
            families = {}
            self._families = families
        found = families.get(prefix)
        if found is None:
            folded = prefix.lower()
            found = families[prefix] = {canonical[len(prefix):]: value
                                        for key, (canonical, value) in self._values.items()
                                        if key.startswith(folded) and value is not None}
        return dict(found)

    def given(self, name: str) -> bool:
        """True when the EXEC, a connection property or an ``api:set`` gave ``name``; False
        when it holds only a declared or registry default (e.g. SignMethod's HMAC-SHA1)."""
        key = name.lower()
        return key in self._values and key not in self._defaulted

    def is_secret(self, name: str) -> bool:
        return name.lower() in self._secret_names or is_secret_name(name)

    def secrets(self) -> list[Any]:
        """Every secret value held: what error messages and logs must mask."""
        found: list[Any] | None = getattr(self, "_secret_values", None)
        if found is None:  # computed once: an Inputs never changes
            found = self._secret_values = [
                value for canonical, value in self._values.values()
                if value not in (None, "") and self.is_secret(canonical)]
        return list(found)

    def with_values(self, **changes: Any) -> Inputs:
        values = {canonical: value for canonical, value in self._values.values()}
        for name, value in changes.items():
            values = {k: v for k, v in values.items() if k.lower() != name.lower()}
            values[name] = value
        return Inputs(values, self._secret_names,
                      self._defaulted - {name.lower() for name in changes})

    def __repr__(self) -> str:
        shown = ", ".join(f"{c}={mask(v) if self.is_secret(c) else repr(v)}"
                          for c, v in self._values.values())
        return f"Inputs({shown})"


def bind(script: Script, call: Call, properties: ConnectionProperties) -> Inputs:
    """The inputs of one call, merged by precedence, validated and converted.

    What the script and the connection contribute is merged and converted once per
    (script, properties) pair (see ``_base``); a call then only adds its EXEC values.
    """
    base = _base(script, properties)
    known = base.calls.get(id(call))
    if known is not None and known[0] is call:
        return known[1]  # the same literal-only statement again: same inputs
    given = _given_arguments(script, call)
    values = dict(base.values)
    folded_given = set()
    for name, value in given.items():  # same order and spelling as put() in _base gives
        key = name.lower()
        folded_given.add(key)
        values.pop(key, None)
        values[key] = (name, value)
    if any(k not in folded_given for k in base.missing) or \
            any(values[k][1] == "" for k in folded_given if k in base.required):
        raw = {name: value for name, value in base.raw}
        for name in given:
            raw = {k: v for k, v in raw.items() if k.lower() != name.lower()}
        _check_required(script, {**raw, **given}, properties)
    for key in base.unconverted:
        if key not in folded_given:
            name, value = values[key]
            _convert(script, name, value, base.secret_names)  # raises, as it did in _base
    for name in given:
        key = name.lower()
        values[key] = (name, _convert(script, name, values[key][1], base.secret_names))
    inputs = Inputs.__new__(Inputs)
    inputs._values = values
    inputs._secret_names = base.secret_names
    inputs._defaulted = base.defaulted - folded_given if given else base.defaulted
    if call.reusable:
        with _base_lock:
            if len(base.calls) >= CALLS_PER_BASE:
                base.calls.clear()
            base.calls[id(call)] = (call, inputs)
    return inputs


BASE_CACHE_SIZE = 64
"""(script, properties) pairs whose merged inputs are kept; a connection uses a few."""
CALLS_PER_BASE = 32
"""Literal-only calls (cached statement texts) whose bound inputs each pair keeps."""
_base_cache: dict[tuple[int, int], tuple[Script, ConnectionProperties, _Base]] = {}
_base_lock = threading.Lock()


@dataclass(frozen=True)
class _Base:
    """Declared defaults < script sets < connection properties, merged and converted."""

    values: dict[str, tuple[str, Any]]  # folded -> (canonical, converted value), in order
    raw: tuple[tuple[str, Any], ...]  # (canonical, value as given), for error messages
    unconverted: tuple[str, ...]  # folded names whose value failed to convert
    defaulted: frozenset[str]
    secret_names: frozenset[str]
    required: frozenset[str]  # folded names of required inputs
    missing: tuple[str, ...]  # required inputs the base leaves empty
    calls: dict[int, tuple[Call, Inputs]] = field(default_factory=dict)  # by id(call)


def _base(script: Script, properties: ConnectionProperties) -> _Base:
    """The cached merge for this script and property set (both immutable, keyed by id)."""
    key = (id(script), id(properties))
    hit = _base_cache.get(key)
    if hit is not None and hit[0] is script and hit[1] is properties:
        return hit[2]
    values: dict[str, Any] = {}

    def put(name: str, value: Any) -> None:
        for key in [k for k in values if k.lower() == name.lower()]:
            del values[key]
        values[name] = value
        defaulted.discard(name.lower())

    defaulted: set[str] = set()
    for declared in script.inputs:
        if declared.default is not None and not declared.prefix:
            put(declared.name, declared.default)
            defaulted.add(declared.name.lower())
    fixed_by_script = set()
    for attr, value in script.sets:
        put(attr, value)
        if script.find_input(attr) is None:
            fixed_by_script.add(attr.lower())
    for name in properties:
        if name.lower() not in fixed_by_script:
            put(name, properties[name])

    secret_names = frozenset(i.name.lower() for i in script.inputs if i.secret)
    converted: dict[str, tuple[str, Any]] = {}
    unconverted = []
    for name, value in values.items():
        try:
            converted[name.lower()] = (name, _convert(script, name, value, secret_names))
        except (ProgrammingError, DataError):  # raised by bind() unless an EXEC value
            converted[name.lower()] = (name, value)  # replaces it
            unconverted.append(name.lower())
    required = frozenset(i.name.lower() for i in script.inputs
                         if i.required and not i.prefix)
    present = {k.lower() for k, v in values.items() if v not in (None, "")}
    base = _Base(converted, tuple(values.items()), tuple(unconverted), frozenset(defaulted),
                 secret_names, required, tuple(sorted(required - present)))
    with _base_lock:
        while len(_base_cache) >= BASE_CACHE_SIZE:
            del _base_cache[next(iter(_base_cache))]
        _base_cache[key] = (script, properties, base)
    return base


def _given_arguments(script: Script, call: Call) -> dict[str, Any]:
    """The EXEC values by declared name; positional values take declared order."""
    positional_inputs = [i for i in script.inputs if not i.prefix] \
        if any(name is None for name, _ in call.args) else []
    given: dict[str, Any] = {}
    canonical_seen: dict[str, str] = {}
    for position, (name, value) in enumerate(call.args):
        if name is None:
            if position >= len(positional_inputs):
                raise ProgrammingError(
                    f"{script.name} takes at most {len(positional_inputs)} positional values; "
                    f"{sum(1 for n, _ in call.args if n is None)} were given; name the others "
                    "(Input = value).")
            declared_name = positional_inputs[position].name
        else:
            declared = script.find_input(name)
            if declared is None:
                raise ProgrammingError(_unknown_input(script, name))
            declared_name = declared.name if not declared.prefix else \
                declared.prefix + name[len(declared.prefix):]
        key = declared_name.lower()
        if key in canonical_seen:
            raise ProgrammingError(
                f"Input {declared_name} of {script.name} is given twice; give it once.")
        canonical_seen[key] = declared_name
        if value is not None:  # NULL means "not given": lower precedence applies
            given[declared_name] = value
    return given


def _unknown_input(script: Script, name: str) -> str:
    import difflib

    plain = [i.name for i in script.inputs if not i.prefix]
    families = [i.name.replace("*", "<name>") for i in script.inputs if i.prefix]
    close = difflib.get_close_matches(name.lower(), [p.lower() for p in plain], n=1)
    hint = ""
    if close:
        hint = " Did you mean " + next(p for p in plain if p.lower() == close[0]) + "?"
    accepted = ", ".join(plain + families) or "no inputs"
    return f"{script.name} has no input {name!r}.{hint} It accepts: {accepted}."


def _check_required(script: Script, values: Mapping[str, Any],
                    properties: ConnectionProperties) -> None:
    present = {k.lower() for k, v in values.items() if v not in (None, "")}
    missing = [i for i in script.inputs
               if i.required and not i.prefix and i.name.lower() not in present]
    if not missing:
        return
    parts = []
    for declared in missing:
        if declared.name.lower() in REGISTRY:
            parts.append(f"{declared.name} (give it in the EXEC statement or set the "
                         f"connection property {REGISTRY[declared.name.lower()].name})")
        else:
            parts.append(f"{declared.name} (give it in the EXEC statement)")
    raise ProgrammingError(f"{script.name} needs " + "; ".join(parts) + ".")


def _convert(script: Script, name: str, value: Any, secret_names: frozenset[str]) -> Any:
    if value is None:
        return None
    declared = script.find_input(name)
    secret = name.lower() in secret_names or is_secret_name(name)
    shown = mask(value) if secret else repr(value)
    spec = REGISTRY.get(name.lower())
    label = "Input {name} of " + script.name
    flag = _flag(script, declared, spec, value, shown, label)
    if flag is not None:  # a flag stays a bool: str(False) would be "False", which is truthy
        return flag
    if declared is not None and declared.values:
        value = _allowed(script, declared, value, shown)
    if spec is not None:
        value = spec.convert(value, label=label)
    if declared is not None:
        value = _convert_type(script, declared, value, shown)
    return value


def _flag(script: Script, declared: ScriptInput | None, spec: PropertySpec | None, value: Any,
          shown: str, label: str) -> bool | None:
    """The bool of a flag input (a TRUE/FALSE property, or xs:type="boolean"), read with the
    shared truth words before any values="TRUE,FALSE" list, so that ON is TRUE there too;
    None for any other input."""
    if spec is not None and spec.kind == "bool":
        flag = bool(spec.convert(value, label=label))
    elif spec is None and declared is not None and declared.xs_type == "boolean":
        flag = bool(_convert_type(script, declared, value, shown))
    else:
        return None
    if declared is not None and declared.values:
        _allowed(script, declared, "TRUE" if flag else "FALSE", shown)
    return flag


def _allowed(script: Script, declared: ScriptInput, value: Any, shown: str) -> str:
    """The declared value (in its spelling) that ``value`` names, ignoring case."""
    folded = str(value).strip().upper()
    match = next((v for v in declared.values if v.upper() == folded), None)
    if match is None:
        raise ProgrammingError(
            f"Input {declared.name} of {script.name} is {shown}; allowed values are "
            f"{', '.join(declared.values)}.")
    return match


_TYPE_HINTS = {
    "int": "a whole number", "long": "a whole number", "integer": "a whole number",
    "double": "a number", "boolean": BOOL_WORDS + " (any case)",
    "datetime": "an ISO 8601 date and time such as 2024-01-31T12:00:00",
}


def _convert_type(script: Script, declared: ScriptInput, value: Any, shown: str) -> Any:
    kind = declared.xs_type
    try:
        if kind in ("int", "long", "integer"):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(str(value).strip()) if not isinstance(value, int | float) else int(value)
        if kind == "double":
            return float(value)
        if kind == "boolean":
            flag = parse_bool(value)
            if flag is None:
                raise ValueError
            return flag
        if kind == "datetime":
            if isinstance(value, datetime.datetime):
                return value
            return datetime.datetime.fromisoformat(str(value))
    except (ValueError, TypeError, OverflowError):
        raise DataError(f"Input {declared.name} of {script.name} is {shown}; it must be "
                        f"of type {kind}: pass {_TYPE_HINTS.get(kind, 'a ' + kind)}.") from None
    if kind == "string" and isinstance(value, int | float | decimal.Decimal):
        return str(value)  # a number bound to a text input is its text, as a literal's
    return value
