"""Other libraries' faces on the connector: the SQLAlchemy dialect.

May import: everything below it (dbapi and down).
"""
