"""Built-in rotation policies."""

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
