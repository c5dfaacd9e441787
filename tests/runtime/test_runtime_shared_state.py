"""State shared by several router processes: one record per model, newer status wins, counts add up."""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from runtime_helpers import USER, Recorder, two_provider_config

from meshkit import DeactivationReason, EventType, ModelStatus, NoModelAvailableError, Severity
from meshkit.connectors.storage.memory import MemoryStorage
from meshkit.connectors.storage.redis_server import RedisServer
from meshkit.interfaces.storage import Storage
from meshkit.runtime.mesh import Mesh
from meshkit.runtime.state import MeshState, ModelState
from meshkit.testing import FakeClock

KEY = "meshkit/state"
HERE = Path(__file__).resolve().parent


def config(policy: str, **storage: Any) -> dict[str, Any]:
    cfg = two_provider_config(
        model_a={"pricing": {"input_per_1k": 0.0, "output_per_1k": 1000.0}},
        pool={"budget": {"daily": 1000.0}},
    )
    cfg["storage"] = {"sync_policy": policy, **storage}
    return cfg


def mesh(policy: str, clock: FakeClock, storage: Storage, **kwargs: Any) -> Mesh:
    return Mesh.from_config(config(policy), clock=clock, storage=storage, **kwargs)


async def stored(storage: Storage, name: str) -> dict[str, Any]:
    raw = await storage.load(f"{KEY}/{name}")
    assert raw is not None, f"no record {name}"
    return dict(json.loads(raw)["data"])


def status(of: Mesh, model_id: str) -> tuple[str, str | None]:
    model = of.status()["models"][model_id]
    return model["status"], model["reason"]


@pytest.mark.anyio
async def test_only_the_records_that_changed_are_written(clock: FakeClock) -> None:
    storage = MemoryStorage(clock=clock)
    async with mesh("immediate", clock, storage) as one:
        await one.complete(model="a.small", messages=USER)
        assert await storage.list(f"{KEY}/") == [f"{KEY}/models/a.small"]
        before = await storage.load(f"{KEY}/models/a.small")
        await one.complete(model="b.large", messages=USER)
        assert await storage.load(f"{KEY}/models/a.small") == before  # untouched
        assert (await stored(storage, "models/b.large"))["requests"] == 1


@pytest.mark.anyio
async def test_immediate_sees_another_process_deactivation_before_its_next_selection(
    clock: FakeClock,
) -> None:
    storage = MemoryStorage(clock=clock)
    recorder = Recorder()
    async with (
        mesh("immediate", clock, storage) as a,
        mesh("immediate", clock, storage, observability=[recorder]) as b,
    ):
        assert (await b.complete(model="chat", messages=USER)).model == "a.small"
        await clock.advance(1)
        assert await a.deactivate("a.small")
        assert status(b, "a.small") == ("active", None)  # b has not looked yet
        reply = await b.complete(model="chat", messages=USER)
        assert reply.model == "b.large"
        assert status(b, "a.small") == ("standby", "manual")
        assert b.select("chat").candidates == ("b.large",)
        await clock.advance(1)
        assert await a.activate("a.small")
        await b.complete(model="chat", messages=USER)  # stick-until-failure stays on b.large
        assert status(b, "a.small") == ("active", None)
        assert b.select("chat").candidates == ("a.small", "b.large")
    # b took the changes in without claiming them as its own transitions.
    assert recorder.of(EventType.MODEL_DEACTIVATED) == []
    assert recorder.of(EventType.MODEL_ACTIVATED) == []
    adopted = [t for t in recorder.traces if "as another process recorded" in t.message]
    assert [t.metadata["model_id"] for t in adopted] == ["a.small", "a.small"]


@pytest.mark.anyio
async def test_the_check_before_selection_reads_one_key_when_nothing_changed(clock: FakeClock) -> None:
    class Counting(MemoryStorage):
        loads: list[str] = []

        async def load(self, key: str) -> bytes | None:
            self.loads.append(key)
            return await super().load(key)

    storage = Counting(clock=clock)
    async with mesh("immediate", clock, storage) as a, mesh("immediate", clock, storage) as b:
        await a.deactivate("b.large")
        await b.complete(model="chat", messages=USER)  # takes the change in: reads every record
        storage.loads.clear()
        await b.complete(model="chat", messages=USER)
        reads_before_selection = storage.loads[: storage.loads.index(f"{KEY}/epoch") + 1]
        assert reads_before_selection == [f"{KEY}/epoch"]
        assert f"{KEY}/models/b.large" not in storage.loads  # no full read: nothing changed


@pytest.mark.anyio
async def test_periodic_takes_in_other_processes_changes_on_its_interval(clock: FakeClock) -> None:
    storage = MemoryStorage(clock=clock)
    periodic = config("periodic", sync_interval="30s")
    async with (
        mesh("immediate", clock, storage) as a,
        Mesh.from_config(periodic, clock=clock, storage=storage) as b,
    ):
        await a.deactivate("a.small")
        await clock.advance(29)
        assert status(b, "a.small") == ("active", None)
        await clock.advance(1)
        assert status(b, "a.small") == ("standby", "manual")
        assert (await b.complete(model="chat", messages=USER)).model == "b.large"


