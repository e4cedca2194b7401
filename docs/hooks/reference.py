"""MkDocs hook: the reference pages are built from the package's own registries.

A page holds a marker such as ``<!-- reference:properties -->``; at build time
``on_page_markdown`` replaces it with the tables below, read from the connection property
registry, the OtherOptions registry, the built-in API Script files and the exception
classes. Nothing in the reference is written by hand, so it cannot drift from the code.

The builders are plain functions that need only ``cdata_oauth`` (not MkDocs): the unit
tests import this file and check that every registered name reaches the text.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

MARKER = re.compile(r"<!--\s*reference:([a-z-]+)\s*-->")
"""How a page asks for a generated table: ``<!-- reference:NAME -->`` on its own."""
SOURCE_ONLY = re.compile(r"<!--\s*source-only\s*-->.*?<!--\s*/source-only\s*-->\n?", re.S)
"""A note for readers of the Markdown source (on GitHub, say), dropped from the site."""


# --- Markdown ------------------------------------------------------------------------

def cell(value: Any) -> str:
    """Text fit for one table cell: no line breaks, ``|`` escaped, nothing for None."""
    if value is None:
        return ""
    return " ".join(str(value).split()).replace("|", "\\|")


def code(value: Any) -> str:
    """``value`` as inline code in a cell, or nothing when there is no value."""
    text = cell(value)
    return f"`{text}`" if text else ""


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _shown_default(value: Any) -> str:
    if isinstance(value, bool):
        return code("TRUE" if value else "FALSE")
    return code(value)


_KINDS = {"string": "text", "int": "whole number", "long": "whole number",
          "integer": "whole number", "double": "number", "bool": "flag", "boolean": "flag",
          "datetime": "date and time"}


def type_cell(kind: str, allowed: Sequence[str] = (), secret: bool = False) -> str:
    """What a value must be: its type, or the values allowed; and whether it is secret."""
    text = ("one of " + ", ".join(code(v) for v in allowed)) if allowed else \
        _KINDS.get(kind, kind)
    return text + (", **secret**" if secret else "")


def _flags_note() -> str:
    from cdata_oauth.conversions import BOOL_WORDS

    return (f"A *flag* takes {BOOL_WORDS}, in any case; *one of* values match in any case. "
            "A **secret** value is masked in every `repr`, message and log.")


# --- The tables ----------------------------------------------------------------------

def properties_reference() -> str:
    """Every connection property ``ConnectionProperties`` accepts, in registry order."""
    from cdata_oauth.config.properties import REGISTRY, WILDCARD_PREFIXES, lookup_property

    rows = [[code(spec.name), type_cell(spec.kind, spec.allowed, spec.secret),
             _shown_default(spec.default), cell(spec.description)]
            for spec in REGISTRY.values()]
    for prefix in WILDCARD_PREFIXES:
        example = lookup_property(prefix + "x")
        rows.append([code(prefix + "<name>"), type_cell(example.kind) + ", **secret** when "
                     "`<name>` looks secret", "",
                     cell(example.description) + " Any name after the prefix is accepted."])
    intro = (f"{len(REGISTRY)} properties, plus the `OAuthParam:` family. Names are "
             "case-insensitive. " + _flags_note() + " A property with the name of a "
             "procedure's input supplies that input when the `EXEC` does not "
             "([built-in procedures](procedures.md)).")
    return intro + "\n\n" + table(["Property", "Type", "Default", "Description"], rows)


def options_reference() -> str:
    """Every ``OtherOptions`` option in the registry."""
    from cdata_oauth.config.options import OPTIONS

    rows = [[code(spec.name), type_cell(spec.kind, spec.allowed, spec.secret),
             _shown_default(spec.default), cell(spec.description)]
            for spec in sorted(OPTIONS.values(), key=lambda s: s.name.lower())]
    return _flags_note() + "\n\n" + table(["Option", "Type", "Default", "Description"], rows)


def procedures_reference() -> str:
    """Each built-in procedure: what it does, its operation, fixed values, inputs, outputs."""
    from cdata_oauth.catalog.lookup import builtin_scripts

    sections = [_flags_note()]
    for script in sorted(builtin_scripts().values(), key=lambda s: s.name):
        parts = [f"## {script.name}", "", cell(script.description), "",
                 f"Runs the operation `{script.operation}`."]
        fixed = [f"`{attr}={value}`" for attr, value in script.sets
                 if script.find_input(attr) is None]
        if fixed:
            parts.append("Fixed by the script (no property or input can change them): "
                         + ", ".join(fixed) + ".")
        parts += ["", "**Inputs**, in declared order (the order of positional values)", "",
                  table(["Input", "Type", "Default", "Description"],
                        [[code(i.name), type_cell(i.xs_type, i.values, i.secret),
                          code(i.default),
                          ("**Required.** " if i.required else "") + cell(i.description)]
                         for i in script.inputs])]
        parts += ["", "**Outputs**, the columns of the result row in this order", "", table(
            ["Output", "Type", "Description"],
            [[code(o.name), type_cell(o.xs_type), cell(o.description)]
             for o in script.outputs])]
        sections.append("\n".join(parts))
    return "\n\n".join(sections) + "\n\n" + operations_reference()


def operations_reference() -> str:
    """The operations a script's ``api:call op="..."`` may name, and the flow of each."""
    from cdata_oauth.catalog.lookup import builtin_scripts
    from cdata_oauth.oauth.operations import BUILTIN_OPERATIONS

    spelled = {s.operation.lower(): s.operation for s in builtin_scripts().values()}
    versions = sorted({v for targets in BUILTIN_OPERATIONS.values() for v in targets})
    rows = [[code(spelled.get(name, name))] + [code(targets.get(v)) for v in versions]
            for name, targets in sorted(BUILTIN_OPERATIONS.items())]
    return ("## Operations\n\nWhat `<api:call op=\"...\">` may name (in any case), and the "
            "function that runs it for each `OAuthVersion`.\n\n"
            + table(["Operation"] + [f"OAuthVersion={v}" for v in versions], rows))


