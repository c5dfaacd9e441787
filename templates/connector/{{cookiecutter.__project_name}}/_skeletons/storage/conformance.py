"""How the conformance suite builds the connector.

Hypothesis drives the store against a plain dict and checks every answer. REPLACE
the spec when your store needs a running backend: give ``setup`` an async context
manager that starts one (or makes a temporary folder) and yields the config that
points at it; give ``reopen`` if a fresh instance over the same data needs more than
the same config (PERSISTENT); set ``uses_injected_clock=False`` if lock expiry is
timed by the server rather than by the connector's clock.
"""

from __future__ import annotations

from meshkit.testing import ConformanceSpec


def conformance_spec() -> ConformanceSpec:
    """The store's config in tests."""
    return ConformanceSpec(config={})
