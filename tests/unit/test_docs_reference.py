"""The generated reference (docs/hooks/reference.py) lists everything the registries
hold: every connection property, OtherOptions option, built-in procedure with its inputs
and outputs, and error class. A property added to the code is documented, or this fails.
"""

from __future__ import annotations

import re

import pytest

import cdata_oauth.exceptions as exceptions
from cdata_oauth.catalog.lookup import builtin_scripts
from cdata_oauth.config.options import OPTIONS
from cdata_oauth.config.properties import REGISTRY, ConnectionProperties, lookup_property
from cdata_oauth.oauth.operations import BUILTIN_OPERATIONS
from tests.docs_support import DOCS, hook

reference = hook("reference")


def first_column(markdown: str) -> list[str]:
    """The code-formatted names in the first column of every table row."""
    return re.findall(r"^\| `([^`]+)` \|", markdown, re.M)


def sample(name: str) -> object:
    """A value the property accepts, to prove ``ConnectionProperties`` takes the name."""
    spec = lookup_property(name)
    return {"int": 1, "bool": True, "enum": spec.allowed[0] if spec.allowed else ""}.get(
        spec.kind, "x")


def test_the_property_table_lists_exactly_the_properties_connect_accepts() -> None:
    listed = first_column(reference.properties_reference())
    registered = [spec.name for spec in REGISTRY.values()]
    assert listed[:len(registered)] == registered
    assert listed[len(registered):] == ["OAuthParam:<name>"]
    for name in registered:  # each listed name is one that ConnectionProperties accepts
        assert ConnectionProperties({name: sample(name)}).explicit(name)
    assert ConnectionProperties({"OAuthParam:audience": "api"}).explicit("OAuthParam:audience")


def test_each_property_row_shows_its_default_allowed_values_and_description() -> None:
    text = reference.properties_reference()
    rows = {row.split(" | ")[0].strip("| `"): row for row in text.splitlines()
            if row.startswith("| `")}
    assert "`60`" in rows["Timeout"] and "whole number" in rows["Timeout"]
    assert "one of `CODE`, `PASSWORD`, `CLIENT`, `REFRESH`" in rows["GrantType"]
    assert "**secret**" in rows["OAuthClientSecret"] and "**secret**" not in rows["Scope"]
    assert "`FALSE`" in rows["Proxy_Auto"]
    for spec in REGISTRY.values():
        assert reference.cell(spec.description) in rows[spec.name]


def test_every_other_option_is_listed_with_its_values() -> None:
    text = reference.options_reference()
    assert sorted(first_column(text)) == sorted(spec.name for spec in OPTIONS.values())
    for spec in OPTIONS.values():
        for value in spec.allowed:
            assert f"`{value}`" in text


def test_every_builtin_procedure_has_its_inputs_outputs_and_fixed_values() -> None:
    text = reference.procedures_reference()
    scripts = builtin_scripts().values()
    headings = re.findall(r"^## (\w+)$", text, re.M)
    assert sorted(s.name for s in scripts) == [h for h in headings if h != "Operations"]
    for script in scripts:
        section = text.split(f"## {script.name}\n", 1)[1].split("\n## ", 1)[0]
        names = first_column(section)
        assert names == [i.name for i in script.inputs] + [o.name for o in script.outputs]
        assert script.description in section
        assert f"`{script.operation}`" in section
    refresh = text.split("## RefreshOAuthAccessToken\n", 1)[1]
    assert "`GrantType=REFRESH`" in refresh.split("**Inputs**")[0]


def test_every_operation_a_script_may_call_is_listed() -> None:
    text = reference.operations_reference()
    assert sorted(n.lower() for n in first_column(text)) == sorted(BUILTIN_OPERATIONS)


def test_every_error_class_is_listed_under_its_base() -> None:
    text = reference.errors_reference()
    listed = first_column(text)
    for name in exceptions.__all__:
        assert name in listed
        cls = getattr(exceptions, name)
        assert f"    {cls.__bases__[0].__name__} --> {name}" in text  # the picture's edge
    assert "ScriptError" in listed  # errors defined on a statement's path count too
    oauth_row = next(row for row in text.splitlines() if row.startswith("| `OAuthError`"))
    assert "`error`, `description`, `uri`, `status`" in oauth_row


def test_markers_are_replaced_and_notes_for_source_readers_dropped() -> None:
    page = ("# P\n<!-- source-only -->\nonly on GitHub\n<!-- /source-only -->\n"
            "<!-- reference:other-options -->\n")
    built = reference.render(page)
    assert "only on GitHub" not in built and "<!--" not in built
    assert "| `PKCE` |" in built


def test_an_unknown_marker_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown reference marker.*known: errors"):
        reference.render("<!-- reference:propertys -->")


def test_every_generator_is_used_by_a_reference_page() -> None:
    used = {m.group(1) for page in (DOCS / "reference").glob("*.md")
            for m in reference.MARKER.finditer(page.read_text(encoding="utf-8"))}
    assert used == set(reference.GENERATORS)


def test_table_cells_stay_on_one_line_and_escape_pipes() -> None:
    assert reference.cell("a |\n b") == "a \\| b"
    assert reference.cell(None) == ""
