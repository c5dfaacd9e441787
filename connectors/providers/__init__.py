"""Built-in providers."""

from .mock import MockProvider

CONNECTORS = [MockProvider]
