"""meshkit.weighted.v1: smooth weighted round-robin by weight or quota headroom."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rotation_helpers import NOW, REQUEST, picks, snap, standby

from meshkit.connectors.rotation import Weighted
from meshkit.errors import ConfigError


def test_picks_are_spread_out_not_bunched() -> None:
    candidates = [snap("p.a", weight=5), snap("p.b", weight=1), snap("p.c", weight=1)]
    assert picks(Weighted(), candidates, 7) == ["p.a", "p.a", "p.b", "p.a", "p.c", "p.a", "p.a"]


@pytest.mark.parametrize("weights", [(1, 1), (3, 1), (2, 3, 5), (7, 0, 1), (10, 20, 30, 40)])
def test_each_cycle_gives_every_model_exactly_its_weight(weights: tuple[int, ...]) -> None:
    candidates = [snap(f"p.m{i}", weight=w) for i, w in enumerate(weights)]
    policy = Weighted()
    total = sum(weights)
    for _ in range(3):  # the shares hold in every cycle, not only on average
        counts = Counter(picks(policy, candidates, total))
        assert [counts.get(f"p.m{i}", 0) for i in range(len(weights))] == list(weights)


def test_configured_weights_override_the_models_own() -> None:
    policy = Weighted({"weights": {"p.a": 1, "p.b": 3}})
    candidates = [snap("p.a", weight=100), snap("p.b", weight=1)]
    assert Counter(picks(policy, candidates, 40)) == {"p.a": 10, "p.b": 30}


def test_all_weights_zero_share_equally() -> None:
    candidates = [snap("p.a", weight=0), snap("p.b", weight=0)]
    assert Counter(picks(Weighted(), candidates, 10)) == {"p.a": 5, "p.b": 5}


def test_standby_models_get_nothing_and_the_rest_keep_their_ratio() -> None:
    candidates = [snap("p.a", weight=2), standby("p.b", weight=50), snap("p.c", weight=1)]
    assert Counter(picks(Weighted(), candidates, 30)) == {"p.a": 20, "p.c": 10}


def test_headroom_shares_by_requests_left_in_the_quota() -> None:
    policy = Weighted({"weight_by": "headroom"})
    candidates = [
        snap("p.a", limits={"requests": 1000}, requests=700),  # 300 left
        snap("p.b", limits={"requests": 200}, requests=100),  # 100 left
        snap("p.c", limits={"requests": 50}, requests=60),  # over: 0 left
    ]
    assert Counter(picks(policy, candidates, 40)) == {"p.a": 30, "p.b": 10}


def test_relative_headroom_shares_by_the_fraction_left() -> None:
    policy = Weighted({"weight_by": "relative-headroom", "quota": "tokens"})
    candidates = [
        snap("p.a", limits={"tokens": 1000}, tokens=250),  # 75% left
        snap("p.b", limits={"tokens": 100_000}, tokens=75_000),  # 25% left
    ]
    assert Counter(picks(policy, candidates, 40)) == {"p.a": 30, "p.b": 10}


def test_a_model_without_the_limit_counts_as_the_roomiest() -> None:
    absolute = Weighted({"weight_by": "headroom"})
    candidates = [snap("p.a", limits={"requests": 100}, requests=70), snap("p.free")]
    assert Counter(picks(absolute, candidates, 20)) == {"p.a": 10, "p.free": 10}
    relative = Weighted({"weight_by": "relative-headroom"})
    candidates = [snap("p.a", limits={"requests": 100}, requests=50), snap("p.free")]
    assert Counter(picks(relative, candidates, 30)) == {"p.a": 10, "p.free": 20}


def test_headroom_follows_the_counters_as_they_move() -> None:
    policy = Weighted({"weight_by": "headroom"})
    used = {"p.a": 0, "p.b": 0}
    for _ in range(150):
        candidates = [snap(m, limits={"requests": 100}, requests=n) for m, n in used.items()]
        chosen = policy.select(candidates, REQUEST, NOW)
        assert chosen is not None
        used[chosen.model_id] += 1
    # Drawing down whichever has more left keeps the two level.
    assert abs(used["p.a"] - used["p.b"]) <= 1


def test_negative_weights_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"config\.weights: expected weights of 0 or more"):
        Weighted({"weights": {"p.a": -1}})


def test_unknown_mode_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"config\.weight_by: expected one of 'weight', 'headroom'"):
        Weighted({"weight_by": "random"})


def _reference_turn(state: dict[str, float], model_ids: list[str], weights: list[float]) -> int:
    # nginx's smooth weighted round-robin written as the plain loop it is.
    total = 0.0
    for weight in weights:
        total += weight
    if total <= 0:
        weights, total = [1.0] * len(weights), float(len(weights))
    chosen, best = -1, 0.0
    for position, (model_id, weight) in enumerate(zip(model_ids, weights, strict=True)):
        value = state.get(model_id, 0.0) + weight
        state[model_id] = value
        if chosen < 0 or value > best:
            chosen, best = position, value
    state[model_ids[chosen]] = best - total
    if len(state) > 2 * len(model_ids) + 16:  # as the policy forgets models long gone
        kept = {k: v for k, v in state.items() if k in set(model_ids)}
        state.clear()
        state.update(kept)
    return chosen


@given(
    weights=st.lists(
        st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 7.0]) | st.floats(0, 100, allow_nan=False),
        min_size=1,
        max_size=12,
    ),
    rounds=st.integers(1, 40),
)
def test_a_turn_picks_what_the_plain_loop_picks(weights: list[float], rounds: int) -> None:
    policy = Weighted()
    model_ids = [f"m{i}" for i in range(len(weights))]
    reference: dict[str, float] = {}
    for _ in range(rounds):
        assert policy._turn("pool", model_ids, weights) == _reference_turn(reference, model_ids, weights)
        assert policy._turns["pool"].values() == reference


@given(
    turns=st.lists(
        st.tuples(
            st.lists(st.integers(0, 40), min_size=1, max_size=10, unique=True),
            st.lists(st.sampled_from([0.0, 1.0, 2.0, 5.0]), min_size=10, max_size=10),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_models_leaving_and_returning_keep_the_values_the_plain_loop_keeps(
    turns: list[tuple[list[int], list[float]]],
) -> None:
    policy = Weighted()
    reference: dict[str, float] = {}
    for members, weights in turns:
        model_ids = [f"m{i}" for i in members]
        shares = weights[: len(model_ids)]
        assert policy._turn("pool", model_ids, shares) == _reference_turn(reference, model_ids, shares)
        assert policy._turns["pool"].values() == reference
