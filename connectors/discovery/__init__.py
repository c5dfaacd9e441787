"""Built-in discovery connectors."""

from .health_monitor import HealthMonitor
from .registry_sync import RegistrySync
from .static import StaticDiscovery

__all__ = ["HealthMonitor", "RegistrySync", "StaticDiscovery"]

CONNECTORS = [StaticDiscovery, RegistrySync, HealthMonitor]
