"""meshkit.round-robin.v1: each active model in turn."""

from __future__ import annotations

from collections import Counter

from rotation_helpers import NOW, REQUEST, picks, pool, snap, standby

from meshkit.connectors.rotation import RoundRobin


def test_serves_models_in_pool_order_and_wraps_around() -> None:
    assert picks(RoundRobin(), pool(3), 7) == ["p.m0", "p.m1", "p.m2", "p.m0", "p.m1", "p.m2", "p.m0"]


def test_every_model_gets_an_equal_share_over_many_selections() -> None:
    counts = Counter(picks(RoundRobin(), pool(7), 7 * 50))
    assert set(counts.values()) == {50}
    assert len(counts) == 7


def test_skips_standby_candidates() -> None:
    candidates = [snap("p.a"), standby("p.b"), snap("p.c")]
    assert picks(RoundRobin(), candidates, 4) == ["p.a", "p.c", "p.a", "p.c"]


def test_model_leaving_the_pool_does_not_cost_the_next_one_its_turn() -> None:
    policy = RoundRobin()
    a, b, c, d = (snap(f"p.{x}") for x in "abcd")
    assert picks(policy, [a, b, c, d], 2) == ["p.a", "p.b"]
    # b (just served) goes to standby and drops out of the candidates: c is next, not d.
    assert picks(policy, [a, c, d], 3) == ["p.c", "p.d", "p.a"]


def test_the_served_model_leaving_hands_the_turn_to_its_successor() -> None:
    policy = RoundRobin()
    a, b, c = (snap(f"p.{x}") for x in "abc")
    assert picks(policy, [a, b, c], 2) == ["p.a", "p.b"]
    assert picks(policy, [a, c], 1) == ["p.c"]


def test_a_model_joining_the_pool_gets_its_turn_in_place() -> None:
    policy = RoundRobin()
    a, b, c = (snap(f"p.{x}") for x in "abc")
    assert picks(policy, [a, c], 1) == ["p.a"]
    assert picks(policy, [a, b, c], 3) == ["p.b", "p.c", "p.a"]


def test_pools_keep_separate_turns() -> None:
    policy = RoundRobin()
    chat = pool(2)
    other = [snap("p.x", pool_id="other"), snap("p.y", pool_id="other")]
    assert picks(policy, chat, 1) == ["p.m0"]
    assert picks(policy, other, 1) == ["p.x"]
    assert picks(policy, chat, 1) == ["p.m1"]


def test_nothing_active_gives_none() -> None:
    policy = RoundRobin()
    assert policy.select([], REQUEST, NOW) is None
    assert policy.select([standby("p.a"), standby("p.b")], REQUEST, NOW) is None
