"""The ``cdata-oauth`` command, the demo and the rendering of rows as text.

May import: everything below it (dbapi, provider and down).
"""
