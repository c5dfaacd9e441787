"""Built-in discovery connectors."""

from typing import Any

from .health_monitor import HealthMonitor
from .registry_sync import RegistrySync
from .static import StaticDiscovery

__all__ = ["HealthMonitor", "RegistrySync", "StaticDiscovery", "conformance_spec"]

CONNECTORS = [StaticDiscovery, RegistrySync, HealthMonitor]


def conformance_spec(connector_id: str) -> Any:
    """The static catalogue states the models the suite's providers offer, as they describe them."""
    if connector_id != StaticDiscovery.connector_id:
        return None
    from meshkit.testing import DISCOVERY_CONTEXT_WINDOW, DISCOVERY_SCENARIO, ConformanceSpec

    models = {
        provider: [{"name": m, "context_window": DISCOVERY_CONTEXT_WINDOW} for m in names]
        for provider, names in DISCOVERY_SCENARIO.items()
    }
    return ConformanceSpec(
        config={"models": models},
        skips={
            "test_sync_sees_a_changed_listing": (
                "the listing is the configured one; it changes with the config"
            ),
        },
    )
