"""State through the storage connector: sync policies, restarts, corrupt blobs, the codec."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from runtime_helpers import USER, Recorder, mock, two_provider_config

from meshkit import AllModelsExhaustedError, SerializationFormat, Severity, SyncPolicy
from meshkit.connectors.storage.memory import MemoryStorage
from meshkit.runtime.mesh import Mesh
from meshkit.runtime.state import MeshState, ModelState
from meshkit.testing import FakeClock

PRICED = {"input_per_1k": 0.0, "output_per_1k": 1000.0}  # 3.0 per call
KEY = "meshkit/state"


async def record(storage: Any, name: str) -> dict[str, Any] | None:
    """The data of one stored record (``models/a.small``), or None."""
    raw = await storage.load(f"{KEY}/{name}")
    return None if raw is None else dict(json.loads(raw)["data"])


def config(policy: SyncPolicy | str, **storage: Any) -> dict[str, Any]:
    cfg = two_provider_config(
        model_a={"pricing": PRICED, "budget": {"daily": 100.0}},
        pool={
            "rotation": {
                "connector": "stick-until-failure",
                "config": {"failure_threshold": 1, "cooldown": "10m"},
            }
        },
    )
    cfg["storage"] = {"sync_policy": str(policy), **storage}
    cfg["discovery"] = {"health": {"interval": "1h"}}
    return cfg


@pytest.mark.anyio
async def test_in_memory_never_touches_storage(clock: FakeClock) -> None:
    storage = MemoryStorage(clock=clock)
    async with Mesh.from_config(config("in-memory"), clock=clock, storage=storage) as mesh:
        await mesh.complete(model="chat", messages=USER)
    assert await storage.list() == []


@pytest.mark.anyio
async def test_sync_on_boundary_saves_at_close_and_loads_at_start(clock: FakeClock) -> None:
    storage = MemoryStorage(clock=clock)
    async with Mesh.from_config(config("sync-on-boundary"), clock=clock, storage=storage) as mesh:
        await mesh.complete(model="chat", messages=USER)
        assert await storage.list(KEY) == []  # nothing written while running
    assert (await record(storage, "models/a.small") or {})["requests"] == 1
    async with Mesh.from_config(config("sync-on-boundary"), clock=clock, storage=storage) as again:
        assert again.status()["models"]["a.small"]["counters"]["requests"] == 1


@pytest.mark.anyio
async def test_immediate_persists_before_the_call_returns(clock: FakeClock) -> None:
    storage = MemoryStorage(clock=clock)
    async with Mesh.from_config(config("immediate"), clock=clock, storage=storage) as mesh:
        await mesh.complete(model="chat", messages=USER)
        assert (await record(storage, "models/a.small") or {})["requests"] == 1
        assert await record(storage, "models/b.large") is None  # only what changed is written
        await mesh.deactivate("b.large")
        assert (await record(storage, "models/b.large") or {})["status"] == "standby"


@pytest.mark.anyio
async def test_periodic_saves_on_the_mesh_clock_in_the_background(clock: FakeClock) -> None:
    storage = MemoryStorage(clock=clock)
    async with Mesh.from_config(
        config("periodic", sync_interval="30s"), clock=clock, storage=storage
    ) as mesh:
        await mesh.complete(model="chat", messages=USER)
        await clock.advance(29)
        assert await storage.list(KEY) == []
        await clock.advance(1)
        assert (await record(storage, "models/a.small") or {})["requests"] == 1
        assert mesh.scheduler.runs["state-sync"] == 1


@pytest.mark.anyio
async def test_a_restarted_mesh_resumes_cooldown_and_spent_budget(clock: FakeClock) -> None:
    storage = MemoryStorage(clock=clock)
    async with Mesh.from_config(config("immediate"), clock=clock, storage=storage) as mesh:
        await mesh.complete(model="chat", messages=USER)
        mock(mesh, "b").push({"error": "unavailable"})
        await mesh.deactivate("a.small", reason="error_threshold", cooldown=600)
        with pytest.raises(AllModelsExhaustedError):
            await mesh.complete(model="b.large", messages=USER)  # default threshold 3: stays active
    await clock.advance(120)
    recorder = Recorder()
    async with Mesh.from_config(
        config("immediate"), clock=clock, storage=storage, observability=[recorder]
    ) as again:
        state = again.status()["models"]["a.small"]
        assert (state["status"], state["reason"]) == ("standby", "error_threshold")
        assert state["spent_today"] == pytest.approx(3.0)
        assert state["counters"]["requests"] == 1
        assert again.status()["models"]["b.large"]["counters"]["failures"] == 1
        assert (await again.complete(model="chat", messages=USER)).model == "b.large"
        await clock.advance(479)
        assert again.status()["models"]["a.small"]["status"] == "standby"
        await clock.advance(2)
        assert again.status()["models"]["a.small"]["status"] == "active"


@pytest.mark.anyio
@pytest.mark.parametrize("fmt", ["json", "yaml", "msgpack"])
async def test_state_survives_a_restart_through_a_real_file(
    tmp_path: Path, clock: FakeClock, fmt: str
) -> None:
    def file_config() -> dict[str, Any]:
        return config("sync-on-boundary", connector="file", config={"path": str(tmp_path)}, format=fmt)

    async with Mesh.from_config(file_config(), clock=clock) as mesh:
        await mesh.complete(model="chat", messages=USER)
        await mesh.deactivate("b.large")
    assert await anyio.Path(tmp_path).exists()
    async with Mesh.from_config(file_config(), clock=clock) as again:
        assert again.status()["models"]["b.large"]["reason"] == "manual"
        assert again.status()["models"]["a.small"]["spent_today"] == pytest.approx(3.0)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "blob",
    [
        b"\x00\xffnot json",
        b'{"format": "something-else"}',
        b'{"format": "meshkit-state", "version": 1, "models": {"a.small": {"status": "dizzy"}}}',
    ],
)
async def test_a_corrupt_blob_is_kept_aside_and_the_mesh_starts_fresh(clock: FakeClock, blob: bytes) -> None:
    storage = MemoryStorage(clock=clock)
    await storage.save(KEY, blob)
    recorder = Recorder()
    async with Mesh.from_config(
        config("immediate"), clock=clock, storage=storage, observability=[recorder]
    ) as mesh:
        assert mesh.status()["models"]["a.small"]["status"] == "active"
        keys = await storage.list(KEY)
        (aside,) = [k for k in keys if k != KEY]
        assert aside.startswith(f"{KEY}.corrupt-")
        assert await storage.load(aside) == blob
        await mesh.complete(model="chat", messages=USER)
    warnings = [t for t in recorder.traces if t.severity is Severity.WARNING and "unreadable" in t.message]
    assert len(warnings) == 1
    assert warnings[0].metadata["aside"] == aside
    assert await storage.load(aside) == blob  # the evidence survives later saves


def test_the_state_codec_round_trips() -> None:
    clock = FakeClock()
    state = MeshState()
    model = state.models["m"] = ModelState(model_id="m", provider_id="p")
    model.requests, model.failures, model.cost = 7, 2, 1.25
    model.errors["timeout"] = 2
    model.cooldown_until = clock.now() + timedelta(minutes=5)
    model.usage.add(clock.now(), requests=3, tokens=40, cost=1.25)
    state.ledger("pool:chat").add(clock.now(), cost=0.5)
    state.provider("p").deactivated = True
    data = json.loads(json.dumps(state.to_data(clock.now())))
    other = MeshState()
    other.models["m"] = ModelState(model_id="m", provider_id="p")
    assert other.restore(data) == []
    restored = other.models["m"]
    assert (restored.requests, restored.failures, restored.cost, restored.errors) == (
        7,
        2,
        1.25,
        {"timeout": 2},
    )
    assert restored.cooldown_until == model.cooldown_until
    assert restored.usage == model.usage
    assert other.ledgers["pool:chat"].daily_cost == 0.5
    assert other.providers["p"].deactivated is True


def test_formats_are_the_serialization_enum() -> None:
    assert {f.value for f in SerializationFormat} == {"json", "yaml", "msgpack"}


def test_a_snapshot_shows_every_field_the_record_declares_for_it() -> None:
    # Each ``snapshot=`` declaration of ModelState must reach the snapshot (RECORD_FIELDS).
    from datetime import UTC, datetime

    from meshkit.enums import DeactivationReason, ModelStatus
    from meshkit.runtime.periods import Period
    from meshkit.runtime.state import RECORD_FIELDS

    distinct: dict[str, Any] = {
        "status": ModelStatus.STANDBY,
        "reason": DeactivationReason.ERROR_THRESHOLD,
        "consecutive_failures": 7,
        "latency_ewma_ms": 12.5,
    }
    model = ModelState(model_id="m", provider_id="p")
    for number, name in enumerate(sorted(RECORD_FIELDS.values())):
        value = distinct.get(name, datetime(2026, 1, 1 + number, tzinfo=UTC))
        setattr(model, name, value)
    now = datetime(2026, 2, 1, tzinfo=UTC)
    snapshot = model.snapshot(
        now=now,
        span=timedelta(minutes=5),
        pool_id="chat",
        pricing=None,
        priority=3,
        weight=2.0,
        limits={"requests": 9.0},
        window=Period.DAILY,
    )
    assert {field: getattr(snapshot, field) for field in RECORD_FIELDS} == {
        field: getattr(model, name) for field, name in RECORD_FIELDS.items()
    }
    assert (snapshot.pool_id, snapshot.priority, snapshot.weight, snapshot.limits) == (
        "chat",
        3,
        2.0,
        {"requests": 9.0},
    )
