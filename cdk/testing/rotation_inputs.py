"""What the rotation suite feeds a policy: snapshots, pools, histories, and scenarios for a rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
from hypothesis import strategies as st

from ..enums import DeactivationReason, ModelStatus
from ..types import ModelPricing, ModelSnapshot
from .rotation_replay import LIMIT_KEYS

__all__ = ["EPOCH", "RULE_SCENARIOS", "evolving_histories", "histories", "pools", "snapshots"]

#: The time the suite's histories start at.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def snapshots(draw: st.DrawFn, model_id: st.SearchStrategy[str] | None = None) -> ModelSnapshot:
    """Any model state a pool could hold."""
    window_requests = draw(st.integers(0, 30))
    status = draw(st.sampled_from(list(ModelStatus)))
    standby = status is ModelStatus.STANDBY
    return ModelSnapshot(
        model_id=draw(model_id or st.sampled_from([f"m{i}" for i in range(10)])),
        provider_id=draw(st.sampled_from(["p1", "p2", "p3"])),
        pool_id="pool",
        status=status,
        deactivation_reason=draw(st.sampled_from(list(DeactivationReason))) if standby else None,
        consecutive_failures=draw(st.integers(0, 10)),
        window_requests=window_requests,
        window_failures=draw(st.integers(0, window_requests)),
        requests=draw(st.integers(0, 10_000)),
        tokens=draw(st.integers(0, 1_000_000)),
        cost=draw(st.floats(0, 100, allow_nan=False)),
        latency_ewma_ms=draw(st.none() | st.floats(1, 10_000, allow_nan=False)),
        cooldown_until=EPOCH + timedelta(seconds=draw(st.integers(-600, 600))) if standby else None,
        pricing=draw(
            st.none()
            | st.builds(
                ModelPricing,
                input_per_1k=st.floats(0, 0.1, allow_nan=False),
                output_per_1k=st.floats(0, 0.1, allow_nan=False),
            )
        ),
        priority=draw(st.integers(0, 3)),
        weight=draw(st.floats(0.1, 10, allow_nan=False)),
        limits=draw(st.dictionaries(st.sampled_from(LIMIT_KEYS), st.sampled_from([1.0, 10.0, 100.0]))),
        requests_last_minute=draw(st.integers(0, 20)),
        tokens_last_minute=draw(st.integers(0, 2000)),
    )


def pools(min_size: int = 0) -> st.SearchStrategy[list[ModelSnapshot]]:
    """Pools of distinct models, mixing ACTIVE and STANDBY."""
    return st.lists(snapshots(), min_size=min_size, max_size=6, unique_by=lambda s: s.model_id)


#: A history: pools as they stand at successive selections, and the session asking.
histories = st.lists(st.tuples(pools(), st.sampled_from([None, "alice", "bob"])), min_size=1, max_size=5)


@st.composite
def evolving_histories(draw: st.DrawFn) -> list[tuple[list[ModelSnapshot], str | None]]:
    """One pool over many selections, changing a little between them: where a policy's rule shows."""
    base = draw(pools(min_size=1))
    current = list(base)
    history: list[tuple[list[ModelSnapshot], str | None]] = []
    for _ in range(draw(st.integers(1, 12))):
        change = draw(st.sampled_from(["same", "same", "statuses", "reordered", "one left", "all back"]))
        if change == "statuses":
            current = [
                attrs.evolve(
                    s, status=draw(st.sampled_from([ModelStatus.ACTIVE] * 3 + [ModelStatus.STANDBY]))
                )
                for s in current
            ]
        elif change == "reordered":
            current = list(draw(st.permutations(current)))
        elif change == "one left" and len(current) > 1:
            current.pop(draw(st.integers(0, len(current) - 1)))
        elif change == "all back":
            current = list(base)
        history.append((list(current), None))
    return history


def _model(index: int, *, priority: int = 0, active: bool = True) -> ModelSnapshot:
    status = ModelStatus.ACTIVE if active else ModelStatus.STANDBY
    return ModelSnapshot(
        model_id=f"m{index}", provider_id="p1", pool_id="pool", status=status, priority=priority
    )


_FOUR = [_model(i) for i in range(4)]
_RESTING = [_model(0), _model(1, active=False), _model(2), _model(3)]
_RANKED = [
    _model(0, priority=2),
    _model(1, priority=1),
    _model(2, priority=1),
    _model(3, priority=0, active=False),
]
#: Hand-made histories for a declared rule, each a pool per selection.
RULE_SCENARIOS: dict[str, list[list[ModelSnapshot]]] = {
    "a stable pool, three rounds": [_FOUR] * 12,
    "a model resting in the middle": [_RESTING] * 7,
    "a model resting, then back": [_FOUR] * 3 + [_RESTING] * 3 + [_FOUR] * 5,
    "the pool reordered": [_FOUR] * 3 + [[_FOUR[2], _FOUR[0], _FOUR[3], _FOUR[1]]] * 5,
    "a model leaving the pool": [_FOUR] * 2 + [[_FOUR[0], _FOUR[2], _FOUR[3]]] * 4,
    "the model served last leaving the pool": [_FOUR] * 5 + [_FOUR[1:]] * 4,
    "one active model": [[_model(0, active=False), _model(1), _model(2, active=False)]] * 3,
    "priorities": [_RANKED] * 3
    + [[_RANKED[0], attrs.evolve(_RANKED[1], status=ModelStatus.STANDBY), _RANKED[2], _RANKED[3]]] * 3
    + [[*_RANKED[:3], attrs.evolve(_RANKED[3], status=ModelStatus.ACTIVE)]] * 3,
}
