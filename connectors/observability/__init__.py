"""Built-in observability connectors.

The modules that need an optional library (prometheus-client, opentelemetry-api) import
it only when a connector is built, so listing the connectors stays cheap.
"""

from .callback import CallbackObservability
from .console import ConsoleObservability
from .jsonl import JsonlObservability
from .null import NullObservability
from .opentelemetry import OpenTelemetryObservability
from .prometheus import PrometheusObservability
from .webhook import WebhookObservability

CONNECTORS = [
    NullObservability,
    ConsoleObservability,
    JsonlObservability,
    WebhookObservability,
    CallbackObservability,
    PrometheusObservability,
    OpenTelemetryObservability,
]
