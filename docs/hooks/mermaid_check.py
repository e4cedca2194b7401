"""MkDocs hook: a Mermaid diagram that would not render fails the build.

Mermaid draws in the reader's browser, so a typo in a diagram would otherwise surface
only as an error box on the published page. ``on_page_markdown`` reads every ```mermaid
block and checks what the diagrams here use: the diagram type, balanced blocks, and, in a
sequence diagram, that every message and note names a declared participant and that no
text holds a ``;`` (Mermaid reads it as the end of a statement).

The checker is plain Python with no MkDocs import, so the unit tests use it directly.
"""

from __future__ import annotations

import re
from typing import Any

FENCE = re.compile(r"^```mermaid[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
_PARTICIPANT = re.compile(r"(participant|actor)\s+(\w+)(\s+as\s+.+)?$")
_MESSAGE = re.compile(r"(\w+)\s*(-->>|->>|-->|->|--x|-x|--\)|-\))\s*[+-]?(\w+)\s*:\s*(.+)$")
_NOTE = re.compile(r"[Nn]ote\s+(over|left of|right of)\s+(\w+)(\s*,\s*(\w+))?\s*:\s*(.+)$")
_OPENERS = ("alt", "opt", "loop", "par", "critical", "break", "rect")
_DIRECTIONS = ("TB", "TD", "BT", "RL", "LR")


def diagrams(markdown: str) -> list[str]:
    """The text of each Mermaid block of a page."""
    return FENCE.findall(markdown)


def problems(diagram: str) -> list[str]:
    """What is wrong with one diagram; empty when it looks drawable."""
    lines = [line.strip() for line in diagram.splitlines()]
    lines = [line for line in lines if line and not line.startswith("%%")]
    if not lines:
        return ["the diagram is empty"]
    head = lines[0].split()
    if head[0] == "sequenceDiagram":
        return _sequence(lines[1:])
    if head[0] in ("flowchart", "graph"):
        if len(head) < 2 or head[1] not in _DIRECTIONS:
            return [f"{lines[0]!r}: give a direction, one of {', '.join(_DIRECTIONS)}"]
        return _flowchart(lines[1:])
    return [f"{head[0]!r}: only sequenceDiagram and flowchart are checked and used here"]


def _sequence(lines: list[str]) -> list[str]:
    found: list[str] = []
    declared: set[str] = set()
    depth = 0
    for line in lines:
        word = line.split()[0]
        participant = _PARTICIPANT.match(line)
        message = _MESSAGE.match(line)
        note = _NOTE.match(line)
        if participant:
            declared.add(participant.group(2))
            continue
        if word in _OPENERS:
            depth += 1
            continue
        if word in ("else", "and"):
            if depth == 0:
                found.append(f"{line!r}: {word} outside alt/par")
            continue
        if word == "end":
            depth -= 1
            if depth < 0:
                found.append(f"{line!r}: end without an opening block")
            continue
        if word == "autonumber":
            continue
        if word in ("activate", "deactivate"):
            names = line.split()[1:]
        elif message:
            names = [message.group(1), message.group(3)]
        elif note:
            names = [n for n in (note.group(2), note.group(4)) if n]
        else:
            found.append(f"{line!r}: not a participant, message, note or block")
            continue
        found += [f"{line!r}: {name} is not a declared participant"
                  for name in names if name not in declared]
        if ";" in line:
            found.append(f"{line!r}: Mermaid ends a statement at ';'")
    if depth > 0:
        found.append(f"{depth} block(s) not closed with end")
    return found


def _flowchart(lines: list[str]) -> list[str]:
    found: list[str] = []
    depth = 0
    for line in lines:
        if line.count('"') % 2:
            found.append(f"{line!r}: unbalanced double quote")
        word = line.split()[0]
        if word == "subgraph":
            depth += 1
        elif word == "end":
            depth -= 1
    if depth:
        found.append("subgraph and end do not pair up")
    return found


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """MkDocs event: refuse the page when one of its diagrams has a problem."""
    found = [problem for diagram in diagrams(markdown) for problem in problems(diagram)]
    if found:
        from mkdocs.exceptions import PluginError

        raise PluginError(f"{page.file.src_path}: Mermaid diagram problem: "
                          + "; ".join(found))
    return markdown
