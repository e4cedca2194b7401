"""Running the installed ``cdata-oauth`` console script in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def console_script() -> str:
    """The ``cdata-oauth`` that PATH gives (what a user typing it runs), else the one next
    to this interpreter (a virtualenv that is not activated); fails loudly."""
    beside = Path(sys.executable).with_name("cdata-oauth")
    found = shutil.which("cdata-oauth") or (str(beside) if beside.exists() else None)
    if not found:
        raise AssertionError("the cdata-oauth console script is not installed; run "
                             "'pip install -e .' (it comes from setup.cfg entry_points)")
    return found


def run_cli(*args: str, timeout: float = 120,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the script; BROWSER is dropped from the environment unless ``env`` sets it."""
    env = {**{k: v for k, v in os.environ.items() if k != "BROWSER"}, **(env or {})}
    return subprocess.run([console_script(), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)


def connection_string(properties: Mapping[str, Any]) -> str:
    """``Name='value';...`` with quotes doubled, as the connection string grammar wants."""
    return ";".join(f"{name}='{str(value).replace(chr(39), chr(39) * 2)}'"
                    for name, value in properties.items())
