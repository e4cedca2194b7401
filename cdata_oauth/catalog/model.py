"""What an API Script file declares: a procedure's inputs, outputs, sets and operation."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class ScriptInput:
    """An ``api:info`` input. ``name`` may end in ``:*`` (a family such as OAuthParam:*)."""

    name: str
    description: str = ""
    default: str | None = None
    required: bool = False
    values: tuple[str, ...] = ()
    xs_type: str = "string"
    secret: bool = False

    @cached_property
    def prefix(self) -> str | None:
        """``OAuthParam:`` for ``OAuthParam:*``; None for an ordinary input."""
        return self.name[:-1] if self.name.endswith(":*") else None

    def accepts(self, name: str) -> bool:
        prefix = self.prefix
        if prefix is None:
            return name.lower() == self.name.lower()
        return name.lower().startswith(prefix.lower()) and len(name) > len(prefix)


@dataclass(frozen=True)
class ScriptOutput:
    """An ``api:info`` output: a result column, or a family of them (``OAuthParam:*``)."""

    name: str
    description: str = ""
    xs_type: str = "string"

    @cached_property
    def prefix(self) -> str | None:
        return self.name[:-1] if self.name.endswith(":*") else None


@dataclass(frozen=True)
class Script:
    """A procedure defined by one API Script file."""

    name: str
    description: str
    inputs: tuple[ScriptInput, ...]
    outputs: tuple[ScriptOutput, ...]
    sets: tuple[tuple[str, str], ...]
    operation: str
    source: str = "<builtin>"
    _inputs_by_name: dict[str, ScriptInput] = field(default_factory=dict, compare=False,
                                                    repr=False)
    _wildcard_inputs: tuple[tuple[str, ScriptInput], ...] = field(
        init=False, default=(), compare=False, repr=False)
    """(folded prefix, input) of each family, in declared order."""

    def __post_init__(self) -> None:
        self._inputs_by_name.update({i.name.lower(): i for i in self.inputs if not i.prefix})
        object.__setattr__(self, "_wildcard_inputs", tuple(
            (i.prefix.lower(), i) for i in self.inputs if i.prefix))

    def find_input(self, name: str) -> ScriptInput | None:
        """The input that accepts ``name`` (case-insensitive), wildcards last."""
        folded = name.lower()
        found = self._inputs_by_name.get(folded)
        if found is not None:
            return found
        for prefix, family in self._wildcard_inputs:  # as ScriptInput.accepts, said short
            if folded.startswith(prefix) and len(folded) > len(prefix):
                return family
        return None

    @cached_property
    def positional_inputs(self) -> tuple[ScriptInput, ...]:
        """The inputs a positional EXEC value fills, in declared order (no families)."""
        return tuple(i for i in self.inputs if not i.prefix)

    def input_at(self, name: str | None, position: int) -> ScriptInput | None:
        """The input an EXEC value gives: by ``name``, or by ``position`` when unnamed."""
        if name is not None:
            return self.find_input(name)
        positional = self.positional_inputs
        return positional[position] if position < len(positional) else None
