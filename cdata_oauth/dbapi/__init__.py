"""The PEP 249 face: ``Connection``, ``Cursor``, type objects, result sets, system tables.

Owns: the path of one statement from ``execute`` to rows (parse, look up, bind, run,
project). May import: sql, catalog, tokens, oauth, config and the base modules.
"""
