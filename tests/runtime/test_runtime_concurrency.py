"""1,000 requests at concurrency 50 with seeded random faults: every count adds up exactly."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import timedelta
from itertools import pairwise
from typing import Any

import anyio
import pytest
from runtime_helpers import USER, Recorder, mock

from meshkit import CompletionResponse, EventType, ProviderError, RoutingError
from meshkit.runtime.mesh import Mesh
from meshkit.testing import FakeClock

REQUESTS = 1000
CONCURRENCY = 50
PROVIDERS = {"p1": "alpha", "p2": "beta", "p3": "gamma"}
FAULTS = ["unavailable", "rate_limit", "timeout", "protocol", "quota", "bad_request"]


def config() -> dict[str, Any]:
    return {
        "providers": {
            pid: {"connector": "mock", "config": {"models": [name]}} for pid, name in PROVIDERS.items()
        },
        "models": {f"{pid}.{name}": {"provider": pid} for pid, name in PROVIDERS.items()},
        "pools": {
            "chat": {
                "capability": "generation",
                "rotation": {
                    "connector": "round-robin",
                    "config": {"failure_threshold": 2, "cooldown": "2s"},
                },
                "retry": {
                    "max_attempts": 4,
                    "same_model_retries": 1,
                    "initial_delay": "50ms",
                    "deadline": "10s",
                },
            }
        },
        "routing": {"check_interval": "500ms"},
        "discovery": {"health": {"interval": "3s"}},
    }


def script(rng: random.Random, calls: int) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for _ in range(calls):
        step: dict[str, Any] = {"latency": timedelta(milliseconds=rng.choice([0, 10, 30, 80, 150]))}
        if rng.random() < 0.3:
            fault = rng.choices(FAULTS, weights=[5, 4, 3, 2, 1, 1])[0]
            step["error"] = fault
            if fault in ("rate_limit", "quota") and rng.random() < 0.5:
                step["retry_after"] = rng.choice([0.1, 0.5, 1.0])
        steps.append(step)
    return steps


@pytest.mark.anyio
async def test_a_thousand_requests_with_random_faults_keep_exact_counts() -> None:
    rng = random.Random(20260101)
    clock = FakeClock()
    recorder = Recorder()
    mesh = Mesh.from_config(config(), clock=clock, observability=[recorder])
    outcomes: list[Any] = []
    async with mesh:
        for pid in PROVIDERS:
            mock(mesh, pid).push(*script(rng, 3 * REQUESTS))
        limiter = anyio.CapacityLimiter(CONCURRENCY)

        async def one() -> None:
            async with limiter:
                try:
                    outcomes.append(await mesh.complete(model="chat", messages=USER))
                except (RoutingError, ProviderError) as exc:
                    outcomes.append(exc)

        async with anyio.create_task_group() as requests:
            for _ in range(REQUESTS):
                requests.start_soon(one)

            async def drive() -> None:
                while len(outcomes) < REQUESTS:
                    await clock.advance(0.01)

            requests.start_soon(drive)
        status = mesh.status()

    assert len(outcomes) == REQUESTS
    replies = [o for o in outcomes if isinstance(o, CompletionResponse)]
    errors = Counter(type(o).__name__ for o in outcomes if not isinstance(o, CompletionResponse))
    assert replies, "some requests must succeed"
    assert errors, "the seeded faults must make some requests fail"
    assert set(errors) <= {"AllModelsExhaustedError", "NoModelAvailableError", "BadRequestError"}

    models = status["models"]
    for model_id, entry in models.items():
        c = entry["counters"]
        assert c["requests"] == c["successes"] + c["failures"] + c["cancelled"], model_id
        assert c["in_flight"] == 0 and c["cancelled"] == 0, model_id
        assert sum(c["errors"].values()) == c["failures"], model_id
    assert sum(m["counters"]["successes"] for m in models.values()) == len(replies)
    assert Counter(r.model for r in replies) == Counter(
        {mid: m["counters"]["successes"] for mid, m in models.items() if m["counters"]["successes"]}
    )
    calls = sum(len(mock(mesh, pid).calls) for pid in PROVIDERS)
    assert calls == sum(m["counters"]["requests"] for m in models.values())
    assert len(recorder.logs) == calls
    assert sum(1 for log in recorder.logs if log.status == "ok") == len(replies)
    exhausted = sum(1 for log in recorder.logs if log.status == "exhausted")
    assert exhausted == errors.get("AllModelsExhaustedError", 0)

    # Every state change produced exactly one event, and a model's events alternate off/on.
    transitions: dict[str, list[EventType]] = defaultdict(list)
    for event in recorder.events:
        if event.event_type in (EventType.MODEL_DEACTIVATED, EventType.MODEL_ACTIVATED):
            assert event.model_id is not None
            transitions[event.model_id].append(event.event_type)
    total_transitions = 0
    for model_id, entry in models.items():
        seen = transitions.get(model_id, [])
        c = entry["counters"]
        assert seen.count(EventType.MODEL_DEACTIVATED) == c["deactivations"], model_id
        assert seen.count(EventType.MODEL_ACTIVATED) == c["activations"], model_id
        expected = [EventType.MODEL_DEACTIVATED, EventType.MODEL_ACTIVATED] * len(seen)
        assert seen == expected[: len(seen)], model_id
        final = "standby" if len(seen) % 2 else "active"
        assert entry["status"] == final or entry["reason"] == "provider_deactivated", model_id
        total_transitions += c["deactivations"] + c["activations"]
    assert total_transitions > 0

    # Each switch from one model to another inside a request is one MODEL_ROTATED event.
    by_request: dict[str, list[str]] = defaultdict(list)
    for log in recorder.logs:
        assert log.model_id is not None
        by_request[log.request_id].append(log.model_id)
    switches = sum(sum(1 for a, b in pairwise(seq) if a != b) for seq in by_request.values())
    assert switches > 0
    assert len(recorder.of(EventType.MODEL_ROTATED)) == switches
    assert len(by_request) == REQUESTS - errors.get("NoModelAvailableError", 0)
