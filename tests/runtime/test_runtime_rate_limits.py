"""Per-minute counts in snapshots, and rate-limit-aware rotation steering around them."""

from __future__ import annotations

from typing import Any

import pytest
from runtime_helpers import USER, Recorder, two_provider_config

from meshkit import ConfigError, EventType
from meshkit.runtime.mesh import Mesh
from meshkit.testing import FakeClock


def rate_config(rotation_config: dict[str, Any] | None = None, **limits: int) -> dict[str, Any]:
    return two_provider_config(
        model_a={"priority": 0, "limits": limits},
        model_b={"priority": 1},
        pool={"rotation": {"connector": "rate-limit-aware", "config": rotation_config or {}}},
    )


@pytest.mark.anyio
async def test_snapshots_carry_last_minute_counts_and_per_minute_caps(clock: FakeClock) -> None:
    config = rate_config(requests_per_minute=100, tokens_per_minute=5000, requests=1000)
    async with Mesh.from_config(config, clock=clock) as mesh:
        replies = [await mesh.complete(model="a.small", messages=USER) for _ in range(3)]
        tokens = sum(r.usage.total_tokens for r in replies)
        assert mesh._lifecycle is not None
        snapshot = mesh._lifecycle.snapshot("a.small", "chat")
        assert (snapshot.requests_last_minute, snapshot.tokens_last_minute) == (3, tokens)
        assert snapshot.limits["requests_per_minute"] == 100
        assert snapshot.limits["tokens_per_minute"] == 5000
        assert snapshot.limits["requests"] == 1000
        await clock.advance(60)
        later = mesh._lifecycle.snapshot("a.small", "chat")
        assert (later.requests_last_minute, later.tokens_last_minute) == (0, 0)
        assert later.requests == 3  # the daily count is not a per-minute one


@pytest.mark.anyio
async def test_failed_calls_count_against_the_request_rate(clock: FakeClock) -> None:
    async with Mesh.from_config(rate_config(requests_per_minute=100), clock=clock) as mesh:
        mesh.providers["a"].push({"error": "unavailable"})  # type: ignore[attr-defined]
        await mesh.complete(model="chat", messages=USER)
        assert mesh._lifecycle is not None
        snapshot = mesh._lifecycle.snapshot("a.small", "chat")
        assert (snapshot.requests_last_minute, snapshot.tokens_last_minute) == (1, 0)


@pytest.mark.anyio
async def test_rate_limit_aware_moves_off_a_model_before_its_cap_and_back_after_a_minute(
    clock: FakeClock,
) -> None:
    recorder = Recorder()
    config = rate_config({"request_threshold": 0.8}, requests_per_minute=5)
    async with Mesh.from_config(config, clock=clock, observability=[recorder]) as mesh:
        served = [(await mesh.complete(model="chat", messages=USER)).model for _ in range(6)]
        # 4 of 5 is the threshold: the fifth request would pass it, so it goes elsewhere.
        assert served == ["a.small"] * 4 + ["b.large"] * 2
        assert mesh.status()["models"]["a.small"]["status"] == "active"
        await clock.advance(59)
        assert (await mesh.complete(model="chat", messages=USER)).model == "b.large"
        await clock.advance(1)
        assert (await mesh.complete(model="chat", messages=USER)).model == "a.small"
    assert recorder.of(EventType.MODEL_DEACTIVATED) == []


@pytest.mark.anyio
async def test_rate_limit_aware_also_watches_tokens_per_minute(clock: FakeClock) -> None:
    config = rate_config({"token_threshold": 1.0, "default_output_tokens": 0}, tokens_per_minute=40)
    async with Mesh.from_config(config, clock=clock) as mesh:
        first = await mesh.complete(model="chat", messages=USER)
        assert first.model == "a.small"
        per_call = first.usage.total_tokens
        calls = 1
        while True:
            reply = await mesh.complete(model="chat", messages=USER)
            if reply.model != "a.small":
                break
            calls += 1
        assert calls * per_call <= 40 < (calls + 1) * per_call
        await clock.advance(60)
        assert (await mesh.complete(model="chat", messages=USER)).model == "a.small"


def test_per_minute_caps_are_checked_with_their_path() -> None:
    with pytest.raises(ConfigError) as info:
        Mesh.from_config(rate_config(requests_per_minute=0))
    assert "models.a.small.limits.requests_per_minute: expected at least 1" in str(info.value)
