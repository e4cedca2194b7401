"""Finds a procedure by name: the user's ``Location`` folder first, then the built-ins."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from cdata_oauth.catalog.model import Script
from cdata_oauth.catalog.reader import read_script_file
from cdata_oauth.exceptions import ProgrammingError
from cdata_oauth.names import did_you_mean

SCRIPT_SUFFIXES = (".rsb", ".api")
_BUILTIN_DIR = Path(__file__).with_name("builtin")


@lru_cache(maxsize=1)
def builtin_scripts() -> dict[str, Script]:
    """The scripts shipped in the package, read once per process."""
    return _read_folder(_BUILTIN_DIR)


def _read_folder(folder: Path) -> dict[str, Script]:
    scripts: dict[str, Script] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in SCRIPT_SUFFIXES and path.is_file():
            script = read_script_file(path)
            key = script.name.lower()
            if key in scripts:
                raise ProgrammingError(
                    f"Procedure {script.name} is defined twice in {folder}: "
                    f"{scripts[key].source} and {path.name}; remove or rename one.")
            scripts[key] = script
    return scripts


class Catalog:
    """The procedures a connection can call. User files replace built-ins of the same name."""

    def __init__(self, location: str | None = None) -> None:
        self._scripts = dict(builtin_scripts())
        if location:
            folder = Path(location).expanduser()
            if not folder.is_dir():
                raise ProgrammingError(
                    f"Location {location!r} is not a folder; point it at the folder that "
                    "holds your .rsb/.api script files.")
            try:
                self._scripts.update(_read_folder(folder))
            except OSError as exc:
                raise ProgrammingError(
                    f"Location {location!r} cannot be read ({exc.strerror or exc}); check that "
                    "the folder and its files are readable.") from exc

    def lookup(self, name: str) -> Script:
        script = self._scripts.get(name.lower())
        if script is not None:
            return script
        names = sorted(s.name for s in self._scripts.values())
        hint = did_you_mean(name, names)
        raise ProgrammingError(
            f"Unknown procedure {name!r}.{hint} Known procedures: {', '.join(names)}.")

    def __iter__(self) -> Iterator[Script]:
        return iter(sorted(self._scripts.values(), key=lambda s: s.name.lower()))
