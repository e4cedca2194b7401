"""API Script files: the reader and the built-in procedure definitions (``*.rsb`` here)."""

from .model import Script, ScriptInput, ScriptOutput
from .reader import ScriptError, read_script, read_script_file

__all__ = ["Script", "ScriptError", "ScriptInput", "ScriptOutput", "read_script",
           "read_script_file"]