ERROR_HOMES = ("cdata_oauth.exceptions", "cdata_oauth.config", "cdata_oauth.sql",
               "cdata_oauth.catalog", "cdata_oauth.oauth", "cdata_oauth.transport",
               "cdata_oauth.tokens", "cdata_oauth.dbapi")
"""Where the errors a statement can raise are defined: the base exceptions and every
subpackage on a statement's path (a ``ScriptError`` of the script reader, say)."""


def error_classes() -> list[type[BaseException]]:
    """Every exception class defined in ``ERROR_HOMES``, parents before children."""
    import importlib
    import pkgutil

    import cdata_oauth.exceptions as base

    found: dict[str, type[BaseException]] = {}
    for home in ERROR_HOMES:
        package = importlib.import_module(home)
        names = [home]
        if hasattr(package, "__path__"):
            names += [m.name for m in pkgutil.walk_packages(package.__path__, home + ".")]
        for name in names:
            module = importlib.import_module(name)
            for value in vars(module).values():
                if (isinstance(value, type) and issubclass(value, (base.Error, base.Warning))
                        and value.__module__ == name):
                    found[value.__qualname__] = value
    return sorted(found.values(), key=lambda c: (len(c.__mro__), c.__name__))


def errors_reference() -> str:
    """The exception tree as a picture and a table, from ``cdata_oauth.exceptions``."""
    classes = error_classes()
    edges = [f"    {c.__bases__[0].__name__} --> {c.__name__}" for c in classes]
    picture = "```mermaid\nflowchart TD\n" + "\n".join(edges) + "\n```"
    import cdata_oauth

    rows = []
    for c in classes:
        doc = inspect.getdoc(c) or ""
        home = "cdata_oauth" if getattr(cdata_oauth, c.__name__, None) is c else c.__module__
        rows.append([code(c.__name__), code(c.__bases__[0].__name__), code(home),
                     cell(doc.split("\n\n")[0]), _attributes(c)])
    return picture + "\n\n" + table(
        ["Class", "Base", "Import from", "Raised for", "Attributes"], rows)


def _attributes(cls: type[BaseException]) -> str:
    """The keyword-only fields a class's own ``__init__`` takes (``OAuthError.error``...)."""
    if "__init__" not in vars(cls):
        return ""
    parameters = inspect.signature(cls.__init__).parameters.values()
    return ", ".join(code(p.name) for p in parameters if p.kind is p.KEYWORD_ONLY)


GENERATORS: dict[str, Callable[[], str]] = {
    "properties": properties_reference,
    "other-options": options_reference,
    "procedures": procedures_reference,
    "errors": errors_reference,
}
"""Marker name -> the function whose text replaces it."""


def render(markdown: str) -> str:
    """Replace every marker; an unknown marker is a ValueError (a typo must not build)."""
    def replace(match: re.Match[str]) -> str:
        generator = GENERATORS.get(match.group(1))
        if generator is None:
            raise ValueError(f"unknown reference marker {match.group(0)!r}; known: "
                             + ", ".join(sorted(GENERATORS)))
        return generator()

    return MARKER.sub(replace, SOURCE_ONLY.sub("", markdown))


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """MkDocs event: generate the reference tables of this page."""
    try:
        return render(markdown)
    except ValueError as exc:
        from mkdocs.exceptions import PluginError

        raise PluginError(f"{page.file.src_path}: {exc}") from exc
