"""The README and the manual as the tests read them: fenced blocks with their page, line
and marker, and the checks of an example against the registries that need no server.

Conventions of the pages (CONTRIBUTING.md, "The manual"):

- a ``python`` block that cannot run here starts with ``# needs: <what it needs>``;
- an ``xml`` block preceded by ``<!-- file: some/path.rsb -->`` is saved at that path;
- a ``sql`` block holds one statement per line (``--`` comments allowed).
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

from cdata_oauth.catalog.lookup import builtin_scripts
from cdata_oauth.catalog.model import Script
from cdata_oauth.catalog.reader import read_script
from cdata_oauth.config.properties import lookup_property, parse_connection_string
from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.sql.parse import SelectTemplate, parse

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
NEEDS = "# needs:"
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)\s*$")
_COMMENT = re.compile(r"^\s*<!--\s*(?P<text>.*?)\s*-->\s*$")
_FILE = re.compile(r"^file:\s*(?P<path>\S+)$")
_EXECUTORS = ("execute", "executemany", "exec_driver_sql", "read_sql")


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    page: Path
    line: int
    lang: str
    text: str
    marker: str | None
    """The HTML comment on the line before the fence (without ``<!--``/``-->``), if any."""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def needs(self) -> str | None:
        """What a python block needs that the tests do not have; None when it runs."""
        first = self.text.lstrip().splitlines()[0] if self.text.strip() else ""
        return first[len(NEEDS):].strip() if first.startswith(NEEDS) else None

    @property
    def runs(self) -> bool:
        """True for the blocks the example test executes: python without ``# needs:``,
        and every sql block."""
        return (self.lang == "python" and self.needs is None) or self.lang == "sql"

    @property
    def saved_as(self) -> str | None:
        """The relative path an xml block is saved at before its page runs."""
        found = _FILE.match(self.marker or "")
        return found.group("path") if found else None


def pages() -> list[Path]:
    """The README and every page of the manual."""
    return [README, *sorted(DOCS.rglob("*.md"))]


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a page, in order; an indented fence (in a list) is dedented."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent = len(opening.group("indent"))
        previous = next((line for line in reversed(lines[:i]) if line.strip()), "")
        comment = _COMMENT.match(previous)
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            body.append(lines[j][indent:])
            j += 1
        found.append(Block(page, i + 1, opening.group("lang"), "\n".join(body) + "\n",
                           comment.group("text") if comment else None))
        i = j + 1
    return found


def statements(block: Block) -> list[str]:
    """The statements of a sql block: one per line that is not blank or a comment."""
    return [line.strip() for line in block.text.splitlines()
            if line.strip() and not line.strip().startswith("--")]


def page_scripts(page: Path) -> dict[str, Script]:
    """The built-in procedures plus those the page's xml blocks define, by folded name."""
    scripts = dict(builtin_scripts())
    for block in blocks(page):
        if block.lang == "xml" and "script" in block.text.split(">", 1)[0]:
            name = Path(block.saved_as).stem if block.saved_as else None
            script = read_script(block.text, block.where, name)
            scripts[script.name.lower()] = script
    return scripts


# --- Checks against the registries ---------------------------------------------------

def statement_problems(sql: str, scripts: Mapping[str, Script]) -> list[str]:
    """What is wrong with one statement: it must parse, name a known procedure or system
    table, and give only inputs that procedure declares."""
    from cdata_oauth.dbapi.systables import SYSTEM_TABLES

    try:
        template = parse(sql)
    except ProgrammingError as exc:
        return [f"{sql!r} does not parse: {exc}"]
    if isinstance(template, SelectTemplate):
        return [f"{sql!r} reads {table!r}, which is not a system table"
                for table in template.tables if table.lower() not in SYSTEM_TABLES]
    script = scripts.get(template.procedure.lower())
    if script is None:
        return [f"{sql!r} calls {template.procedure!r}, which is not a known procedure"]
    problems = [f"{sql!r}: {script.name} has no input {name!r}"
                for name, _ in template.args if name and script.find_input(name) is None]
    positional = sum(1 for name, _ in template.args if name is None)
    if positional > len(script.inputs):
        problems.append(f"{sql!r}: {positional} positional values, {script.name} has "
                        f"{len(script.inputs)} inputs")
    return problems


