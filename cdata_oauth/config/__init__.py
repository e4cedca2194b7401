"""Connection properties: the registry, the connection-string reader, profiles (TOML),
``OtherOptions`` and a statement's bound ``Inputs``: the settings every step below dbapi
reads.

May import: the base modules only.
"""
