"""Built-in rotation policies."""

from typing import Any

from .cost_first import CostFirst
from .latency_first import LatencyFirst
from .priority import Priority
from .rate_limit_aware import RateLimitAware
from .round_robin import RoundRobin
from .session_sticky import SessionSticky
from .stick_until_failure import StickUntilFailure
from .weighted import Weighted

__all__ = [
    "CostFirst",
    "LatencyFirst",
    "Priority",
    "RateLimitAware",
    "RoundRobin",
    "SessionSticky",
    "StickUntilFailure",
    "Weighted",
    "conformance_spec",
]

CONNECTORS = [
    StickUntilFailure,
    Priority,
    RoundRobin,
    Weighted,
    CostFirst,
    LatencyFirst,
    RateLimitAware,
    SessionSticky,
]


def conformance_spec(connector_id: str) -> Any:
    """The selection rule each policy that has one is held to by the conformance suite."""
    from meshkit.testing import IN_TURN, MOST_PREFERRED, STICKY, ConformanceSpec

    rules = {
        RoundRobin.connector_id: IN_TURN,
        StickUntilFailure.connector_id: STICKY,
        Priority.connector_id: MOST_PREFERRED,
    }
    rule = rules.get(connector_id)
    return None if rule is None else ConformanceSpec(rule=rule)
