"""``meshkit.null.v1``: discards everything."""

from __future__ import annotations

from meshkit.interfaces import Observability, ObservabilityConfig


class NullObservability(Observability[ObservabilityConfig]):
    """Receives and drops; the default when no observability is configured."""

    connector_id = "meshkit.null.v1"
    description = "Discards events, logs and traces; the default"
    #: It delivers neither records nor metrics, and says so: the suite has nothing to certify.
    features = frozenset()