def property_problems(names: list[str], where: str) -> list[str]:
    problems = []
    for name in names:
        try:
            lookup_property(name)
        except ProgrammingError as exc:
            problems.append(f"{where}: {exc}")
    return problems


def connection_string_problems(text: str, where: str) -> list[str]:
    try:
        pairs = parse_connection_string(text)
    except ProgrammingError as exc:
        return [f"{where}: {exc}"]
    return property_problems([name for name, _ in pairs], where)


def python_problems(block: Block, scripts: Mapping[str, Script]) -> list[str]:
    """A python block must compile; its ``connect()`` properties must be known, and the
    statements it executes must name known procedures and inputs. Calls inside a ``try``
    are left alone: that is how a page shows a mistake and the error it raises."""
    try:
        tree = ast.parse(block.text, block.where)
    except SyntaxError as exc:
        return [f"{block.where}: does not compile: {exc}"]
    shown_mistakes = {id(node) for attempt in ast.walk(tree) if isinstance(attempt, ast.Try)
                      for statement in attempt.body for node in ast.walk(statement)}
    problems: list[str] = []
    for call in (node for node in ast.walk(tree)
                 if isinstance(node, ast.Call) and id(node) not in shown_mistakes):
        name = _called(call)
        first = call.args[0] if call.args else None
        text = first.value if isinstance(first, ast.Constant) and isinstance(
            first.value, str) else None
        if name == "connect":
            problems += property_problems([k.arg for k in call.keywords if k.arg], block.where)
            if text is not None:
                problems += connection_string_problems(text, block.where)
        elif name in _EXECUTORS and text is not None and _is_sql(text):
            problems += [f"{block.where}: {p}" for p in statement_problems(text, scripts)]
        elif name == "callproc" and text is not None and text.lower() not in scripts:
            problems.append(f"{block.where}: callproc of unknown procedure {text!r}")
    return problems


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _is_sql(text: str) -> bool:
    return text.lstrip().split(" ", 1)[0].upper() in ("EXEC", "EXECUTE", "SELECT")


COMMANDS = ("token", "login", "logout", "status")
"""The commands of ``cdata-oauth`` besides a statement (and ``demo``)."""


def command_lines(block: Block) -> Iterator[list[str]]:
    """The ``cdata-oauth`` invocations of a shell block, as argument lists (continuation
    lines joined, pipes cut off)."""
    joined = block.text.replace("\\\n", " ")
    for line in joined.splitlines():
        for index, part in enumerate(re.split(r"(\$\(|\|)", line)):
            if part.strip().startswith("cdata-oauth "):
                if index and re.split(r"(\$\(|\|)", line)[index - 1] == "$(":
                    part = re.split(r"\)(?=[\"\s]|$)", part, maxsplit=1)[0]  # $(...) ends
                yield shlex.split(part, comments=True)[1:]


def command_problems(block: Block, scripts: Mapping[str, Script]) -> list[str]:
    """``cdata-oauth`` lines must give known properties and statements that check out."""
    problems: list[str] = []
    for args in command_lines(block):
        if args[:1] == ["demo"]:
            continue
        if args[:1] and args[0] in COMMANDS:
            args = args[1:]  # token, login, logout, status: options only, no statement
        words = iter(args)
        for word in words:
            if word in ("-c", "--connection"):
                value = next(words, "")
                if not value.startswith("$"):
                    problems += connection_string_problems(value, block.where)
            elif word in ("-p", "--property"):
                problems += property_problems([next(words, "").split("=", 1)[0]], block.where)
            elif word in ("-a", "--arg", "-f", "--format", "--profile"):
                next(words, None)
            elif not word.startswith("-"):
                problems += [f"{block.where}: {p}" for p in statement_problems(word, scripts)]
    return problems


# --- The MkDocs hooks, loaded as MkDocs loads them -----------------------------------

@cache
def hook(name: str) -> ModuleType:
    """``docs/hooks/<name>.py`` as a module (the hooks are files, not a package)."""
    path = DOCS / "hooks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"docs_hooks_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nav_pages() -> list[str]:
    """The pages ``mkdocs.yml`` lists in its nav, relative to docs/."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text[text.index("\nnav:"):]
    return re.findall(r"^\s*-\s[^\n]*?:\s*(\S+\.md)\s*$", nav, re.M)
