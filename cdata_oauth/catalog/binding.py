"""Binds a procedure call's inputs: EXEC values, then connection properties, then the
script's ``api:set`` lines, then declared defaults; then checks and converts them.
"""

from __future__ import annotations

import datetime
import decimal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

from cdata_oauth.catalog.model import Script, ScriptInput
from cdata_oauth.config.inputs import Inputs
from cdata_oauth.config.properties import REGISTRY, ConnectionProperties, PropertySpec
from cdata_oauth.conversions import BOOL_WORDS, parse_bool
from cdata_oauth.exceptions import DataError, ProgrammingError
from cdata_oauth.names import did_you_mean
from cdata_oauth.redaction import is_secret_name, mask

__all__ = ["Args", "Binder"]


Args = tuple[tuple[str | None, Any], ...]
"""A call's values: (input name or None for positional, value), in the order given."""


class Binder:
    """Binds calls against one connection's properties.

    What a script and the properties contribute is merged and converted once per script
    (see ``_merge``) and kept here, bounded; a call then only adds its EXEC values.
    """

    def __init__(self, properties: ConnectionProperties) -> None:
        self.properties = properties
        self._bases: dict[str, tuple[Script, _Base]] = {}
        self._lock = threading.Lock()

    def bind(self, script: Script, args: Args, reusable: bool = False) -> Inputs:
        """The inputs of one call, merged by precedence, validated and converted.

        ``reusable`` calls (literal-only statements, parsed once) keep their bound inputs,
        so the same statement again costs one lookup. They are kept by their args and
        checked by identity: a cached statement hands over the same args object each time,
        and an equal one may differ in type (``Count=1`` and ``Count=TRUE``)."""
        base = self._base(script)
        if reusable:
            known = base.calls.get(args)
            if known is not None and known[0] is args:
                return known[1]
        inputs = _bind(script, args, base, self.properties)
        if reusable:
            with self._lock:
                if len(base.calls) >= CALLS_PER_BASE:
                    base.calls.clear()
                base.calls[args] = (args, inputs)
        return inputs

    def _base(self, script: Script) -> _Base:
        key = script.name.lower()
        hit = self._bases.get(key)
        if hit is not None and hit[0] is script:
            return hit[1]
        base = _merge(script, self.properties)
        with self._lock:
            while len(self._bases) >= BASE_CACHE_SIZE:
                del self._bases[next(iter(self._bases))]
            self._bases[key] = (script, base)
        return base


def _bind(script: Script, args: Args, base: _Base, properties: ConnectionProperties
          ) -> Inputs:
    given: list[tuple[str, _Given, Any]] = []  # (folded, how it binds, value as given)
    folded_given: set[str] = set()
    targets, nulls = base.targets, False
    for position, (name, value) in enumerate(args):
        target = targets.get(position if name is None else name) \
            or base.target(script, name, position, args)
        key = target.key
        if key in folded_given:
            raise ProgrammingError(
                f"Input {target.name} of {script.name} is given twice; give it once.")
        folded_given.add(key)
        if value is None:  # NULL means "not given": lower precedence applies
            nulls = True
        else:
            given.append((key, target, value))
    if nulls:
        folded_given = {key for key, _, _ in given}
    if (base.missing or base.required) and (
            any(k not in folded_given for k in base.missing)
            or any(value == "" for key, _, value in given if key in base.required)):
        raw = dict(base.raw)
        for _, target, _ in given:
            raw = {k: v for k, v in raw.items() if k.lower() != target.key}
        _check_required(script, {**raw, **{t.name: v for _, t, v in given}}, properties)
    for key in base.unconverted:
        if key not in folded_given:
            name, value = base.values[key]
            _convert(script, name, value, base.secret_names)  # raises, as it did in _base
    values = dict(base.values)
    for key, target, value in given:  # same order and spelling as put() in _base gives
        values.pop(key, None)
        values[key] = (target.name, target.convert(value))
    return Inputs.from_folded(values, base.secret_names,
                              base.defaulted - folded_given if given else base.defaulted)


