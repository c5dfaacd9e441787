"""meshkit.priority.v1: the most preferred active model."""

from __future__ import annotations

import pytest
from rotation_helpers import NOW, REQUEST, picks, snap, standby

from meshkit.connectors.rotation import Priority
from meshkit.errors import ConfigError


def test_listed_models_come_first_in_the_listed_order() -> None:
    policy = Priority({"models": ["b.big", "a.small"]})
    candidates = [snap("a.small"), snap("c.other"), snap("b.big")]
    assert picks(policy, candidates, 2) == ["b.big", "b.big"]
    assert picks(policy, [snap("a.small"), snap("c.other"), standby("b.big")], 1) == ["a.small"]


def test_unlisted_models_follow_the_provider_order_then_their_own_priority() -> None:
    policy = Priority({"models": ["a.x"], "providers": ["c", "b"]})
    candidates = [snap("b.y"), snap("d.z", priority=-5), snap("c.w"), snap("a.x")]
    order = []
    remaining = list(candidates)
    while remaining:
        chosen = policy.select(remaining, REQUEST, NOW)
        assert chosen is not None
        order.append(chosen.model_id)
        remaining = [c for c in remaining if c.model_id != chosen.model_id]
    assert order == ["a.x", "c.w", "b.y", "d.z"]


def test_without_lists_the_model_priority_then_pool_order_decides() -> None:
    candidates = [snap("p.a", priority=3), snap("p.b", priority=1), snap("p.c", priority=1)]
    assert picks(Priority(), candidates, 1) == ["p.b"]


def test_traffic_returns_to_the_preferred_model_once_it_recovers() -> None:
    policy = Priority({"models": ["p.main", "p.backup"]})
    assert picks(policy, [standby("p.main"), snap("p.backup")], 1) == ["p.backup"]
    assert picks(policy, [snap("p.main"), snap("p.backup")], 1) == ["p.main"]


def test_duplicate_entries_are_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"config\.models: expected a list without duplicates"):
        Priority({"models": ["p.a", "p.a"]})


def test_nothing_active_gives_none() -> None:
    assert Priority({"models": ["p.a"]}).select([standby("p.a")], REQUEST, NOW) is None
