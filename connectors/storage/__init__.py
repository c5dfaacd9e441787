"""Built-in storage backends."""

from .memory import MemoryStorage

CONNECTORS = [MemoryStorage]
