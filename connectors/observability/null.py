"""``meshkit.null.v1``: discards everything."""

from __future__ import annotations

from meshkit import ObservabilityFeature
from meshkit.interfaces import Observability, ObservabilityConfig


class NullObservability(Observability[ObservabilityConfig]):
    """Receives and drops; the default when no observability is configured."""

    connector_id = "meshkit.null.v1"
    description = "Discards events, logs and traces; the default"
    #: It delivers nothing, and says so: the suite holds it to taking everything quietly.
    features = frozenset({ObservabilityFeature.DISCARDS})
