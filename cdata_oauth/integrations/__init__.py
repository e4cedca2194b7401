"""Other libraries' faces: the SQLAlchemy dialect."""
