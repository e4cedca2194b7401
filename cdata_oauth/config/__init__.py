"""Connection properties: the registry, the connection-string reader, OtherOptions and bound inputs."""
