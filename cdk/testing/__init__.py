"""Tools for testing meshkit connectors: the conformance suite, fakes and fixtures.

The suite classes (``ProviderSuite``, ``StorageSuite``, …) import pytest and Hypothesis,
so they are loaded only when first asked for.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .blocking import StallGate
from .fake_clock import FakeClock
from .fault_transport import FaultTransport
from .faults import Fault
from .metric_samples import Metrics, MetricSample
from .payloads import openai_payloads
from .rotation_rules import IN_TURN, MOST_PREFERRED, STICKY, SelectionRule, Step
from .spec import (
    DISCOVERY_CONTEXT_WINDOW,
    DISCOVERY_SCENARIO,
    ConformanceSpec,
    Delivered,
    HTTPPayloads,
    Loopback,
    Options,
)
from .target import ConformanceTarget
from .vectors import fake_embedding

if TYPE_CHECKING:
    from .base import ConformanceSuite, UndeclaredFeatureWarning
    from .discovery_suite import DiscoverySuite
    from .observability_suite import ObservabilitySuite
    from .provider_suite import ProviderSuite
    from .rotation_suite import RotationSuite
    from .secret_store_suite import SecretStoreSuite
    from .storage_suite import StorageSuite

__all__ = [
    "DISCOVERY_CONTEXT_WINDOW",
    "DISCOVERY_SCENARIO",
    "IN_TURN",
    "MOST_PREFERRED",
    "STICKY",
    "SUITE_VERSION",
    "ConformanceSpec",
    "ConformanceSuite",
    "ConformanceTarget",
    "Delivered",
    "DiscoverySuite",
    "FakeClock",
    "Fault",
    "FaultTransport",
    "HTTPPayloads",
    "Loopback",
    "MetricSample",
    "Metrics",
    "ObservabilitySuite",
    "Options",
    "ProviderSuite",
    "RotationSuite",
    "SecretStoreSuite",
    "SelectionRule",
    "StallGate",
    "Step",
    "StorageSuite",
    "UndeclaredFeatureWarning",
    "fake_embedding",
    "openai_payloads",
]

#: Bumped whenever a test is added or a check tightened; recorded in every report.
SUITE_VERSION = "1.6"

_LAZY = {
    "ConformanceSuite": ".base",
    "UndeclaredFeatureWarning": ".base",
    "DiscoverySuite": ".discovery_suite",
    "ObservabilitySuite": ".observability_suite",
    "ProviderSuite": ".provider_suite",
    "RotationSuite": ".rotation_suite",
    "SecretStoreSuite": ".secret_store_suite",
    "StorageSuite": ".storage_suite",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'meshkit.testing' has no attribute {name!r}")
    return getattr(import_module(module, __name__), name)
