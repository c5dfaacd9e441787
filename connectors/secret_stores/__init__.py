"""Built-in secret stores."""

from .env import EnvSecretStore

CONNECTORS = [EnvSecretStore]
