"""Built-in discovery connectors."""

from typing import Any

from .health_monitor import HealthMonitor
from .registry_sync import RegistrySync
from .static import StaticDiscovery

__all__ = ["HealthMonitor", "RegistrySync", "StaticDiscovery", "conformance_spec"]

CONNECTORS = [StaticDiscovery, RegistrySync, HealthMonitor]


def conformance_spec(connector_id: str) -> Any:
    """How ``pytest --connector=...`` builds the static catalogue (the others need nothing)."""
    if connector_id != StaticDiscovery.connector_id:
        return None
    from ._conformance import static_spec

    return static_spec()