BASE_CACHE_SIZE = 64
"""Scripts whose merged inputs a connection keeps; a connection uses a few."""
CALLS_PER_BASE = 32
"""Literal-only calls (cached statement texts) whose bound inputs each pair keeps."""
TARGETS_PER_BASE = 256
"""Input names (as written in EXEC statements) whose resolution each pair keeps."""


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
    calls: dict[Args, tuple[Args, Inputs]] = field(default_factory=dict)  # see bind()
    targets: dict[str | int, _Given] = field(default_factory=dict)  # by name or position

    def target(self, script: Script, name: str | None, position: int, args: Args) -> _Given:
        """The input an EXEC value gives and how its value converts, worked out once per
        name (or position) as written: a new statement then looks each value up once."""
        key: str | int = position if name is None else name
        found = self.targets.get(key)
        if found is None:
            found = _target(script, name, position, args, self.secret_names)
            if len(self.targets) >= TARGETS_PER_BASE:
                self.targets.clear()
            self.targets[key] = found
        return found


def _merge(script: Script, properties: ConnectionProperties) -> _Base:
    """Declared defaults, then script sets, then properties; converted where they can be."""
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
    return _Base(converted, tuple(values.items()), tuple(unconverted), frozenset(defaulted),
                 secret_names, required, tuple(sorted(required - present)))


class _Given(NamedTuple):
    """Where an EXEC value goes: the input's folded and declared name, and its converter."""

    key: str
    name: str
    convert: Callable[[Any], Any]


def _target(script: Script, name: str | None, position: int, args: Args,
            secret_names: frozenset[str]) -> _Given:
    """The input an EXEC value gives (positional values take declared order)."""
    if name is None:
        positional_inputs = script.positional_inputs
        if position >= len(positional_inputs):
            raise ProgrammingError(
                f"{script.name} takes at most {len(positional_inputs)} positional values; "
                f"{sum(1 for n, _ in args if n is None)} were given; name the others "
                "(Input = value).")
        declared = positional_inputs[position]
        declared_name = declared.name
    else:
        found = script.find_input(name)
        if found is None:
            raise ProgrammingError(_unknown_input(script, name))
        declared = found
        declared_name = declared.name if not declared.prefix else \
            declared.prefix + name[len(declared.prefix):]
    return _Given(declared_name.lower(), declared_name,
                  _converter(script, declared_name, declared, secret_names))


def _converter(script: Script, name: str, declared: ScriptInput,
               secret_names: frozenset[str]) -> Callable[[Any], Any]:
    """How a value given for ``declared`` converts, decided once per input. The usual
    values (a text, one of a values list, a whole number) take a short path; anything
    else, and every error message, goes through ``_convert``."""
    kind = declared.xs_type
    if kind == "string" and not declared.values and name.lower() not in REGISTRY:
        return _as_text  # the usual input: checked first, as every new name comes here
    general = partial(_convert, script, name, secret_names=secret_names, declared=declared)
    if name.lower() in REGISTRY or (declared.values and kind != "string"):
        return general
    if declared.values:
        spellings = {value.upper(): value for value in reversed(declared.values)}

        def one_of(value: Any) -> Any:
            found = spellings.get(value.strip().upper()) if type(value) is str else None
            return found if found is not None else general(value)
        return one_of
    if kind in ("int", "long", "integer"):
        return lambda value: value if type(value) is int else general(value)
    return general


def _as_text(value: Any) -> Any:
    """A text input's value: a number bound to it is its text, as a literal's would be;
    anything else as given."""
    if type(value) is not str and isinstance(value, int | float | decimal.Decimal):
        return str(value)
    return value


def _unknown_input(script: Script, name: str) -> str:
    plain = [i.name for i in script.inputs if not i.prefix]
    families = [i.name.replace("*", "<name>") for i in script.inputs if i.prefix]
    hint = did_you_mean(name, plain)
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


class _Shown:
    """How a value appears in a message: masked when secret. Worked out only when a
    message is written (most values never appear in one)."""

    __slots__ = ("name", "secret_names", "value")

    def __init__(self, name: str, value: Any, secret_names: frozenset[str]) -> None:
        self.name, self.value, self.secret_names = name, value, secret_names

    def __str__(self) -> str:
        secret = self.name.lower() in self.secret_names or is_secret_name(self.name)
        return mask(self.value) if secret else repr(self.value)


_FIND = object()  # "look the input up": _convert's default for ``declared``


def _convert(script: Script, name: str, value: Any, secret_names: frozenset[str],
             declared: Any = _FIND) -> Any:
    if value is None:
        return None
    if declared is _FIND:
        declared = script.find_input(name)
    shown = _Shown(name, value, secret_names)
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
          shown: _Shown, label: str) -> bool | None:
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


def _allowed(script: Script, declared: ScriptInput, value: Any, shown: _Shown) -> str:
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


def _convert_type(script: Script, declared: ScriptInput, value: Any, shown: _Shown) -> Any:
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
    return _as_text(value) if kind == "string" else value
