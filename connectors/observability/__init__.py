"""Built-in observability connectors."""

from .null import NullObservability

CONNECTORS = [NullObservability]
