"""Every example of the README and the manual that needs no outside provider runs, as a
reader would run it: a page's python blocks in order in one namespace (a page reads as
one session), in a fresh folder, with the embedded provider the examples start
themselves and the demo's in-process browser standing in for a real one. sql blocks run
statement by statement against the embedded provider; xml blocks marked with a file path
are saved there first, so that a ``Location`` example finds its scripts.
"""

from __future__ import annotations

import logging
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cdata_oauth
from cdata_oauth.cli.demo import demo_browser
from cdata_oauth.provider import EmbeddedProvider
from tests.docs_support import ROOT, Block, blocks, pages, statements

RUNNABLE = [page for page in pages() if any(block.runs for block in blocks(page))]


@pytest.fixture
def reader_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh folder and home, a browser that follows redirects, and logging put back."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.delenv("BROWSER", raising=False)
    root, ours = logging.getLogger(), logging.getLogger("cdata_oauth")
    handlers, level = list(root.handlers), ours.level
    browser = demo_browser()
    browser.active = True
    try:
        yield tmp_path
    finally:
        browser.active = False
        root.handlers[:] = handlers
        ours.setLevel(level)


def run_python(block: Block, namespace: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pandas on a plain DB-API connection
        exec(compile(block.text, block.where, "exec"), namespace)


def run_sql(block: Block, connection: cdata_oauth.Connection) -> None:
    for sql in statements(block):
        cursor = connection.execute(sql)
        assert cursor.fetchall(), f"{block.where}: {sql} gave no row"


def save(block: Block, folder: Path) -> None:
    assert block.saved_as is not None
    path = folder / block.saved_as
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(block.text, encoding="utf-8")


def clean_up(namespace: dict[str, Any]) -> None:
    """Stop what the examples left running: providers, connections, engines."""
    for value in namespace.values():
        if isinstance(value, EmbeddedProvider):
            value.stop()
        elif isinstance(value, cdata_oauth.Connection):
            value.close()
        elif type(value).__name__ == "Engine" and hasattr(value, "dispose"):
            value.dispose()


@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_runnable_example_of_the_page_runs(page: Path, reader_session: Path) -> None:
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    with EmbeddedProvider() as provider:
        sql_connection = cdata_oauth.connect(**provider.connection_properties())
        try:
            for block in blocks(page):
                try:
                    if block.lang == "xml" and block.saved_as:
                        save(block, reader_session)
                    elif block.lang == "python" and block.runs:
                        run_python(block, namespace)
                    elif block.lang == "sql":
                        run_sql(block, sql_connection)
                except Exception:
                    pytest.fail(f"the example at {block.where} failed:\n{block.text}\n"
                                + traceback.format_exc(), pytrace=False)
        finally:
            sql_connection.close()
            clean_up(namespace)
