"""Built-in discovery connectors."""

from .static import StaticDiscovery

CONNECTORS = [StaticDiscovery]
