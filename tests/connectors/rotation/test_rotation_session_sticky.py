"""meshkit.session-sticky.v1: one model per session while it stays active."""

from __future__ import annotations

from datetime import datetime

import pytest
from rotation_helpers import NOW, picks, pool, request, snap, standby

from meshkit.connectors.rotation import SessionSticky
from meshkit.testing import FakeClock
from meshkit.types import ModelSnapshot


def model_for(
    policy: SessionSticky, candidates: list[ModelSnapshot], session: str, now: datetime = NOW
) -> str:
    result = policy.select(candidates, request(session=session), now)
    assert result is not None
    return result.model_id


def test_a_session_keeps_its_model() -> None:
    policy = SessionSticky()
    candidates = pool(4)
    first = model_for(policy, candidates, "alice")
    assert [model_for(policy, candidates, "alice") for _ in range(10)] == [first] * 10


def test_new_sessions_are_spread_over_the_pool() -> None:
    policy = SessionSticky()
    candidates = pool(3)
    assigned = [model_for(policy, candidates, f"user-{i}") for i in range(6)]
    assert assigned == ["p.m0", "p.m1", "p.m2", "p.m0", "p.m1", "p.m2"]


def test_requests_without_a_session_go_round_robin() -> None:
    assert picks(SessionSticky(), pool(3), 4) == ["p.m0", "p.m1", "p.m2", "p.m0"]


def test_a_session_moves_when_its_model_goes_standby_and_stays_moved() -> None:
    policy = SessionSticky()
    a, b, c = snap("p.a"), snap("p.b"), snap("p.c")
    assert model_for(policy, [a, b, c], "s") == "p.a"
    moved = model_for(policy, [standby("p.a"), b, c], "s")
    assert moved != "p.a"
    assert policy.model_for("s", "chat") == moved
    # The old model recovers: the session stays where it went.
    assert [model_for(policy, [a, b, c], "s") for _ in range(3)] == [moved] * 3


def test_a_session_follows_its_model_when_the_pool_order_changes() -> None:
    policy = SessionSticky()
    a, b, c = snap("p.a"), snap("p.b"), snap("p.c")
    model_for(policy, [a, b, c], "one")
    assert model_for(policy, [a, b, c], "two") == "p.b"
    assert model_for(policy, [c, a, b], "two") == "p.b"


def test_the_session_map_is_bounded_and_forgets_the_least_recently_used() -> None:
    policy = SessionSticky({"max_sessions": 2})
    candidates = pool(3)
    assert model_for(policy, candidates, "old") == "p.m0"
    assert model_for(policy, candidates, "kept") == "p.m1"
    model_for(policy, candidates, "old")  # used again: "kept" is now the least recent
    assert model_for(policy, candidates, "new") == "p.m2"
    assert policy.session_count == 2
    assert policy.model_for("kept", "chat") is None
    assert policy.model_for("old", "chat") == "p.m0"


@pytest.mark.anyio
async def test_an_idle_session_expires_after_its_ttl(clock: FakeClock) -> None:
    policy = SessionSticky({"session_ttl": "10m"})
    candidates = pool(2)
    assert model_for(policy, candidates, "s", clock.now()) == "p.m0"
    await clock.advance(9 * 60)
    assert model_for(policy, candidates, "s", clock.now()) == "p.m0"  # refreshed
    await clock.advance(9 * 60)
    model_for(policy, candidates, "other", clock.now())
    assert policy.model_for("s", "chat") == "p.m0"
    await clock.advance(10 * 60)
    model_for(policy, candidates, "other", clock.now())
    assert policy.model_for("s", "chat") is None
    assert policy.session_count == 1


def test_sessions_are_kept_per_pool() -> None:
    policy = SessionSticky()
    other = [snap("q.x", pool_id="other"), snap("q.y", pool_id="other")]
    assert model_for(policy, pool(2), "s") == "p.m0"
    assert model_for(policy, other, "s") == "q.x"
    assert policy.model_for("s", "chat") == "p.m0"
    assert policy.model_for("s", "other") == "q.x"


def test_nothing_active_gives_none_and_binds_nothing() -> None:
    policy = SessionSticky()
    assert policy.select([standby("p.a")], request(session="s"), NOW) is None
    assert policy.session_count == 0


def test_a_failover_pick_does_not_move_the_session() -> None:
    policy = SessionSticky()
    a, b, c = snap("p.a"), snap("p.b"), snap("p.c")
    assert model_for(policy, [a, b, c], "s") == "p.a"
    served = policy.fallback([b, c], request(session="s"), NOW)
    assert served is not None and served.model_id in {"p.b", "p.c"}
    assert policy.model_for("s", "chat") == "p.a"
    assert model_for(policy, [a, b, c], "s") == "p.a"
