"""Reads API Script files (``<api:script>`` XML) into ``Script`` objects.

Elements are matched by namespace URI, not prefix; DTDs and entities are refused
(defusedxml), and every error names the file and the line.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from cdata_oauth.catalog.model import Script, ScriptInput, ScriptOutput
from cdata_oauth.conversions import BOOL_WORDS, parse_bool
from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.redaction import is_secret_name

NAMESPACES = ("http://www.rssbus.com/ns/rsbscript/2", "http://apiscript.com/ns?v1")
XS_TYPES = ("string", "int", "long", "integer", "double", "boolean", "datetime")
_XS_ATTR = ("{http://www.w3.org/2001/XMLSchema}type", "xs:type", "type")


class ScriptError(ProgrammingError):
    """A script file that cannot be read; the message names the file and the line."""


class _LineBuilder(ET.TreeBuilder):
    """A tree builder that records the source line of each element."""

    def __init__(self) -> None:
        super().__init__()
        self.parser: Any = None
        self.lines: dict[int, int] = {}

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        element = super().start(tag, attrs)
        self.lines[id(element)] = self.parser.parser.CurrentLineNumber if self.parser else 0
        return element


def read_script(text: str | bytes, source: str, name: str | None = None) -> Script:
    """Parse one script; ``name`` (the file's stem) names the procedure."""

    builder = _LineBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True,
                              forbid_external=True)
    builder.parser = parser
    try:
        parser.feed(text)
        root = parser.close()
    except ET.ParseError as exc:
        line, column = exc.position
        problem = str(exc).split(": line ")[0]
        raise ScriptError(f"{source}, line {line}, column {column}: not well-formed XML "
                          f"({problem}); fix the XML.") from exc
    except DefusedXmlException as exc:
        line = parser.parser.CurrentLineNumber
        raise ScriptError(f"{source}, line {line}: refused: the file declares a DTD or entities "
                          f"({type(exc).__name__}); remove the <!DOCTYPE> and entity "
                          "declarations, API Script files may not have them.") from exc
    return _Reader(source, builder.lines).script(root, name)


def read_script_file(path: Path) -> Script:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScriptError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    return read_script(data, str(path), path.stem)


