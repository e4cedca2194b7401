"""Procedures: lookup by name, the API Script reader and model, the built-in scripts, and the binding of a call's values to a script's inputs."""
