"""SyncMesh over real HTTP on loopback: from plain code, from threads, inside a running loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from meshkit import (
    AllModelsExhaustedError,
    CompletionChunk,
    DeactivationReason,
    SyncMesh,
    UnknownTargetError,
)
from meshkit.testing.mock_server import Fault, MockOpenAIServer, Reply

pytestmark = pytest.mark.slow

USER = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def server() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer(models=["small", "large"]) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(server: MockOpenAIServer) -> Iterator[None]:
    server.reset()
    yield
    server.release()  # a failed test must not leave a stream held for the next one


def config(server: MockOpenAIServer) -> dict[str, Any]:
    return {
        "providers": {
            "local": {"connector": "openai-compatible", "config": {"base_url": server.base_url}},
        },
        "models": {"local.small": {"provider": "local"}, "local.large": {"provider": "local"}},
        "pools": {"chat": {"models": ["local.small", "local.large"]}},
    }


def test_a_plain_function_gets_a_reply_without_an_event_loop(server: MockOpenAIServer) -> None:
    with SyncMesh.from_config(config(server)) as mesh:
        reply = mesh.complete(model="chat", messages=USER)
        counters = mesh.status()["models"]["local.small"]["counters"]
    assert reply.text == "Hello from small."
    assert reply.model == "local.small"
    assert counters["requests"] == 1 and counters["successes"] == 1


def test_a_yaml_path_works_as_well_as_a_dict(server: MockOpenAIServer, tmp_path: Any) -> None:
    import yaml

    path = tmp_path / "mesh.yaml"
    path.write_text(yaml.safe_dump(config(server)))
    with SyncMesh.from_config(path) as mesh:
        assert mesh.complete(model="local.large", messages=USER).text == "Hello from large."
    assert mesh.mesh.source == str(path)


def test_many_threads_share_one_mesh(server: MockOpenAIServer) -> None:
    with SyncMesh.from_config(config(server)) as mesh, ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(
            pool.map(
                lambda n: mesh.complete(model="chat", messages=[{"role": "user", "content": f"#{n}"}]),
                range(12),
            )
        )
        requests = mesh.status()["models"]["local.small"]["counters"]["requests"]
    assert [r.text for r in replies] == ["Hello from small."] * 12
    assert requests == 12
    assert len(server.requests) == 12


def test_a_mesh_started_in_one_thread_is_used_and_closed_from_another(server: MockOpenAIServer) -> None:
    mesh = SyncMesh.from_config(config(server))
    mesh.start()
    out: list[str] = []
    worker = threading.Thread(target=lambda: out.append(mesh.complete(model="chat", messages=USER).text))
    worker.start()
    worker.join()
    closer = threading.Thread(target=mesh.close)
    closer.start()
    closer.join()
    assert out == ["Hello from small."]
    assert not mesh.started and not mesh.mesh.started


def test_it_works_inside_a_running_asyncio_loop(server: MockOpenAIServer) -> None:
    # What a notebook cell is: code already running on an event loop.
    async def cell() -> tuple[str, list[str]]:
        with SyncMesh.from_config(config(server)) as mesh:
            reply = mesh.complete(model="chat", messages=USER)
            chunks = [c.text for c in mesh.stream(model="chat", messages=USER)]
        return reply.text, chunks

    text, chunks = asyncio.run(cell())
    assert text == "Hello from small."
    assert "".join(chunks) == "Hello from small."


def test_a_stream_yields_each_chunk_as_it_arrives(server: MockOpenAIServer) -> None:
    server.script("small", Reply("one two three four", hold_after=1))
    with SyncMesh.from_config(config(server)) as mesh:
        chunks = mesh.stream(model="chat", messages=USER)
        first = next(c for c in chunks if c.text)
        # The upstream still holds back the rest of its answer: the chunk came before the last one.
        held_meanwhile = server.held
        server.release()
        rest = [c.text for c in chunks]
    assert first.text == "one "
    assert held_meanwhile == 1
    assert "".join(rest) == "two three four"
    assert server.held == 0


def test_leaving_a_stream_early_cancels_the_upstream_call(server: MockOpenAIServer) -> None:
    server.script("small", Reply("one two three four", hold_after=1))
    with SyncMesh.from_config(config(server)) as mesh:
        chunks = mesh.stream(model="chat", messages=USER)
        assert next(c for c in chunks if c.text).text == "one "
        chunks.close()  # what `break` does to a for loop's iterator
        counters = mesh.status()["models"]["local.small"]["counters"]
        after = mesh.complete(model="chat", messages=USER)
    assert counters["in_flight"] == 0
    assert counters["successes"] == 0 and counters["cancelled"] == 1  # not read to its end
    assert after.text == "Hello from small."


def test_a_stream_fails_over_before_its_first_chunk(server: MockOpenAIServer) -> None:
    server.script("small", Fault.status(503))
    with SyncMesh.from_config(config(server)) as mesh:
        chunks: list[CompletionChunk] = list(mesh.stream(model="chat", messages=USER))
    assert "".join(c.text for c in chunks) == "Hello from large."


def test_errors_reach_the_caller_as_the_async_mesh_raises_them(server: MockOpenAIServer) -> None:
    for model in ("small", "large"):
        server.script(model, Fault.status(503), Fault.status(503))
    with SyncMesh.from_config(config(server)) as mesh:
        with pytest.raises(UnknownTargetError, match="did you mean 'chat'"):
            mesh.complete(model="caht", messages=USER)
        with pytest.raises(UnknownTargetError):
            next(mesh.stream(model="caht", messages=USER))
        with pytest.raises(AllModelsExhaustedError):
            mesh.complete(model="chat", messages=USER)
        with pytest.raises(AllModelsExhaustedError):
            list(mesh.stream(model="chat", messages=USER))


def test_select_deactivate_and_activate_act_on_the_running_mesh(server: MockOpenAIServer) -> None:
    with SyncMesh.from_config(config(server)) as mesh:
        assert mesh.select("chat").model_id == "local.small"
        assert mesh.deactivate("local.small", DeactivationReason.MANUAL, cooldown=600) is True
        assert mesh.deactivate("local.small") is False
        assert mesh.select("chat").model_id == "local.large"
        assert mesh.status()["models"]["local.small"]["status"] == "standby"
        assert mesh.complete(model="chat", messages=USER).model == "local.large"
        assert mesh.activate("local.small") is True
        assert mesh.status()["models"]["local.small"]["status"] == "active"
        assert "local.small" in mesh.select("chat").candidates
    assert server.requests[-1].json["model"] == "large"


def test_calls_outside_with_say_how_to_start_it(server: MockOpenAIServer) -> None:
    mesh = SyncMesh.from_config(config(server))
    with pytest.raises(RuntimeError, match="with SyncMesh"):
        mesh.complete(model="chat", messages=USER)
    with mesh:
        pass
    with pytest.raises(RuntimeError, match="not running"):
        mesh.status()
    mesh.close()  # idempotent


def test_a_trio_loop_can_run_it(server: MockOpenAIServer) -> None:
    pytest.importorskip("trio")
    with SyncMesh.from_config(config(server), backend="trio") as mesh:
        assert mesh.complete(model="chat", messages=USER).text == "Hello from small."
        assert "".join(c.text for c in mesh.stream(model="chat", messages=USER)) == "Hello from small."
