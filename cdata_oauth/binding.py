"""Binds a procedure call's inputs: EXEC values, then connection properties, then the
script's ``api:set`` lines, then declared defaults; then checks and converts them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from typing import Any

from .exceptions import DataError, ProgrammingError
from .properties import REGISTRY, ConnectionProperties
from .redaction import is_secret_name, mask
from .scripts import Script, ScriptInput
from .sql import Call

__all__ = ["Inputs", "bind"]


class Inputs(Mapping[str, Any]):
    """Everything an operation may read, by case-insensitive name.

    Names nobody set fall back to the property registry's default, so an operation can
    ask for ``Timeout`` and get 60 without each caller repeating it.
    """

    __slots__ = ("_secret_names", "_values")

    def __init__(self, values: Mapping[str, Any], secret_names: frozenset[str] = frozenset()):
        self._values: dict[str, tuple[str, Any]] = {k.lower(): (k, v) for k, v in values.items()}
        self._secret_names = secret_names

    def __getitem__(self, name: str) -> Any:
        key = name.lower()
        if key in self._values:
            return self._values[key][1]
        spec = REGISTRY.get(key)
        if spec is not None:
            return spec.default
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (canonical for canonical, _ in self._values.values())

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def family(self, prefix: str) -> dict[str, Any]:
        """The ``prefix:<field>`` values as {field: value}, e.g. family('OAuthParam:')."""
        folded = prefix.lower()
        return {canonical[len(prefix):]: value
                for key, (canonical, value) in self._values.items()
                if key.startswith(folded) and value is not None}

    def is_secret(self, name: str) -> bool:
        return name.lower() in self._secret_names or is_secret_name(name)

    def secrets(self) -> list[Any]:
        """Every secret value held: what error messages and logs must mask."""
        return [value for canonical, value in self._values.values()
                if value not in (None, "") and self.is_secret(canonical)]

    def with_values(self, **changes: Any) -> Inputs:
        values = {canonical: value for canonical, value in self._values.values()}
        for name, value in changes.items():
            values = {k: v for k, v in values.items() if k.lower() != name.lower()}
            values[name] = value
        return Inputs(values, self._secret_names)

    def __repr__(self) -> str:
        shown = ", ".join(f"{c}={mask(v) if self.is_secret(c) else repr(v)}"
                          for c, v in self._values.values())
        return f"Inputs({shown})"


def bind(script: Script, call: Call, properties: ConnectionProperties) -> Inputs:
    """The inputs of one call, merged by precedence, validated and converted."""
    given = _given_arguments(script, call)
    values: dict[str, Any] = {}

    def put(name: str, value: Any) -> None:
        for key in [k for k in values if k.lower() == name.lower()]:
            del values[key]
        values[name] = value

    for declared in script.inputs:
        if declared.default is not None and not declared.prefix:
            put(declared.name, declared.default)
    fixed_by_script = set()
    for attr, value in script.sets:
        put(attr, value)
        if script.find_input(attr) is None:
            fixed_by_script.add(attr.lower())
    for name in properties:
        if name.lower() not in fixed_by_script:
            put(name, properties[name])
    for name, value in given.items():
        put(name, value)

    _check_required(script, values, properties)
    secret_names = frozenset(i.name.lower() for i in script.inputs if i.secret)
    converted = {name: _convert(script, name, value, secret_names)
                 for name, value in values.items()}
    return Inputs(converted, secret_names)


def _given_arguments(script: Script, call: Call) -> dict[str, Any]:
    """The EXEC values by declared name; positional values take declared order."""
    positional_inputs = [i for i in script.inputs if not i.prefix]
    given: dict[str, Any] = {}
    canonical_seen: dict[str, str] = {}
    for position, (name, value) in enumerate(call.args):
        if name is None:
            if position >= len(positional_inputs):
                raise ProgrammingError(
                    f"{script.name} takes at most {len(positional_inputs)} positional values; "
                    f"{sum(1 for n, _ in call.args if n is None)} were given.")
            declared_name = positional_inputs[position].name
        else:
            declared = script.find_input(name)
            if declared is None:
                raise ProgrammingError(_unknown_input(script, name))
            declared_name = declared.name if not declared.prefix else \
                declared.prefix + name[len(declared.prefix):]
        key = declared_name.lower()
        if key in canonical_seen:
            raise ProgrammingError(f"Input {declared_name} of {script.name} is given twice.")
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
    if declared is not None and declared.values:
        folded = str(value).strip().upper()
        match = next((v for v in declared.values if v.upper() == folded), None)
        if match is None:
            raise ProgrammingError(
                f"Input {declared.name} of {script.name} is {shown}; allowed values are "
                f"{', '.join(declared.values)}.")
        value = match
    spec = REGISTRY.get(name.lower())
    if spec is not None:
        value = spec.convert(value, label="Input {name} of " + script.name)
    if declared is not None:
        value = _convert_type(script, declared, value, shown)
    return value


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
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "1", "yes"):
                return True
            if text in ("false", "0", "no"):
                return False
            raise ValueError
        if kind == "datetime":
            if isinstance(value, datetime.datetime):
                return value
            return datetime.datetime.fromisoformat(str(value))
    except (ValueError, TypeError, OverflowError):
        raise DataError(f"Input {declared.name} of {script.name} is {shown}; it must be "
                        f"of type {kind}.") from None
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return value if not isinstance(value, int | float) or kind != "string" else str(value)
