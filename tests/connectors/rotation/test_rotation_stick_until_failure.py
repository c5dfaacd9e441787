"""meshkit.stick-until-failure.v1: one model until it is set aside."""

from __future__ import annotations

from rotation_helpers import NOW, REQUEST, picks, snap, standby

from meshkit.connectors.rotation import StickUntilFailure


def test_starts_on_the_highest_priority_model_and_stays() -> None:
    candidates = [snap("p.a", priority=2), snap("p.b", priority=1), snap("p.c", priority=1)]
    assert picks(StickUntilFailure(), candidates, 5) == ["p.b"] * 5


def test_moves_on_when_the_current_model_goes_standby_and_stays_on_the_new_one() -> None:
    policy = StickUntilFailure()
    a, b, c = snap("p.a"), snap("p.b"), snap("p.c")
    assert picks(policy, [a, b, c], 2) == ["p.a", "p.a"]
    assert picks(policy, [standby("p.a"), b, c], 2) == ["p.b", "p.b"]
    # a recovers: the policy does not go back, it sticks until b fails.
    assert picks(policy, [a, b, c], 2) == ["p.b", "p.b"]


def test_follows_its_model_when_the_pool_order_changes() -> None:
    policy = StickUntilFailure()
    a, b, c = snap("p.a"), snap("p.b"), snap("p.c")
    assert picks(policy, [a, b, c], 1) == ["p.a"]
    assert picks(policy, [c, b, a], 1) == ["p.a"]


def test_nothing_active_gives_none() -> None:
    policy = StickUntilFailure()
    assert policy.select([], REQUEST, NOW) is None
    assert policy.select([standby("p.a")], REQUEST, NOW) is None


def test_a_failover_pick_leaves_the_current_model_where_it_is() -> None:
    policy = StickUntilFailure()
    a, b, c = snap("p.a", priority=2), snap("p.b", priority=1), snap("p.c", priority=0)
    assert picks(policy, [a, b, c], 1) == ["p.c"]
    # p.c's call failed: the request is served elsewhere, by the preferred of the rest...
    fallback = policy.fallback([a, b], REQUEST, NOW)
    assert fallback is not None and fallback.model_id == "p.b"
    # ...while p.c stays the current model as long as it is active.
    assert picks(policy, [a, b, c], 2) == ["p.c", "p.c"]
    assert policy.fallback([], REQUEST, NOW) is None
