"""Procedures: lookup by name (``Location`` first, then the built-ins in ``builtin/``), the
API Script reader and model, and the binding of a call's values to a script's inputs.

May import: config and the base modules.
"""
