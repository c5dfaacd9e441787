"""How the conformance suite builds the connector.

The suite attaches the connector to providers of its own: ``alpha`` and ``beta``
offer the models of ``meshkit.testing.DISCOVERY_SCENARIO``, ``down`` fails every
call and ``exploding`` even raises from its probe. The static catalogue is
configured with what ``alpha`` and ``beta`` offer. REPLACE the config with what your
connector needs to find those models (e.g. the address of a test registry started
by a ``setup`` context manager).
"""

from __future__ import annotations

from meshkit.testing import DISCOVERY_CONTEXT_WINDOW, DISCOVERY_SCENARIO, ConformanceSpec


def conformance_spec() -> ConformanceSpec:
    """The scenario's models, with the context window the suite's providers report."""
    models = {
        provider: {name: {"context_window": DISCOVERY_CONTEXT_WINDOW} for name in names}
        for provider, names in DISCOVERY_SCENARIO.items()
    }
    return ConformanceSpec(config={"models": models})
