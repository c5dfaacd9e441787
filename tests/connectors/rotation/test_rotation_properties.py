"""Invariants every built-in policy holds, checked with Hypothesis."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from rotation_helpers import NOW, POOL, REQUEST

from meshkit.connectors.rotation import (
    CONNECTORS,
    CostFirst,
    LatencyFirst,
    Priority,
    RateLimitAware,
    RoundRobin,
    SessionSticky,
    StickUntilFailure,
    Weighted,
)
from meshkit.enums import ModelStatus
from meshkit.interfaces.rotation import RotationPolicy
from meshkit.runtime.candidates import Candidates
from meshkit.types import CompletionRequest, ModelPricing, ModelSnapshot

#: Each policy with its defaults and with settings that exercise its other paths.
CONFIGS: list[tuple[type[RotationPolicy], dict[str, Any]]] = [(cls, {}) for cls in CONNECTORS] + [
    (Weighted, {"weight_by": "headroom"}),
    (Weighted, {"weight_by": "relative-headroom", "quota": "tokens"}),
    (Weighted, {"weights": {"a.m0": 0, "b.m1": 3}}),
    (LatencyFirst, {"explore_every": 3, "exploration_timeout": "1m"}),
    (SessionSticky, {"max_sessions": 2, "session_ttl": "1m"}),
    (RateLimitAware, {"request_threshold": 0.5, "limits": {"a.m0": {"requests_per_minute": 3}}}),
    (CostFirst, {"unpriced": "free", "default_output_tokens": 0}),
    (Priority, {"models": ["b.m1", "a.m0"], "providers": ["c", "a"]}),
]
CONFIG_IDS = st.sampled_from(range(len(CONFIGS)))

moments = st.integers(min_value=0, max_value=3600).map(lambda s: NOW - timedelta(seconds=s))


@st.composite
def snapshot(draw: st.DrawFn, index: int) -> ModelSnapshot:
    provider = draw(st.sampled_from("abc"))
    return ModelSnapshot(
        model_id=f"{provider}.m{index}",
        provider_id=provider,
        pool_id=POOL,
        status=draw(st.sampled_from(ModelStatus)),
        priority=draw(st.integers(-2, 2)),
        weight=draw(st.integers(0, 5).map(float)),
        pricing=draw(
            st.none()
            | st.builds(ModelPricing, input_per_1k=st.integers(0, 5), output_per_1k=st.integers(0, 5))
        ),
        latency_ewma_ms=draw(st.none() | st.integers(1, 3000).map(float)),
        last_success_at=draw(st.none() | moments),
        last_failure_at=draw(st.none() | moments),
        activated_at=draw(st.none() | moments),
        requests=draw(st.integers(0, 200)),
        tokens=draw(st.integers(0, 20_000)),
        requests_last_minute=draw(st.integers(0, 20)),
        tokens_last_minute=draw(st.integers(0, 5_000)),
        limits=draw(
            st.dictionaries(
                st.sampled_from(["requests", "tokens", "requests_per_minute", "tokens_per_minute"]),
                st.integers(1, 10_000).map(float),
            )
        ),
    )


@st.composite
def pools(draw: st.DrawFn, min_size: int = 0) -> list[ModelSnapshot]:
    size = draw(st.integers(min_size, 8))
    return [draw(snapshot(i)) for i in range(size)]


Script = list[tuple[list[ModelSnapshot], CompletionRequest, int]]


@st.composite
def steps(draw: st.DrawFn) -> Script:
    """A run of selections: the pool changes, sessions recur, time moves forward."""
    base = draw(pools(min_size=1))
    out = []
    elapsed = 0
    for _ in range(draw(st.integers(1, 25))):
        members = [
            attrs.evolve(m, status=draw(st.sampled_from(ModelStatus)))
            for m in base
            if draw(st.integers(0, 9)) > 0
        ]
        req = CompletionRequest(
            messages=[{"role": "user", "content": "x" * draw(st.integers(0, 400))}],
            max_tokens=draw(st.none() | st.integers(1, 2000)),
            session_id=draw(st.none() | st.sampled_from(["s1", "s2", "s3"])),
        )
        elapsed += draw(st.integers(0, 90))
        out.append((members, req, elapsed))
    return out


def run(policy: RotationPolicy, script: Script) -> list[str | None]:
    seen = []
    for members, req, elapsed in script:
        chosen = policy.select(members, req, NOW + timedelta(seconds=elapsed))
        seen.append(chosen.model_id if chosen is not None else None)
    return seen


@settings(max_examples=100, deadline=None)
@given(which=CONFIG_IDS, script=steps())
def test_select_returns_an_active_candidate_or_none_when_there_is_none(which: int, script: Script) -> None:
    cls, config = CONFIGS[which]
    policy = cls(config)
    for members, req, elapsed in script:
        chosen = policy.select(members, req, NOW + timedelta(seconds=elapsed))
        if any(m.is_active for m in members):
            assert chosen is not None
            assert any(chosen is m for m in members), "not one of the given candidates"
            assert chosen.is_active
        else:
            assert chosen is None


@settings(max_examples=50, deadline=None)
@given(which=CONFIG_IDS, script=steps())
def test_fresh_instances_choose_alike_for_equal_inputs(which: int, script: Script) -> None:
    cls, config = CONFIGS[which]
    assert run(cls(config), script) == run(cls(config), script)


def as_candidates(script: Script) -> Script:
    """The same script with each pool as a mesh hands it over: ``Candidates``, which say which
    models they are (and whether all are active), the same id list while the pool is the same."""
    lists: dict[tuple[str, ...], list[str]] = {}
    out: Script = []
    for members, req, elapsed in script:
        ids = lists.setdefault(tuple(m.model_id for m in members), [m.model_id for m in members])
        by_id = {m.model_id: m for m in members}
        every = all(m.is_active for m in members)
        out.append((Candidates(ids, by_id.__getitem__, all_active=every), req, elapsed))  # type: ignore[arg-type]
    return out


@settings(max_examples=150, deadline=None)
@given(which=CONFIG_IDS, script=steps())
def test_what_a_policy_keeps_between_selections_never_changes_its_choice(which: int, script: Script) -> None:
    """A policy that keeps an order per set of candidates chooses as one that looks at every model."""
    cls, config = CONFIGS[which]
    assert run(cls(config), as_candidates(script)) == run(cls(config), script)


@given(members=pools(min_size=1), rounds=st.integers(1, 5))
def test_round_robin_gives_every_active_model_the_same_share(
    members: list[ModelSnapshot], rounds: int
) -> None:
    active = [m.model_id for m in members if m.is_active]
    policy = RoundRobin()
    counts = Counter(run(policy, [(members, REQUEST, 0)] * (len(active) * rounds)))
    assert counts == dict.fromkeys(active, rounds) if active else counts == {None: 0} or not counts


@given(weights=st.lists(st.integers(0, 6), min_size=1, max_size=8), cycles=st.integers(1, 3))
def test_weighted_gives_exact_shares_in_every_cycle(weights: list[int], cycles: int) -> None:
    members = [ModelSnapshot(model_id=f"p.m{i}", provider_id="p", weight=w) for i, w in enumerate(weights)]
    total = sum(weights)
    policy = Weighted()
    # Weights all 0 mean equal shares: one each per cycle.
    expected = (
        {f"p.m{i}": w for i, w in enumerate(weights) if w}
        if total
        else dict.fromkeys((f"p.m{i}" for i in range(len(weights))), 1)
    )
    for _ in range(cycles):
        counts = Counter(run(policy, [(members, REQUEST, 0)] * sum(expected.values())))
        assert counts == expected


@given(members=pools(min_size=1), repeats=st.integers(2, 10))
def test_stick_until_failure_stays_put_on_a_stable_pool(members: list[ModelSnapshot], repeats: int) -> None:
    assert len(set(run(StickUntilFailure(), [(members, REQUEST, 0)] * repeats))) == 1


@given(members=pools(min_size=1), sessions=st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=30))
def test_a_session_keeps_its_model_while_the_pool_is_stable(
    members: list[ModelSnapshot], sessions: list[str]
) -> None:
    policy = SessionSticky()
    bound: dict[str, str | None] = {}
    for session in sessions:
        req = CompletionRequest(messages=[{"role": "user", "content": "hi"}], session_id=session)
        chosen = policy.select(members, req, NOW)
        model = chosen.model_id if chosen is not None else None
        assert bound.setdefault(session, model) == model


@given(members=pools(min_size=1), text=st.text(max_size=300), max_tokens=st.none() | st.integers(1, 4000))
def test_cost_first_picks_a_cheapest_active_model(
    members: list[ModelSnapshot], text: str, max_tokens: int | None
) -> None:
    policy = CostFirst()
    req = CompletionRequest(messages=[{"role": "user", "content": text}], max_tokens=max_tokens)
    chosen = policy.select(members, req, NOW)
    active = [m for m in members if m.is_active]
    if not active:
        return
    assert chosen is not None
    prompt, output = req.estimated_prompt_tokens(), max_tokens if max_tokens is not None else 256
    assert policy.estimated_cost(chosen, prompt, output) == min(
        policy.estimated_cost(m, prompt, output) for m in active
    )


@given(members=pools(min_size=1))
def test_latency_first_without_exploration_picks_the_fastest_measured(members: list[ModelSnapshot]) -> None:
    settled = [attrs.evolve(m, activated_at=None) for m in members if m.latency_ewma_ms is not None]
    active = [m for m in settled if m.is_active]
    chosen = LatencyFirst({"explore_every": 0}).select(settled, REQUEST, NOW)
    if not active:
        assert chosen is None
        return
    assert chosen is not None
    assert chosen.latency_ewma_ms == min(m.latency_ewma_ms for m in active if m.latency_ewma_ms is not None)


@given(members=pools(min_size=1))
def test_rate_limit_aware_prefers_any_model_with_room(members: list[ModelSnapshot]) -> None:
    policy = RateLimitAware()
    cfg = policy.config
    tokens = REQUEST.estimated_prompt_tokens() + cfg.default_output_tokens

    def has_room(m: ModelSnapshot) -> bool:
        requests, used = policy.load(m, tokens)
        return requests <= cfg.request_threshold and used <= cfg.token_threshold

    chosen = policy.select(members, REQUEST, NOW)
    if any(has_room(m) for m in members if m.is_active):
        assert chosen is not None and has_room(chosen)
