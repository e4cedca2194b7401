"""The README and the manual keep their promises without a server: the README stays short
and names the set-up and test commands that .ci/run really runs, every page is in the
nav, every diagram would draw, and every example (run or not) names only properties,
procedures and inputs that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs_support import (
    DOCS,
    README,
    ROOT,
    Block,
    blocks,
    command_problems,
    hook,
    nav_pages,
    page_scripts,
    pages,
    python_problems,
    statement_problems,
    statements,
)

TEST_COMMAND = "python -m pytest -q"
SET_UP = ("pip install . && cdata-oauth demo", "bash .ci/run")
PAGES = pages()


def rel(page: Path) -> str:
    return str(page.relative_to(ROOT))


def test_readme_is_at_most_150_lines() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 150


def test_readme_gives_the_two_set_up_commands_and_the_test_command() -> None:
    shell = [b.text for b in blocks(README) if b.lang == "sh"]
    commands = [line.split("#")[0].strip() for line in shell[0].splitlines()]
    assert tuple(c for c in commands if c) == SET_UP
    assert any(b.text.strip() == TEST_COMMAND for b in blocks(README) if b.lang == "sh")


def test_ci_builds_the_manual_strictly_and_ends_with_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line.strip() for line in script.splitlines()
             if line.strip() and not line.strip().startswith("#")]
    assert lines[-1] == TEST_COMMAND
    assert any("mkdocs build --strict" in line for line in lines)
    install = next(line for line in lines if "pip install" in line and "-e" in line)
    assert "docs" in install


def test_the_readme_example_runs_in_the_test_suite() -> None:
    examples = [b for b in blocks(README) if b.lang == "python"]
    assert examples and all(b.runs for b in examples)
    assert "connect(" in examples[0].text and "GetOAuthAccessToken" in examples[0].text


def test_every_page_is_in_the_nav_and_every_nav_entry_exists() -> None:
    on_disk = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sorted(nav_pages()) == on_disk


def test_relative_links_of_the_readme_and_contributing_point_at_files() -> None:
    for page in (README, ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md"):
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text("utf-8")):
            if "://" not in target:
                assert (page.parent / target).exists(), (rel(page), target)


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_diagram_of_the_page_would_draw(page: Path) -> None:
    checker = hook("mermaid_check")
    text = page.read_text(encoding="utf-8")
    if page.parent.name == "reference":
        text = hook("reference").render(text)  # generated diagrams count too
    for diagram in checker.diagrams(text):
        assert checker.problems(diagram) == [], diagram


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_example_of_the_page_names_only_what_exists(page: Path) -> None:
    scripts = page_scripts(page)  # reads every API Script block of the page, too
    problems: list[str] = []
    for block in blocks(page):
        if block.lang == "python":
            if block.needs is not None:
                assert block.needs, f"{block.where}: say what the example needs"
            problems += python_problems(block, scripts)
        elif block.lang == "sql":
            for sql in statements(block):
                problems += [f"{block.where}: {p}" for p in statement_problems(sql, scripts)]
        elif block.lang == "sh":
            problems += command_problems(block, scripts)
    assert problems == []


def test_the_checks_catch_a_renamed_property_procedure_or_input() -> None:
    page = DOCS / "procedures.md"
    scripts = page_scripts(page)
    bad = Block(
        page, 1, "python",
        "# needs: nothing\nimport cdata_oauth\n"
        "conn = cdata_oauth.connect('OAuthClientID=a;Timout=3', Proxy_Srv='p')\n"
        "conn.execute(\"EXEC GetOAuthAccessToken Colour='red'\")\n"
        "conn.execute('EXEC GetOAuthToken')\n", None)
    found = "\n".join(python_problems(bad, scripts))
    assert "'Timout'" in found and "'Proxy_Srv'" in found
    assert "no input 'Colour'" in found and "'GetOAuthToken'" in found


def test_sql_blocks_hold_one_statement_per_line() -> None:
    for page in PAGES:
        for block in (b for b in blocks(page) if b.lang == "sql"):
            for sql in statements(block):
                assert sql.rstrip(";").count(";") == 0, f"{block.where}: {sql}"


def test_the_mermaid_checker_refuses_what_would_not_draw() -> None:
    checker = hook("mermaid_check")
    assert checker.problems("sequenceDiagram\n participant A\n A->>B: hi\n") == [
        "'A->>B: hi': B is not a declared participant"]
    assert checker.problems("sequenceDiagram\n participant A\n alt x\n A->>A: a; b\n") == [
        "'A->>A: a; b': Mermaid ends a statement at ';'", "1 block(s) not closed with end"]
    assert checker.problems("flowchart\n A --> B\n")
    assert checker.problems("pie\n")
    assert checker.problems('flowchart LR\n A["x"] --> B["y]\n')
    assert checker.problems("flowchart LR\n A --> B\n") == []
