"""The attempt budget: every active model once by default; the error says who was not tried and why."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from runtime_helpers import USER, Recorder, drive, mock

from meshkit import AllModelsExhaustedError, EventType, NotTried
from meshkit.runtime.mesh import Mesh
from meshkit.testing import FakeClock

pytestmark = pytest.mark.anyio

NAMES = ("m1", "m2", "m3", "m4")


def build(
    clock: FakeClock, *, retry: dict[str, Any] | None = None, rotation: dict[str, Any] | None = None
) -> tuple[Mesh, Recorder]:
    """Four mock providers ``m1`` … ``m4``, one model each, in pool ``chat`` (in that order)."""
    recorder = Recorder()
    config: dict[str, Any] = {
        "providers": {n: {"connector": "mock", "config": {"models": ["x"]}} for n in NAMES},
        "models": {f"{n}.x": {"provider": n} for n in NAMES},
        "pools": {"chat": {"models": [f"{n}.x" for n in NAMES]}},
    }
    if retry is not None:
        config["pools"]["chat"]["retry"] = retry
    if rotation is not None:
        config["pools"]["chat"]["rotation"] = rotation
    return Mesh.from_config(config, clock=clock, observability=[recorder]), recorder


def fail(mesh: Mesh, *names: str, **step: Any) -> None:
    for name in names:
        mock(mesh, name).push({"error": "unavailable", **step})


async def test_by_default_every_model_is_tried_once(clock: FakeClock) -> None:
    mesh, recorder = build(clock)
    async with mesh:
        fail(mesh, "m1", "m2", "m3")
        reply = await mesh.complete(model="chat", messages=USER)
    assert reply.model == "m4.x"
    assert [len(mock(mesh, n).calls) for n in NAMES] == [1, 1, 1, 1]
    assert [e.metadata["to"] for e in recorder.of(EventType.MODEL_ROTATED)] == ["m2.x", "m3.x", "m4.x"]


async def test_every_model_failed_only_when_every_model_was_tried(clock: FakeClock) -> None:
    mesh, recorder = build(clock)
    async with mesh:
        fail(mesh, *NAMES)
        with pytest.raises(AllModelsExhaustedError) as info:
            await mesh.complete(model="chat", messages=USER)
    assert [a.model_id for a in info.value.attempts] == [f"{n}.x" for n in NAMES]
    assert info.value.not_tried == []
    assert str(info.value).startswith("every model for 'chat' failed (4 attempts):")
    assert [log.status for log in recorder.logs] == ["error", "error", "error", "exhausted"]


async def test_same_model_retries_come_on_top_of_one_try_per_model(clock: FakeClock) -> None:
    mesh, _ = build(clock, retry={"same_model_retries": 1, "initial_delay": "10ms"})
    async with mesh:
        fail(mesh, "m1", "m1", "m2", "m2", "m3", "m3")
        reply, _ = await drive(clock, lambda: mesh.complete(model="chat", messages=USER))
    assert reply.model == "m4.x"
    assert [len(mock(mesh, n).calls) for n in NAMES] == [2, 2, 2, 1]


async def test_an_explicit_cap_names_the_models_it_left_untried(clock: FakeClock) -> None:
    mesh, _ = build(clock, retry={"max_attempts": 2})
    async with mesh:
        fail(mesh, *NAMES)
        with pytest.raises(AllModelsExhaustedError) as info:
            await mesh.complete(model="chat", messages=USER)
    assert [a.model_id for a in info.value.attempts] == ["m1.x", "m2.x"]
    cap = "attempt cap reached (max_attempts=2)"
    assert info.value.not_tried == [NotTried("m3.x", cap), NotTried("m4.x", cap)]
    message = str(info.value)
    assert "every model" not in message
    assert message.startswith("2 models for 'chat' failed (2 attempts); not tried: m3.x (attempt cap")
    assert mock(mesh, "m3").calls == [] and mock(mesh, "m4").calls == []


async def test_the_deadline_names_the_models_it_left_untried(clock: FakeClock) -> None:
    mesh, _ = build(clock, retry={"deadline": "3s"})
    async with mesh:
        mock(mesh, "m1").push({"latency": timedelta(hours=1)})
        error, _ = await drive(clock, lambda: mesh.complete(model="chat", messages=USER), step=0.05)
    assert isinstance(error, AllModelsExhaustedError)
    assert [a.model_id for a in error.attempts] == ["m1.x"]
    assert error.not_tried == [NotTried(f"{n}.x", "the 3s deadline ran out") for n in ("m2", "m3", "m4")]


async def test_models_in_standby_are_named_with_their_reason(clock: FakeClock) -> None:
    mesh, _ = build(clock)
    async with mesh:
        await mesh.deactivate("m2.x")
        fail(mesh, "m1", "m3", "m4")
        with pytest.raises(AllModelsExhaustedError) as info:
            await mesh.complete(model="chat", messages=USER)
    assert [a.model_id for a in info.value.attempts] == ["m1.x", "m3.x", "m4.x"]
    assert info.value.not_tried == [NotTried("m2.x", "in standby: manual")]
    assert "not tried: m2.x (in standby: manual)" in str(info.value)


async def test_the_cap_still_counts_same_model_retries(clock: FakeClock) -> None:
    mesh, _ = build(clock, retry={"max_attempts": 3, "same_model_retries": 1, "initial_delay": "10ms"})
    async with mesh:
        fail(mesh, "m1", "m1", "m2", "m2")
        error, _ = await drive(clock, lambda: mesh.complete(model="chat", messages=USER))
    assert isinstance(error, AllModelsExhaustedError)
    assert [a.model_id for a in error.attempts] == ["m1.x", "m1.x", "m2.x"]
    assert [n.model_id for n in error.not_tried] == ["m3.x", "m4.x"]


# --- stick-until-failure: failure_threshold decides where traffic goes ---------------------------


async def test_a_failover_does_not_move_stick_until_failure_off_its_model(clock: FakeClock) -> None:
    rotation = {"connector": "stick-until-failure", "config": {"failure_threshold": 3, "cooldown": "60s"}}
    mesh, recorder = build(clock, rotation=rotation)
    async with mesh:
        answered = []
        for _ in range(3):
            fail(mesh, "m1")
            answered.append((await mesh.complete(model="chat", messages=USER)).model)
            if len(answered) < 3:
                # Still active after one or two failures: the next request goes back to it.
                assert mesh.select("chat", USER).model_id == "m1.x"
        assert answered == ["m2.x", "m2.x", "m2.x"]
        assert len(mock(mesh, "m1").calls) == 3
        assert mesh.status()["models"]["m1.x"]["reason"] == "error_threshold"
        # Set aside by its threshold: the policy moves to the next model and stays there.
        assert (await mesh.complete(model="chat", messages=USER)).model == "m2.x"
        await clock.advance(61)
        await mesh.check()
        assert mesh.status()["models"]["m1.x"]["status"] == "active"
        assert (await mesh.complete(model="chat", messages=USER)).model == "m2.x"
    assert len(recorder.of(EventType.MODEL_DEACTIVATED, "m1.x")) == 1


async def test_a_failover_does_not_move_a_session_off_its_model(clock: FakeClock) -> None:
    rotation = {"connector": "session-sticky", "config": {"failure_threshold": 3}}
    mesh, _ = build(clock, rotation=rotation)
    async with mesh:
        first = await mesh.complete(model="chat", messages=USER, session_id="s")
        assert first.model == "m1.x"
        fail(mesh, "m1")
        assert (await mesh.complete(model="chat", messages=USER, session_id="s")).model != "m1.x"
        assert (await mesh.complete(model="chat", messages=USER, session_id="s")).model == "m1.x"
