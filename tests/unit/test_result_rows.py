"""Results of several rows: an operation that returns a list of output mappings gives one
row each (each ``api:push`` of an API Script is a row), with fetchone/fetchmany/fetchall,
rowcount and description right; a single mapping stays one row."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import cdata_oauth
from cdata_oauth.oauth import discovery
from cdata_oauth.oauth.operations import Invocation
from tests.core_support import registered, script_xml, write_script

ROWS_OP = "coreTestRows"
OUTPUTS = """
    <output name="Name"/>
    <output name="Size" xs:type="int"/>
    <output name="OAuthParam:*"/>
"""


class Rows:
    """An operation returning whatever ``answer`` holds."""

    def __init__(self) -> None:
        self.answer: Any = []

    def __call__(self, invocation: Invocation) -> Any:
        return self.answer


@pytest.fixture
def rows(tmp_path: Path) -> Iterator[tuple[Rows, cdata_oauth.Connection]]:
    write_script(tmp_path, "Many.rsb", script_xml("Many", outputs=OUTPUTS, op=ROWS_OP))
    with registered(ROWS_OP, Rows()) as operation, \
            cdata_oauth.connect(Location=str(tmp_path)) as conn:
        yield operation, conn


def test_a_list_of_outputs_is_one_row_each_in_order(
        rows: tuple[Rows, cdata_oauth.Connection]) -> None:
    operation, conn = rows
    operation.answer = [{"Name": f"n{i}", "Size": str(i)} for i in range(5)]
    cursor = conn.execute("EXEC Many")
    assert [d[0] for d in cursor.description or ()] == ["Name", "Size"]
    assert cursor.rowcount == 5
    assert cursor.fetchone() == ("n0", 0)
    assert cursor.fetchmany(2) == [("n1", 1), ("n2", 2)]
    cursor.arraysize = 5
    assert cursor.fetchmany() == [("n3", 3), ("n4", 4)]
    assert cursor.fetchall() == [] and cursor.fetchone() is None
    assert list(conn.execute("EXEC Many")) == [(f"n{i}", i) for i in range(5)]


def test_no_rows_keep_the_declared_columns(rows: tuple[Rows, cdata_oauth.Connection]) -> None:
    operation, conn = rows
    operation.answer = []
    cursor = conn.execute("EXEC Many")
    assert cursor.rowcount == 0
    assert [d[0] for d in cursor.description or ()] == ["Name", "Size"]
    assert cursor.fetchone() is None and cursor.fetchall() == []


def test_wildcard_columns_are_the_union_of_every_rows_extras_with_nulls(
        rows: tuple[Rows, cdata_oauth.Connection]) -> None:
    operation, conn = rows
    operation.answer = [{"Name": "a", "OAuthParam:zeta": "z"},
                        {"Name": "b", "OAuthParam:alpha": 1}]
    cursor = conn.execute("EXEC Many")
    assert [d[0] for d in cursor.description or ()] == [
        "Name", "Size", "OAuthParam:alpha", "OAuthParam:zeta"]
    assert cursor.fetchall() == [("a", None, None, "z"), ("b", None, 1, None)]


def test_a_single_mapping_is_still_one_row(rows: tuple[Rows, cdata_oauth.Connection]) -> None:
    operation, conn = rows
    operation.answer = {"Name": "only", "Size": 7, "OAuthParam:x": "y"}
    cursor = conn.execute("EXEC Many")
    assert cursor.rowcount == 1
    assert cursor.fetchall() == [("only", 7, "y")]


def test_executemany_keeps_every_row_of_every_run(
        rows: tuple[Rows, cdata_oauth.Connection]) -> None:
    operation, conn = rows
    operation.answer = [{"Name": "a"}, {"Name": "b"}]
    cursor = conn.cursor()
    cursor.executemany("EXEC Many", [(), ()])
    assert cursor.rowcount == 4
    assert [r[0] for r in cursor.fetchall()] == ["a", "b", "a", "b"]


@pytest.mark.parametrize(("issuer", "oidc", "rfc8414"), [
    ("https://as.example", "https://as.example/.well-known/openid-configuration",
     "https://as.example/.well-known/oauth-authorization-server"),
    ("https://as.example/", "https://as.example/.well-known/openid-configuration",
     "https://as.example/.well-known/oauth-authorization-server"),
    ("https://as.example/tenant/1", "https://as.example/tenant/1/.well-known/openid-"
     "configuration", "https://as.example/.well-known/oauth-authorization-server/tenant/1"),
])
def test_well_known_urls_append_for_oidc_and_insert_for_rfc8414(
        issuer: str, oidc: str, rfc8414: str) -> None:
    assert discovery.well_known_urls(issuer) == (oidc, rfc8414)


@pytest.mark.parametrize(("header", "seconds"), [
    (None, discovery.DEFAULT_MAX_AGE), ("public, max-age=120", 120.0), ("max-age=0", 0.0),
    ("no-store", 0.0), ("private, no-cache", 0.0), ("s-maxage=5", discovery.DEFAULT_MAX_AGE),
])
def test_metadata_is_kept_for_cache_control_max_age(header: str | None,
                                                    seconds: float) -> None:
    headers: Mapping[str, str] = {} if header is None else {"Cache-Control": header}
    assert discovery._max_age(headers) == seconds


@pytest.mark.parametrize("issuer", ["https://as.example", "http://127.0.0.1:8080/x",
                                    "http://localhost"])
def test_https_and_loopback_http_issuers_are_accepted(issuer: str) -> None:
    assert discovery.check_issuer(issuer) == issuer
