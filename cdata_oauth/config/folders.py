"""The user's configuration folder, per platform: where the default token files and the
profiles file live."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["config_folder"]


def config_folder() -> Path:
    """The user's configuration folder, as the commercial product's %APPDATA% table says."""
    if sys.platform == "win32":
        base = os.environ.get("APPDATA")
        return Path(base) if base else Path.home() / "AppData" / "Roaming"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"
