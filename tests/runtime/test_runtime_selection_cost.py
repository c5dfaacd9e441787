"""What a selection reads: a snapshot only of the models a policy looks at, and no status gone stale."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from runtime_helpers import USER

from meshkit.enums import ModelStatus
from meshkit.runtime.candidates import Candidates
from meshkit.runtime.mesh import Mesh
from meshkit.testing import FakeClock
from meshkit.types import ModelSnapshot

pytestmark = pytest.mark.anyio


def pool_of(size: int, policy: str = "stick-until-failure", **model: Any) -> dict[str, Any]:
    names = [f"m{i}" for i in range(size)]
    return {
        "providers": {"p": {"connector": "mock", "config": {"models": names}}},
        "models": {f"p.{n}": {"provider": "p", **model} for n in names},
        "pools": {"chat": {"models": [f"p.{n}" for n in names], "rotation": {"connector": policy}}},
        "storage": {"sync_policy": "in-memory"},
    }


def snapshot(model_id: str) -> ModelSnapshot:
    return ModelSnapshot(model_id=model_id, provider_id="p", status=ModelStatus.ACTIVE)


def test_candidates_make_each_snapshot_once_and_only_when_read() -> None:
    made: list[str] = []

    def make(model_id: str) -> ModelSnapshot:
        made.append(model_id)
        return snapshot(model_id)

    candidates = Candidates(["a", "b", "c"], make)
    assert len(candidates) == 3 and made == []
    assert candidates[1].model_id == "b" and candidates[1] is candidates[1]
    assert made == ["b"]
    assert [c.model_id for c in candidates[-2:]] == ["b", "c"]
    assert [c.model_id for c in candidates] == ["a", "b", "c"]
    assert made == ["b", "c", "a"]
    assert candidates.index(candidates[2]) == 2
    with pytest.raises(IndexError):
        candidates[3]


def test_a_pools_candidates_name_their_pool_without_a_snapshot() -> None:
    from meshkit.connectors.rotation._common import pool_of

    made: list[str] = []

    def make(model_id: str) -> ModelSnapshot:
        made.append(model_id)
        return attrs.evolve(snapshot(model_id), pool_id="chat")

    assert pool_of(Candidates(["a", "b"], make, pool_id="chat")) == "chat" and made == []
    assert pool_of([attrs.evolve(snapshot("a"), pool_id="other")]) == "other"  # a plain list: its first
    assert pool_of([]) is None


@pytest.mark.parametrize(
    "policy", ["stick-until-failure", "round-robin", "priority", "cost-first", "rate-limit-aware"]
)
async def test_a_policy_that_looks_at_one_model_reads_one_snapshot(
    monkeypatch: pytest.MonkeyPatch, policy: str
) -> None:
    async with Mesh.from_config(pool_of(300, policy), clock=FakeClock()) as mesh:
        lifecycle = mesh._lifecycle
        assert lifecycle is not None
        await mesh.complete(model="chat", messages=USER)  # a first choice may look at every model
        read: list[str] = []
        original = lifecycle.views.maker

        def counting(pool_id: str | None, reads: frozenset[str] | None = None) -> Any:
            make = original(pool_id, reads)
            return lambda model_id: read.append(model_id) or make(model_id)

        monkeypatch.setattr(lifecycle.views, "maker", counting)
        for _ in range(5):
            await mesh.complete(model="chat", messages=USER)
    # The first (which names the pool), the model it remembers and the next in turn: never the pool.
    assert 0 < len(read) <= 3 * 5, f"{policy} read {len(read)} snapshots for 5 requests over 300 models"


async def test_a_status_read_back_from_storage_is_seen_by_the_next_selection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Not a transition: a record merged from another process sets the model aside directly. The
    # policy trusts its candidates (the first one), so a stale candidate list would be served.
    async with Mesh.from_config(pool_of(3), clock=FakeClock()) as mesh:
        policy = mesh.pools["chat"].policy
        monkeypatch.setattr(policy, "select", lambda candidates, request, now: candidates[0])
        monkeypatch.setattr(policy, "fallback", lambda candidates, request, now: candidates[0])
        assert (await mesh.complete(model="chat", messages=USER)).model == "p.m0"
        lifecycle = mesh._lifecycle
        assert lifecycle is not None
        models = lifecycle.state.models

        def read_back(model_id: str, status: str) -> None:
            reason = "manual" if status == "standby" else None
            models[model_id].restore({**models[model_id].to_data(), "status": status, "reason": reason})

        lifecycle.snapshot("p.m0", "chat")  # kept, until the record changes
        read_back("p.m0", "standby")
        assert lifecycle.snapshot("p.m0", "chat").status is ModelStatus.STANDBY
        assert (await mesh.complete(model="chat", messages=USER)).model == "p.m1"
        read_back("p.m1", "standby")
        assert (await mesh.complete(model="chat", messages=USER)).model == "p.m2"
        read_back("p.m0", "active")
        assert (await mesh.complete(model="chat", messages=USER)).model == "p.m0"


async def test_a_capped_model_is_still_set_aside_when_its_cap_is_reached() -> None:
    clock = FakeClock()
    config = pool_of(2, limits={"requests": 2, "window": "daily"})
    async with Mesh.from_config(config, clock=clock) as mesh:
        answered = [(await mesh.complete(model="chat", messages=USER)).model for _ in range(4)]
    assert answered == ["p.m0", "p.m0", "p.m1", "p.m1"]


async def test_a_kept_snapshot_follows_the_record_and_the_clock() -> None:
    clock = FakeClock()
    async with Mesh.from_config(pool_of(2), clock=clock) as mesh:
        lifecycle = mesh._lifecycle
        assert lifecycle is not None
        first = lifecycle.snapshot("p.m0", "chat")
        assert lifecycle.snapshot("p.m0", "chat") is first  # nothing changed: the same one
        await mesh.complete(model="chat", messages=USER)
        after_call = lifecycle.snapshot("p.m0", "chat")
        assert after_call.requests == first.requests + 1 and after_call.requests_last_minute == 1
        await clock.advance(61)  # the minute window moves on, the record does not
        assert lifecycle.snapshot("p.m0", "chat").requests_last_minute == 0
        assert lifecycle.snapshot("p.m0", "other").pool_id == "other"


async def test_usage_read_back_from_storage_sets_a_capped_model_aside_at_once() -> None:
    # Another process spent the model's daily requests: the next selection must not choose it.
    async with Mesh.from_config(
        pool_of(2, limits={"requests": 5, "window": "daily"}), clock=FakeClock()
    ) as mesh:
        assert (await mesh.complete(model="chat", messages=USER)).model == "p.m0"
        lifecycle = mesh._lifecycle
        assert lifecycle is not None
        usage = lifecycle.state.models["p.m0"].usage
        usage.restore({**usage.to_data(), "daily_requests": 5})
        assert (await mesh.complete(model="chat", messages=USER)).model == "p.m1"
        assert mesh.status()["models"]["p.m0"]["reason"] == "request_limit"


STEADY = frozenset({"model_id", "pool_id", "status", "priority"})


async def test_a_policy_that_reads_no_counts_keeps_its_snapshot_until_a_field_it_reads_changes() -> None:
    async with Mesh.from_config(pool_of(2), clock=FakeClock()) as mesh:
        views = mesh._running().lifecycle.views
        first = views.maker("chat", STEADY)("p.m0")
        await mesh.complete(model="chat", messages=USER)  # the counters move, the status does not
        assert views.maker("chat", STEADY)("p.m0") is first
        assert views.maker("chat")("p.m0").requests == first.requests + 1  # the full view is fresh
        await mesh.deactivate("p.m0")
        standby = views.maker("chat", STEADY)("p.m0")
        assert standby is not first and standby.status is ModelStatus.STANDBY
        assert views.maker("other", STEADY)("p.m0").pool_id == "other"


async def test_a_declared_field_of_the_record_renews_the_kept_snapshot() -> None:
    reads = frozenset({"model_id", "status", "latency_ewma_ms"})
    async with Mesh.from_config(pool_of(1), clock=FakeClock()) as mesh:
        views = mesh._running().lifecycle.views
        before = views.maker("chat", reads)("p.m0")
        assert before.latency_ewma_ms is None
        await mesh.complete(model="chat", messages=USER)
        after = views.maker("chat", reads)("p.m0")
        assert after is not before and after.latency_ewma_ms is not None


async def test_a_policy_that_reads_a_count_gets_it_fresh() -> None:
    reads = frozenset({"model_id", "status", "requests_last_minute"})
    async with Mesh.from_config(pool_of(1), clock=FakeClock()) as mesh:
        views = mesh._running().lifecycle.views
        assert views.maker("chat", reads)("p.m0").requests_last_minute == 0
        await mesh.complete(model="chat", messages=USER)
        assert views.maker("chat", reads)("p.m0").requests_last_minute == 1


async def test_a_kept_snapshot_renews_the_counts_it_reads_as_calls_and_time_move_on() -> None:
    reads = frozenset({"model_id", "status", "requests_last_minute", "window_requests"})
    clock = FakeClock()
    async with Mesh.from_config(pool_of(1), clock=clock) as mesh:
        views = mesh._running().lifecycle.views
        first = views.maker("chat", reads)("p.m0")
        assert views.maker("chat", reads)("p.m0") is first  # nothing moved: the same one
        await mesh.complete(model="chat", messages=USER)
        after = views.maker("chat", reads)("p.m0")
        assert (after.requests_last_minute, after.window_requests) == (1, 1)
        assert after.model_id == "p.m0" and after.status is ModelStatus.ACTIVE
        await clock.advance(61)  # past the minute, within the error window
        later = views.maker("chat", reads)("p.m0")
        assert (later.requests_last_minute, later.window_requests) == (0, 1)
        await mesh.deactivate("p.m0")
        assert views.maker("chat", reads)("p.m0").status is ModelStatus.STANDBY


async def test_usage_read_by_a_policy_is_renewed_and_rolls_with_the_day() -> None:
    reads = frozenset({"model_id", "status", "requests", "tokens"})
    clock = FakeClock()
    async with Mesh.from_config(pool_of(1, limits={"requests": 50, "window": "daily"}), clock=clock) as mesh:
        views = mesh._running().lifecycle.views
        assert views.maker("chat", reads)("p.m0").requests == 0
        await mesh.complete(model="chat", messages=USER)
        counted = views.maker("chat", reads)("p.m0")
        assert counted.requests == 1 and counted.tokens > 0
        await clock.advance(86_400)  # a new UTC day starts the daily count again
        assert views.maker("chat", reads)("p.m0").requests == 0
