"""Built-in discovery connectors."""

from typing import Any

from .health_monitor import HealthMonitor
from .registry_sync import RegistrySync
from .static import StaticDiscovery

__all__ = ["HealthMonitor", "RegistrySync", "StaticDiscovery", "conformance_spec"]

CONNECTORS = [StaticDiscovery, RegistrySync, HealthMonitor]


def conformance_spec(connector_id: str) -> Any:
    """The static catalogue is configured with the models the suite's providers offer."""
    if connector_id != StaticDiscovery.connector_id:
        return None
    from meshkit.testing import DISCOVERY_SCENARIO, ConformanceSpec

    return ConformanceSpec(
        config={"models": {provider: list(models) for provider, models in DISCOVERY_SCENARIO.items()}},
        skips={
            "test_sync_reports_changed_models": "a static list names models only, so none can change",
            "test_sync_sees_a_changed_listing": (
                "the listing is the configured one; it changes with the config"
            ),
        },
    )
