"""Helpers for the connector-core tests: an echo operation and script files of our own.

The echo operation returns every input it was given, so a test can read back, as a
result row, exactly what binding delivered; it also records each invocation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cdata_oauth.oauth.operations import Invocation, register_operation, unregister_operation

ECHO_OP = "coreTestEcho"
API_NS = "http://apiscript.com/ns?v1"
RSB_NS = "http://www.rssbus.com/ns/rsbscript/2"
XS_NS = "http://www.w3.org/2001/XMLSchema"


class Recorder:
    """An operation that echoes its inputs as outputs and remembers each invocation."""

    def __init__(self) -> None:
        self.calls: list[Invocation] = []

    def __call__(self, invocation: Invocation) -> Mapping[str, Any]:
        self.calls.append(invocation)
        return dict(invocation.inputs)

    @property
    def last(self) -> Invocation:
        assert self.calls, "the operation was never called"
        return self.calls[-1]


@contextmanager
def registered(name: str, operation: Any) -> Iterator[Any]:
    """Register ``operation`` under ``name`` for the duration; a built-in of that name
    comes back afterwards (the registry re-imports built-ins on first use)."""
    register_operation(name, operation)
    try:
        yield operation
    finally:
        unregister_operation(name)


def script_xml(title: str, inputs: str = "", outputs: str = "", sets: str = "",
               op: str = ECHO_OP, ns: str = API_NS, prefix: str = "api") -> str:
    """An API Script document; ``inputs``/``outputs``/``sets`` are raw XML fragments."""
    return (
        f'<{prefix}:script xmlns:{prefix}="{ns}" xmlns:xs="{XS_NS}">\n'
        f'  <{prefix}:info title="{title}" desc="{title} for tests">\n'
        f"{inputs}\n{outputs}\n"
        f"  </{prefix}:info>\n"
        f"{sets}\n"
        f'  <{prefix}:call op="{op}"><{prefix}:push/></{prefix}:call>\n'
        f"</{prefix}:script>\n"
    )


ECHO_INPUTS = """
    <input name="A" desc="first input"/>
    <input name="B" desc="second input" default="b-default"/>
    <input name="N" xs:type="int" desc="a number"/>
    <input name="OAuthParam:*" desc="extra parameters"/>
"""
ECHO_OUTPUTS = """
    <output name="A"/>
    <output name="B"/>
    <output name="N" xs:type="int"/>
    <output name="OAuthParam:*"/>
"""


def write_script(folder: Path, filename: str, text: str) -> Path:
    path = folder / filename
    path.write_text(text, encoding="utf-8")
    return path


def echo_location(folder: Path) -> Path:
    """A Location folder holding ``Echo.rsb`` (inputs A, B, N, OAuthParam:*)."""
    write_script(folder, "Echo.rsb", script_xml("Echo", ECHO_INPUTS, ECHO_OUTPUTS))
    return folder


def row_dict(cursor: Any) -> dict[str, Any]:
    """The cursor's next row as {column: value}."""
    row = cursor.fetchone()
    assert row is not None
    return {d[0]: v for d, v in zip(cursor.description, row, strict=True)}
