"""How the conformance suite builds the connector.

A rotation policy is pure, so the suite needs only its config: Hypothesis feeds it
arbitrary pools and histories. The suite also passes its own thresholds
(failure_threshold, error_rate_threshold, cooldown...) to check the lifecycle rules.
"""

from __future__ import annotations

from meshkit.testing import ConformanceSpec


def conformance_spec() -> ConformanceSpec:
    """The policy's config in tests (add your own settings here)."""
    return ConformanceSpec(config={})
