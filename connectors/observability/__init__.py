"""Built-in observability connectors.

The modules that need an optional library (prometheus-client, opentelemetry-api) import
it only when a connector is built, so listing the connectors stays cheap.
"""

from meshkit.interfaces import Observability

from .callback import CallbackObservability
from .console import ConsoleObservability
from .jsonl import JsonlObservability
from .null import NullObservability
from .opentelemetry import OpenTelemetryObservability
from .prometheus import PrometheusObservability
from .webhook import WebhookObservability

CONNECTORS: list[type[Observability]] = [
    NullObservability,
    ConsoleObservability,
    JsonlObservability,
    WebhookObservability,
    CallbackObservability,
    PrometheusObservability,
    OpenTelemetryObservability,
]


def conformance_spec(connector_id: str) -> object | None:
    """How ``pytest --connector=...`` builds and observes a built-in observability connector."""
    if not any(cls.connector_id == connector_id for cls in CONNECTORS):
        return None
    from ._conformance import conformance_spec as spec_for

    return spec_for(connector_id)