@pytest.mark.anyio
async def test_counts_and_spend_from_several_processes_add_up(clock: FakeClock) -> None:
    storage = MemoryStorage(clock=clock)
    async with mesh("immediate", clock, storage) as a, mesh("sync-on-boundary", clock, storage) as b:
        for _ in range(3):
            await a.complete(model="a.small", messages=USER)
        for _ in range(2):
            await b.complete(model="a.small", messages=USER)  # kept until b closes
        assert (await stored(storage, "models/a.small"))["requests"] == 3
    model = await stored(storage, "models/a.small")
    assert (model["requests"], model["successes"]) == (5, 5)
    assert model["usage"]["daily_cost"] == pytest.approx(5 * 3.0)
    assert await storage.load(f"{KEY}/ledgers/pool:chat") is None  # nothing went through the pool
    async with mesh("sync-on-boundary", clock, storage) as again:
        assert again.status()["models"]["a.small"]["counters"]["requests"] == 5
        assert again.status()["models"]["a.small"]["spent_today"] == pytest.approx(15.0)


@pytest.mark.anyio
async def test_a_pool_budget_counts_every_process_spend(clock: FakeClock) -> None:
    storage = MemoryStorage(clock=clock)
    cfg = config("immediate")
    cfg["pools"]["chat"]["budget"] = {"daily": 10.0}
    async with (
        Mesh.from_config(cfg, clock=clock, storage=storage) as a,
        Mesh.from_config(cfg, clock=clock, storage=storage) as b,
    ):
        await a.complete(model="chat", messages=USER)  # 3.0 each, through the pool
        await b.complete(model="chat", messages=USER)
        await a.complete(model="chat", messages=USER)
        assert (await stored(storage, "ledgers/pool:chat"))["daily_cost"] == pytest.approx(9.0)
        await b.complete(model="chat", messages=USER)  # 12.0 of 10.0: spent across both processes
        assert status(b, "a.small") == ("standby", "budget_exceeded")
        with pytest.raises(NoModelAvailableError):
            await a.complete(model="a.small", messages=USER)  # a sees it before selecting
        assert status(a, "a.small") == ("standby", "budget_exceeded")


@pytest.mark.anyio
async def test_an_older_status_never_overwrites_a_newer_one(clock: FakeClock) -> None:
    storage = MemoryStorage(clock=clock)
    async with mesh("immediate", clock, storage) as b:
        async with mesh("sync-on-boundary", clock, storage) as a:
            await a.deactivate("a.small")  # t=0, written only when a closes
            await clock.advance(10)
            await b.deactivate("a.small")  # t=10
            await clock.advance(10)
            await b.activate("a.small")  # t=20: the newest word on a.small
            await clock.advance(10)
        record = await stored(storage, "models/a.small")
        assert record["status"] == "active"
        assert (record["deactivations"], record["activations"]) == (2, 1)  # every process counted
        assert (await b.complete(model="chat", messages=USER)).model == "a.small"


@pytest.mark.anyio
async def test_a_corrupt_record_is_set_aside_and_starts_fresh_alone(clock: FakeClock) -> None:
    storage = MemoryStorage(clock=clock)
    async with mesh("immediate", clock, storage) as first:
        await first.deactivate("b.large")
        await first.complete(model="a.small", messages=USER)
    await storage.save(f"{KEY}/models/a.small", b"\x00\xffnot json")
    recorder = Recorder()
    async with mesh("immediate", clock, storage, observability=[recorder]) as again:
        assert status(again, "a.small") == ("active", None)
        assert again.status()["models"]["a.small"]["counters"]["requests"] == 0  # fresh
        assert status(again, "b.large") == ("standby", "manual")  # the other records are fine
        (aside,) = await storage.list(f"{KEY}/models/a.small.corrupt-")
        assert await storage.load(aside) == b"\x00\xffnot json"
        await clock.advance(1)
        await again.deactivate("b.large")  # no change; the next request rewrites a.small
        await again.complete(model="a.small", messages=USER)
        assert (await stored(storage, "models/a.small"))["requests"] == 1
    warnings = [t for t in recorder.traces if t.severity is Severity.WARNING and "unreadable" in t.message]
    assert len(warnings) == 1
    assert warnings[0].metadata["aside"] == aside
    assert await storage.load(aside) == b"\x00\xffnot json"


