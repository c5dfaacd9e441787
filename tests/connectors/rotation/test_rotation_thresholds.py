"""Every built-in policy: thresholds from its config, cooldowns on the clock, registration."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rotation_helpers import snap

from meshkit.connectors.rotation import CONNECTORS
from meshkit.enums import ConnectorType, DeactivationReason, ModelStatus, RecoveryTrigger
from meshkit.errors import ConfigError
from meshkit.interfaces.rotation import RotationPolicy, ThresholdConfig
from meshkit.plugins import get_registry
from meshkit.testing import FakeClock

EXPECTED_IDS = {
    "meshkit.stick-until-failure.v1",
    "meshkit.priority.v1",
    "meshkit.round-robin.v1",
    "meshkit.weighted.v1",
    "meshkit.cost-first.v1",
    "meshkit.latency-first.v1",
    "meshkit.rate-limit-aware.v1",
    "meshkit.session-sticky.v1",
}

policies = pytest.mark.parametrize("cls", CONNECTORS, ids=lambda c: c.connector_id)


def test_every_policy_is_listed_and_valid() -> None:
    assert {cls.connector_id for cls in CONNECTORS} == EXPECTED_IDS
    for cls in CONNECTORS:
        cls.validate_class()
        assert issubclass(cls, RotationPolicy)
        assert issubclass(cls.Config, ThresholdConfig)
        assert cls.description


@pytest.mark.usefixtures("fresh_registry")
def test_the_registry_finds_every_policy_by_its_short_name() -> None:
    registry = get_registry()
    for connector_id in EXPECTED_IDS:
        name = connector_id.split(".")[1]
        assert registry.get(name, ConnectorType.ROTATION).connector_id == connector_id


@policies
def test_consecutive_failures_reach_the_configured_threshold(cls: type[RotationPolicy]) -> None:
    policy = cls({"failure_threshold": 2})
    now = FakeClock().now()
    assert policy.should_deactivate(snap("p.a", consecutive_failures=1), now) is None
    assert policy.should_deactivate(snap("p.a", consecutive_failures=2), now) is (
        DeactivationReason.ERROR_THRESHOLD
    )


@policies
def test_the_error_rate_counts_only_past_the_minimum_requests(cls: type[RotationPolicy]) -> None:
    policy = cls({"error_rate_threshold": 0.5, "error_rate_min_requests": 10})
    now = FakeClock().now()
    assert policy.should_deactivate(snap("p.a", window_requests=4, window_failures=4), now) is None
    assert policy.should_deactivate(snap("p.a", window_requests=10, window_failures=4), now) is None
    assert policy.should_deactivate(snap("p.a", window_requests=10, window_failures=5), now) is (
        DeactivationReason.ERROR_THRESHOLD
    )


@policies
@pytest.mark.anyio
async def test_a_model_recovers_when_its_cooldown_has_passed(
    cls: type[RotationPolicy], clock: FakeClock
) -> None:
    policy = cls({"cooldown": "90s"})
    reason = DeactivationReason.ERROR_THRESHOLD
    cooldown = policy.cooldown_for(snap("p.a"), reason)
    assert cooldown == timedelta(seconds=90)
    resting = snap(
        "p.a",
        status=ModelStatus.STANDBY,
        deactivation_reason=reason,
        deactivated_at=clock.now(),
        cooldown_until=clock.now() + cooldown,
    )
    await clock.advance(89)
    assert policy.should_recover(resting, clock.now()) is None
    await clock.advance(1)
    assert policy.should_recover(resting, clock.now()) is RecoveryTrigger.COOLDOWN_EXPIRED


@policies
def test_budget_and_manual_deactivations_do_not_end_by_cooldown(cls: type[RotationPolicy]) -> None:
    policy = cls()
    for reason in (DeactivationReason.BUDGET_EXCEEDED, DeactivationReason.MANUAL):
        assert policy.cooldown_for(snap("p.a"), reason) is None


@policies
def test_a_bad_threshold_is_a_config_error_naming_the_key(cls: type[RotationPolicy]) -> None:
    with pytest.raises(ConfigError, match=r"config\.failure_threshold: expected at least 1"):
        cls({"failure_threshold": 0})
    with pytest.raises(ConfigError, match=r"config\.cooldwn: unknown key; did you mean 'cooldown'\?"):
        cls({"cooldwn": "30s"})
