"""meshkit.latency-first.v1: lowest latency EWMA, with deterministic exploration."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from rotation_helpers import REQUEST, picks, snap, standby

from meshkit.connectors.rotation import LatencyFirst
from meshkit.testing import FakeClock
from meshkit.types import ModelSnapshot


def measured(
    model_id: str, latency: float, at_minutes: int, clock: FakeClock, **fields: object
) -> ModelSnapshot:
    return snap(
        model_id,
        latency_ewma_ms=latency,
        last_success_at=clock.now() - timedelta(minutes=at_minutes),
        **fields,
    )


def test_picks_the_lowest_latency(clock: FakeClock) -> None:
    candidates = [measured("p.slow", 900, 1, clock), measured("p.fast", 120, 1, clock)]
    policy = LatencyFirst({"explore_every": 0})
    assert picks(policy, candidates, 5, now=clock.now()) == ["p.fast"] * 5


def test_an_unmeasured_model_is_sent_one_request_then_waits_for_its_measurement(clock: FakeClock) -> None:
    policy = LatencyFirst({"explore_every": 0, "exploration_timeout": "30s"})
    fast = measured("p.fast", 100, 1, clock)
    new = snap("p.new")
    assert picks(policy, [fast, new], 3, now=clock.now()) == ["p.new", "p.fast", "p.fast"]


@pytest.mark.anyio
async def test_an_unanswered_exploration_is_retried_after_the_timeout(clock: FakeClock) -> None:
    policy = LatencyFirst({"explore_every": 0, "exploration_timeout": "30s"})
    fast = measured("p.fast", 100, 1, clock)
    new = snap("p.new")
    assert picks(policy, [fast, new], 2, now=clock.now()) == ["p.new", "p.fast"]
    await clock.advance(29)
    assert picks(policy, [fast, new], 1, now=clock.now()) == ["p.fast"]
    await clock.advance(1)
    assert picks(policy, [fast, new], 2, now=clock.now()) == ["p.new", "p.fast"]


@pytest.mark.anyio
async def test_once_measured_a_model_competes_on_latency(clock: FakeClock) -> None:
    policy = LatencyFirst({"explore_every": 0})
    fast = measured("p.fast", 100, 1, clock)
    assert picks(policy, [fast, snap("p.new")], 1, now=clock.now()) == ["p.new"]
    await clock.advance(2)
    faster = snap("p.new", latency_ewma_ms=50, last_success_at=clock.now())
    assert picks(policy, [fast, faster], 3, now=clock.now()) == ["p.new"] * 3
    slower = snap("p.new", latency_ewma_ms=500, last_success_at=clock.now())
    assert picks(policy, [fast, slower], 3, now=clock.now()) == ["p.fast"] * 3


def test_a_recovered_model_is_measured_again_before_being_judged(clock: FakeClock) -> None:
    policy = LatencyFirst({"explore_every": 0})
    fast = measured("p.fast", 100, 1, clock)
    # Slow before it went to standby; activated again since its last answer.
    recovered = measured("p.back", 2000, 10, clock, activated_at=clock.now() - timedelta(minutes=1))
    assert picks(policy, [fast, recovered], 3, now=clock.now()) == ["p.back", "p.fast", "p.fast"]


def test_every_nth_selection_explores_the_least_recently_measured(clock: FakeClock) -> None:
    policy = LatencyFirst({"explore_every": 5})
    candidates = [
        measured("p.fast", 100, 1, clock),
        measured("p.old", 800, 60, clock),
        measured("p.mid", 300, 5, clock),
    ]
    sequence = picks(policy, candidates, 20, now=clock.now())
    assert sequence[4] == sequence[9] == sequence[14] == sequence[19] == "p.old"
    assert Counter(sequence) == {"p.fast": 16, "p.old": 4}


def test_exploration_can_be_switched_off(clock: FakeClock) -> None:
    candidates = [measured("p.fast", 100, 1, clock), measured("p.old", 800, 60, clock)]
    assert set(picks(LatencyFirst({"explore_every": 0}), candidates, 100, now=clock.now())) == {"p.fast"}


def test_standby_models_are_never_explored(clock: FakeClock) -> None:
    policy = LatencyFirst({"explore_every": 1})
    candidates = [measured("p.fast", 100, 1, clock), standby("p.unmeasured")]
    assert picks(policy, candidates, 4, now=clock.now()) == ["p.fast"] * 4


def test_with_every_model_awaiting_measurement_the_first_is_used(clock: FakeClock) -> None:
    policy = LatencyFirst()
    candidates = [snap("p.a"), snap("p.b")]
    assert picks(policy, candidates, 4, now=clock.now()) == ["p.a", "p.b", "p.a", "p.a"]
    assert policy.select([standby("p.a")], REQUEST, clock.now()) is None