class _Reader:
    def __init__(self, source: str, lines: dict[int, int]) -> None:
        self.source = source
        self.lines = lines

    def fail(self, element: ET.Element, problem: str) -> ScriptError:
        return ScriptError(f"{self.source}, line {self.lines.get(id(element), 0)}: {problem}")

    def flag(self, element: ET.Element, attr: str, value: str | None, default: bool) -> bool:
        """A yes/no attribute (required, secret): the truth words every flag takes."""
        if value is None or not value.strip():
            return default
        flag = parse_bool(value)
        if flag is None:
            raise self.fail(element, f"{attr}={value!r} is not a truth value; write "
                                     f"{BOOL_WORDS} (any case).")
        return flag

    def keyword(self, element: ET.Element) -> str | None:
        tag = element.tag
        if isinstance(tag, str) and tag.startswith("{"):
            uri, _, local = tag[1:].partition("}")
            if uri in NAMESPACES:
                return local
        return None

    def script(self, root: ET.Element, name: str | None) -> Script:
        if self.keyword(root) != "script":
            raise self.fail(root, f"the root element must be <api:script> in the namespace "
                                  f"{NAMESPACES[0]} (or {NAMESPACES[1]}), not "
                                  f"<{self.shown(root)}>.")
        info: ET.Element | None = None
        sets: list[tuple[str, str]] = []
        operation: str | None = None
        for element in root:
            word = self.keyword(element)
            if word == "info":
                if info is not None:
                    raise self.fail(element,
                                    "a script has one <api:info>; this is a second: merge them.")
                info = element
            elif word == "set":
                sets.append(self.set(element))
            elif word in ("call", "push"):
                if operation is not None:
                    raise self.fail(element,
                                    "a script calls one operation; this is a second: keep one.")
                operation = self.call(element, sets)
            elif word is None and not isinstance(element.tag, str):
                continue  # comments and processing instructions
            else:
                raise self.fail(element, f"<{self.shown(element)}> is not supported here; "
                                         "use api:info, api:set and api:call.")
        if info is None:
            raise self.fail(root, "the script has no <api:info> element.")
        if operation is None:
            raise self.fail(root, "the script calls no operation; add "
                                  "<api:call op=\"...\"><api:push/></api:call>.")
        title = (info.get("title") or "").strip()
        proc_name = name or title
        if not proc_name:
            raise self.fail(info, "<api:info> needs a title when the file name gives none.")
        inputs, outputs = self.info(info)
        return Script(name=proc_name,
                      description=(info.get("desc") or info.get("description") or "").strip(),
                      inputs=inputs, outputs=outputs, sets=tuple(sets), operation=operation,
                      source=self.source)

    def shown(self, element: ET.Element) -> str:
        tag = element.tag if isinstance(element.tag, str) else "?"
        if tag.startswith("{"):
            uri, _, local = tag[1:].partition("}")
            return f"api:{local}" if uri in NAMESPACES else f"{{{uri}}}{local}"
        return tag

    def info(self, info: ET.Element) -> tuple[tuple[ScriptInput, ...], tuple[ScriptOutput, ...]]:
        inputs: list[ScriptInput] = []
        outputs: list[ScriptOutput] = []
        seen_in: set[str] = set()
        seen_out: set[str] = set()
        for element in info:
            if not isinstance(element.tag, str):
                continue
            local = element.tag.rpartition("}")[2]
            name = (element.get("name") or "").strip()
            if local not in ("input", "output", "attr"):
                raise self.fail(element, f"<{local}> is not allowed in <api:info>; "
                                         "use <input> and <output>.")
            if not name:
                raise self.fail(element, f"<{local}> has no name attribute; add name=\"...\".")
            xs_type = self.xs_type(element)
            desc = (element.get("desc") or element.get("description") or "").strip()
            if local == "input":
                if name.lower() in seen_in:
                    raise self.fail(element, f"input {name} is declared twice; keep one.")
                seen_in.add(name.lower())
                values = tuple(v.strip() for v in (element.get("values") or "").split(",")
                               if v.strip())
                default = element.get("default", element.get("def"))
                required_attr = "required" if "required" in element.attrib else "req"
                required = self.flag(element, required_attr, element.get(required_attr), False)
                secret = self.flag(element, "secret", element.get("secret"),
                                   is_secret_name(name))
                if default is not None and values and default.strip().upper() not in \
                        [v.upper() for v in values]:
                    raise self.fail(element, f"the default {default!r} of input {name} is not "
                                             f"one of its values ({', '.join(values)}).")
                inputs.append(ScriptInput(name, desc, default, required, values, xs_type,
                                          secret))
            else:
                if name.lower() in seen_out:
                    raise self.fail(element, f"output {name} is declared twice; keep one.")
                seen_out.add(name.lower())
                outputs.append(ScriptOutput(name, desc, xs_type))
        return tuple(inputs), tuple(outputs)

    def xs_type(self, element: ET.Element) -> str:
        for attr in _XS_ATTR:
            value = element.get(attr)
            if value:
                value = value.strip().lower()
                if value not in XS_TYPES:
                    raise self.fail(element, f"type {value!r} is not one of "
                                             f"{', '.join(XS_TYPES)}; use one of those.")
                return value
        return "string"

    def set(self, element: ET.Element) -> tuple[str, str]:
        attr = (element.get("attr") or "").strip()
        if not attr:
            raise self.fail(element, "<api:set> has no attr attribute; add attr=\"InputName\".")
        if "." in attr:
            attr = attr.rpartition(".")[2]
        value = element.get("value")
        if value is None:
            value = (element.text or "").strip()
        return attr, value

    def call(self, element: ET.Element, sets: list[tuple[str, str]]) -> str:
        op = (element.get("op") or "").strip()
        if not op:
            raise self.fail(element, f"<{self.shown(element)}> has no op attribute.")
        if self.keyword(element) == "push":
            return op
        pushes = 0
        for child in element:
            word = self.keyword(child)
            if word == "push":
                pushes += 1
            elif word == "set":
                sets.append(self.set(child))
            elif not isinstance(child.tag, str):
                continue
            else:
                raise self.fail(child, f"<{self.shown(child)}> is not supported inside "
                                       "<api:call>; use <api:push/>.")
        if pushes != 1:
            raise self.fail(element, f"<api:call op=\"{op}\"> must hold exactly one <api:push/> "
                                     f"(found {pushes}).")
        return op
