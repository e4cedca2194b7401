"""The PEP 249 face: Connection, Cursor, type objects and result sets."""
