"""Procedures the benchmarks call: API Script files in a temporary Location folder whose
operations do (almost) nothing, so a timing measures the connector and not a provider.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cdata_oauth
from cdata_oauth.oauth.operations import Invocation, register_operation, unregister_operation

NOOP_OPERATION = "benchNoop"
ECHO_OPERATION = "benchEcho"

_SCRIPT = """<api:script xmlns:api="http://www.rssbus.com/ns/rsbscript/2"
            xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="{name}" desc="A benchmark procedure.">
    <input name="Name" desc="Any text."/>
    <input name="Count" xs:type="int" desc="Any whole number."/>
    <input name="Flag" values="ON,OFF" default="OFF" desc="An enum."/>
    <input name="OAuthParam:*" desc="Extra fields."/>
    <output name="Result" desc="What the operation returned."/>
    <output name="Count" xs:type="int" desc="The count."/>
    <output name="OAuthParam:*" desc="Extra columns."/>
  </api:info>
  <api:call op="{op}"><api:push/></api:call>
</api:script>
"""

# What a real OAuth 2.0 connection carries; every statement binds them.
TYPICAL_PROPERTIES: dict[str, Any] = {
    "OAuthVersion": "2.0",
    "OAuthClientId": "bench-client",
    "OAuthClientSecret": "bench-secret",
    "OAuthAccessTokenURL": "http://127.0.0.1:9/token",
}


def noop(invocation: Invocation) -> Mapping[str, Any]:
    """Does nothing: the statement's whole cost is the connector's."""
    return {}


def echo(invocation: Invocation) -> Mapping[str, Any]:
    """Returns its extra fields as columns, so results vary with the statement."""
    outputs: dict[str, Any] = {"Result": invocation.inputs.get("Name"),
                               "Count": invocation.inputs.get("Count")}
    for field, value in invocation.inputs.family("OAuthParam:").items():
        outputs["OAuthParam:" + field] = value
    return outputs


@contextmanager
def bench_connection(**properties: Any) -> Iterator[cdata_oauth.Connection]:
    """A connection whose Location holds BenchNoop and BenchEcho; cleaned up on exit."""
    register_operation(NOOP_OPERATION, noop)
    register_operation(ECHO_OPERATION, echo)
    with tempfile.TemporaryDirectory(prefix="cdata-oauth-bench-") as folder:
        for name, op in (("BenchNoop", NOOP_OPERATION), ("BenchEcho", ECHO_OPERATION)):
            (Path(folder) / f"{name}.rsb").write_text(_SCRIPT.format(name=name, op=op))
        merged = {**TYPICAL_PROPERTIES, **properties, "Location": folder}
        connection = cdata_oauth.connect(**merged)
        try:
            yield connection
        finally:
            connection.close()
            unregister_operation(NOOP_OPERATION)
            unregister_operation(ECHO_OPERATION)