@pytest.mark.anyio
async def test_the_old_single_blob_is_migrated_to_records(clock: FakeClock) -> None:
    old = MeshState()
    for model_id, provider_id in (("a.small", "a"), ("b.large", "b")):
        old.models[model_id] = ModelState(model_id=model_id, provider_id=provider_id)
    old.models["a.small"].requests = 7
    old.models["b.large"].status = ModelStatus.STANDBY
    old.models["b.large"].reason = DeactivationReason.MANUAL
    old.ledger("pool:chat").add(clock.now(), cost=2.5)
    storage = MemoryStorage(clock=clock)
    await storage.save(KEY, json.dumps(old.to_data(clock.now())).encode())
    recorder = Recorder()
    async with mesh("sync-on-boundary", clock, storage, observability=[recorder]) as one:
        assert one.status()["models"]["a.small"]["counters"]["requests"] == 7
        assert status(one, "b.large") == ("standby", "manual")
        assert await storage.load(KEY) is None  # moved, not copied
        assert (await stored(storage, "models/a.small"))["requests"] == 7
        assert (await stored(storage, "ledgers/pool:chat"))["daily_cost"] == 2.5
    assert any("moved from one blob" in t.message for t in recorder.traces)
    async with mesh("sync-on-boundary", clock, storage) as again:
        assert status(again, "b.large") == ("standby", "manual")


@pytest.mark.anyio
@pytest.mark.slow
@pytest.mark.redis
async def test_two_meshes_share_state_through_a_real_redis_server(
    clock: FakeClock, redis_server: RedisServer
) -> None:
    from meshkit.connectors.storage.redis import RedisStorage

    namespace = f"test-{uuid.uuid4().hex}"

    def redis() -> RedisStorage:
        return RedisStorage({"url": redis_server.url, "namespace": namespace}, clock=clock)

    async with redis() as one_storage, redis() as other_storage:
        async with mesh("immediate", clock, one_storage) as a, mesh("immediate", clock, other_storage) as b:
            await a.complete(model="chat", messages=USER)
            await b.complete(model="chat", messages=USER)
            await clock.advance(1)
            await a.deactivate("a.small")
            assert (await b.complete(model="chat", messages=USER)).model == "b.large"
            assert status(b, "a.small") == ("standby", "manual")
        assert (await stored(one_storage, "models/a.small"))["requests"] == 2


def ask(child: subprocess.Popen[str], command: str) -> str:
    """Send one command to a child router and read its one-line answer (bounded wait)."""
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(command + "\n")
    child.stdin.flush()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        line = pool.submit(child.stdout.readline).result(timeout=60)
    return line.strip()


@pytest.mark.slow
def test_two_router_processes_share_state_through_the_file_storage(tmp_path: Path) -> None:
    children = [
        subprocess.Popen(
            [sys.executable, str(HERE / "state_child.py"), str(tmp_path / "state")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=HERE,
        )
        for _ in range(2)
    ]
    try:
        a, b = children
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        assert ask(b, "complete") == "a.small"
        assert ask(a, "complete") == "a.small"
        assert ask(a, "deactivate a.small") == "True"
        assert ask(b, "status a.small") == "active None"  # b has not routed since
        assert ask(b, "complete") == "b.large"  # the change is taken in before selecting
        assert ask(b, "status a.small") == "standby manual"
        assert ask(b, "requests a.small") == "2"  # both processes' requests
        assert ask(b, "activate a.small") == "True"
        assert ask(a, "complete") == "a.small"
        assert ask(a, "status a.small") == "active None"
    finally:
        for child in children:
            if child.poll() is None:
                assert child.stdin is not None
                child.stdin.close()
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
    assert [child.returncode for child in children] == [0, 0]


@pytest.mark.anyio
async def test_a_timestamp_without_an_offset_is_utc_when_decoded_and_when_merged(clock: FakeClock) -> None:
    """One reading of a naive timestamp: decoding and the newer-status rule both take it as UTC."""
    storage = MemoryStorage(clock=clock)
    async with mesh("immediate", clock, storage) as one:
        await one.complete(model="a.small", messages=USER)  # a.small's status never changed here
        record = await stored(storage, "models/a.small")
        changed = clock.now().replace(tzinfo=None)  # the same instant, written without an offset
        until = (clock.now() + timedelta(minutes=10)).replace(tzinfo=None)
        record.update(
            status="standby",
            reason="manual",
            cooldown_until=until.isoformat(),
            changed_at=changed.isoformat(),
            changed_by="other-process",
        )
        envelope = json.loads(await storage.load(f"{KEY}/models/a.small") or b"{}")
        envelope.update(data=record, rev="other-process:1")
        await storage.save(f"{KEY}/models/a.small", json.dumps(envelope).encode())
        await storage.save(f"{KEY}/epoch", b"moved")
        await one.complete(model="chat", messages=USER)  # takes the stored status in first
        model = one.state.models["a.small"]
        assert (model.status, model.reason) == (ModelStatus.STANDBY, DeactivationReason.MANUAL)
        assert model.cooldown_until == clock.now() + timedelta(minutes=10)
        assert model.changed_at == clock.now()  # read as UTC, not rejected as corrupt
        assert [k for k in await storage.list(KEY) if ".corrupt-" in k] == []

    # A later local change (aware) beats the naive stored one by the same clock.
    local = ModelState(model_id="m", provider_id="p")
    local.restore({"changed_at": changed.isoformat()})
    assert local.changed_at is not None and local.changed_at.tzinfo is not None
