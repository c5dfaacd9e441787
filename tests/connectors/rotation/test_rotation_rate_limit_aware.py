"""meshkit.rate-limit-aware.v1: move off a model before its per-minute limits."""

from __future__ import annotations

import pytest
from rotation_helpers import NOW, REQUEST, request, snap, standby

from meshkit.connectors.rotation import RateLimitAware
from meshkit.errors import ConfigError
from meshkit.types import CompletionRequest, ModelSnapshot

RPM_10 = {"requests_per_minute": 10}


def chosen(policy: RateLimitAware, candidates: list[ModelSnapshot], req: CompletionRequest = REQUEST) -> str:
    result = policy.select(candidates, req, NOW)
    assert result is not None
    return result.model_id


def test_stays_on_the_preferred_model_while_it_has_room() -> None:
    policy = RateLimitAware()
    candidates = [snap("p.main", limits=RPM_10, requests_last_minute=5), snap("p.spare", limits=RPM_10)]
    assert chosen(policy, candidates) == "p.main"


def test_switches_away_at_the_request_threshold_not_at_the_limit() -> None:
    policy = RateLimitAware({"request_threshold": 0.9})
    spare = snap("p.spare", limits=RPM_10)
    # The 9th request in a minute reaches 90% of 10: still allowed. The 10th would pass it.
    assert chosen(policy, [snap("p.main", limits=RPM_10, requests_last_minute=8), spare]) == "p.main"
    assert chosen(policy, [snap("p.main", limits=RPM_10, requests_last_minute=9), spare]) == "p.spare"


def test_a_lower_threshold_switches_earlier() -> None:
    policy = RateLimitAware({"request_threshold": 0.5})
    spare = snap("p.spare", limits=RPM_10)
    assert chosen(policy, [snap("p.main", limits=RPM_10, requests_last_minute=4), spare]) == "p.main"
    assert chosen(policy, [snap("p.main", limits=RPM_10, requests_last_minute=5), spare]) == "p.spare"


def test_the_requests_own_tokens_count_against_the_token_threshold() -> None:
    policy = RateLimitAware({"token_threshold": 0.8})
    tpm = {"tokens_per_minute": 10_000}
    main = snap("p.main", limits=tpm, tokens_last_minute=7_000)
    spare = snap("p.spare", limits=tpm)
    assert chosen(policy, [main, spare], request("hi", max_tokens=500)) == "p.main"  # ~7,501 of 8,000
    assert chosen(policy, [main, spare], request("hi", max_tokens=1500)) == "p.spare"  # ~8,501


def test_configured_limits_override_the_models_own() -> None:
    policy = RateLimitAware({"limits": {"p.main": {"requests_per_minute": 100}}})
    candidates = [snap("p.main", limits=RPM_10, requests_last_minute=50), snap("p.spare")]
    assert chosen(policy, candidates) == "p.main"


def test_traffic_returns_when_the_last_minute_empties() -> None:
    policy = RateLimitAware()
    spare = snap("p.spare")
    assert chosen(policy, [snap("p.main", limits=RPM_10, requests_last_minute=9), spare]) == "p.spare"
    assert chosen(policy, [snap("p.main", limits=RPM_10, requests_last_minute=2), spare]) == "p.main"


def test_a_model_near_its_limit_is_passed_over_but_not_deactivated() -> None:
    policy = RateLimitAware()
    busy = snap("p.main", limits=RPM_10, requests_last_minute=10)
    assert policy.should_deactivate(busy, NOW) is None


def test_when_none_has_room_the_least_pressed_one_is_used() -> None:
    policy = RateLimitAware()
    candidates = [
        snap("p.a", limits=RPM_10, requests_last_minute=12),
        snap("p.b", limits={"requests_per_minute": 100}, requests_last_minute=95),
        standby("p.c"),
    ]
    assert chosen(policy, candidates) == "p.b"


def test_priority_decides_among_models_with_room() -> None:
    candidates = [snap("p.a", priority=5), snap("p.b", priority=1), snap("p.c", priority=1)]
    assert chosen(RateLimitAware(), candidates) == "p.b"


def test_thresholds_must_be_fractions() -> None:
    with pytest.raises(ConfigError, match=r"config\.request_threshold: expected a fraction in \(0, 1\]"):
        RateLimitAware({"request_threshold": 1.5})
    with pytest.raises(ConfigError, match=r"config\.limits\.p\.a\.requests_per_minute: expected at least 1"):
        RateLimitAware({"limits": {"p.a": {"requests_per_minute": 0}}})
