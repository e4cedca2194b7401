"""Named profiles: the connection properties of a table ``[NAME]`` of a TOML file, so that
secrets stay off command lines (``ps``, shell history) and out of scripts.

The file is ``$CDATA_OAUTH_PROFILES``, else ``profiles.toml`` in the platform's config
folder. Like ssh with a private key, a profile file that group or others may read is
refused when it holds a secret. Loaded through the lazy seam by ``ConnectionProperties``
(only a connection that names a ``Profile`` pays for the TOML reader).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cdata_oauth.config.folders import config_folder
from cdata_oauth.config.properties import REGISTRY, lookup_property
from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.names import did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with tomli
    import tomli as tomllib

__all__ = ["PROFILES_VARIABLE", "load_profile", "profiles_path"]

PROFILES_VARIABLE = "CDATA_OAUTH_PROFILES"
"""The environment variable naming the profiles file."""


def profiles_path() -> Path:
    """``$CDATA_OAUTH_PROFILES``, else ``profiles.toml`` in the config folder."""
    given = os.environ.get(PROFILES_VARIABLE, "").strip()
    if given:
        return Path(given).expanduser()
    return config_folder() / "cdata_oauth" / "profiles.toml"


def load_profile(name: str) -> dict[str, Any]:
    """The properties of profile ``name``, by canonical property name; ProgrammingError
    names the file (and the line, for bad TOML) when the profile cannot be used."""
    path = profiles_path()
    tables = _read(path)
    wanted = name.strip()
    table = next((t for key, t in tables.items() if key.lower() == wanted.lower()), None)
    if table is None:
        known = ", ".join(sorted(tables)) or "none"
        hint = did_you_mean(wanted, tables)
        raise ProgrammingError(
            f"There is no profile {wanted!r} in {path}.{hint} Known profiles: {known}. "
            f"Add a [{wanted}] table to the file, or set ${PROFILES_VARIABLE} to another file.")
    if not isinstance(table, Mapping):
        raise ProgrammingError(f"Profile {wanted!r} in {path} is not a table; write it as "
                               f"[{wanted}] followed by Name = \"value\" lines.")
    return _properties(wanted, table, path)


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ProgrammingError(
            f"A profile was asked for, but the profiles file {path} does not exist; create "
            f"it (mode 600) with a [name] table of properties, or set ${PROFILES_VARIABLE} "
            "to the file that has them.") from None
    except OSError as exc:
        raise ProgrammingError(
            f"Cannot read the profiles file {path} ({exc.strerror or type(exc).__name__}); "
            "check its permissions.") from None
    try:
        tables = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProgrammingError(f"The profiles file {path} is not UTF-8 text; save it as "
                               "UTF-8.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProgrammingError(f"The profiles file {path} is not valid TOML: {exc}. "
                               "Fix that line.") from None
    _check_private(path, mode, tables)
    return tables


def _check_private(path: Path, mode: int, tables: Mapping[str, Any]) -> None:
    """Refuse a file that holds a secret and that group or others may read or write."""
    if os.name != "posix" or not mode & (stat.S_IRWXG | stat.S_IRWXO):
        return
    holder = next((f"[{profile}] {key}" for profile, table in tables.items()
                   if isinstance(table, Mapping)
                   for key in table if _is_secret(key)), None)
    if holder is not None:
        raise ProgrammingError(
            f"The profiles file {path} holds a secret ({holder}) but group or others may "
            f"read it (mode {stat.S_IMODE(mode):03o}); run: chmod 600 {path}")


def _is_secret(key: str) -> bool:
    try:
        return lookup_property(key).secret
    except ProgrammingError:
        return True  # an unknown name is reported later; be safe about its value


def _properties(profile: str, table: Mapping[str, Any], path: Path) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in table.items():
        try:
            spec = lookup_property(key)
        except ProgrammingError:
            hint = did_you_mean(key, (s.name for s in REGISTRY.values()), most=3)
            raise ProgrammingError(
                f"Unknown connection property {key!r} in profile [{profile}] of {path}.{hint} "
                "Correct its spelling or remove it; names are case-insensitive.") from None
        if spec.name.lower() == "profile":
            raise ProgrammingError(f"Profile [{profile}] of {path} sets Profile; a profile "
                                   "cannot name another profile. Remove that line.")
        if isinstance(value, Mapping | list):
            raise ProgrammingError(
                f"{spec.name} in profile [{profile}] of {path} is a "
                f"{'table' if isinstance(value, Mapping) else 'list'}; give a string, a "
                "number or true/false.")
        if spec.name.lower() in found:
            raise ProgrammingError(f"{spec.name} is given twice in profile [{profile}] of "
                                   f"{path}; give it once.")
        found[spec.name.lower()] = value
    return found

