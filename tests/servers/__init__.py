"""Real servers the tests start on 127.0.0.1, one module each, loaded as pytest plugins."""
