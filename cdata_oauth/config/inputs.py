"""A statement's bound inputs: what an operation reads, by case-insensitive name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdata_oauth.config.properties import DefaultingMapping
from cdata_oauth.redaction import is_secret_name, mask

__all__ = ["Inputs"]


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

    @classmethod
    def from_folded(cls, values: dict[str, tuple[str, Any]], secret_names: frozenset[str],
                    defaulted: frozenset[str]) -> Inputs:
        """From values already keyed by folded name, as binding merges them (no copy)."""
        inputs = cls.__new__(cls)
        inputs._values, inputs._secret_names, inputs._defaulted = \
            values, secret_names, defaulted
        return inputs

