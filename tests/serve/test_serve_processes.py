"""The real `meshkit serve` command: workers sharing state on Redis, SIGTERM, a bad config."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from serve_helpers import USER, HeldStream, called, free_port, mesh_config, serve_process, write_config

from meshkit.connectors.storage.redis_server import RedisServer
from meshkit.runtime.mesh import Mesh
from meshkit.testing.mock_server import Fault, MockOpenAIServer

pytestmark = pytest.mark.slow


def chat(port: int, model: str = "chat") -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{port}/v1/chat/completions", json={"model": model, "messages": USER}, timeout=60
    )


@pytest.mark.redis
def test_two_serve_processes_on_one_redis_share_a_model_set_aside(
    upstream: MockOpenAIServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    shared = {
        "connector": "redis",
        "config": {"url": redis_server.url},
        "sync_policy": "immediate",
        "key": f"serve-test/{tmp_path.name}",
    }
    config = write_config(tmp_path / "mesh.yaml", mesh_config(upstream, storage=shared))
    upstream.script("small", Fault.status(503))
    first_port, second_port = free_port(), free_port()
    with serve_process(config, first_port), serve_process(config, second_port):
        on_first = chat(first_port)
        on_second = chat(second_port)
    assert on_first.status_code == 200 and on_first.headers["x-meshkit-attempts"] == "2"
    # The second process never calls the model the first one set aside: it reads the shared state.
    assert on_second.status_code == 200 and on_second.headers["x-meshkit-model"] == "local.large"
    assert on_second.headers["x-meshkit-attempts"] == "1"
    assert called(upstream) == ["small", "large", "large"]


def test_workers_start_a_mesh_each_and_serve(upstream: MockOpenAIServer, tmp_path: Path) -> None:
    config = write_config(tmp_path / "mesh.yaml", mesh_config(upstream))
    port = free_port()
    with serve_process(config, port, workers=2) as served:
        answers = [chat(port) for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    assert sum("Application startup complete" in line for line in served.lines) == 2


def test_sigterm_lets_the_request_in_flight_finish_then_saves_the_state(tmp_path: Path) -> None:
    with HeldStream() as held:
        config_data: dict[str, Any] = {
            "providers": {
                "held": {
                    "connector": "openai-compatible",
                    "config": {"base_url": f"http://127.0.0.1:{held.port}/v1"},
                }
            },
            "models": {"held.small": {"provider": "held"}},
            "pools": {"chat": {"models": ["held.small"]}},
            "storage": {"connector": "file", "config": {"path": str(tmp_path / "state")}},
            "serve": {"grace_period": "60s"},
        }
        config = write_config(tmp_path / "mesh.yaml", config_data)
        port = free_port()
        answer: list[httpx.Response] = []
        with serve_process(config, port) as served:
            client = threading.Thread(target=lambda: answer.append(chat(port)))
            client.start()
            assert held.arrived.wait(60)
            served.process.send_signal(signal.SIGTERM)
            served.wait_for("Waiting for connections to close")
            held.release.set()  # only now may the upstream answer
            client.join(60)
            code = served.process.wait(60)
    assert (
        answer
        and answer[0].status_code == 200
        and answer[0].json()["choices"][0]["message"]["content"] == "held"
    )
    # uvicorn shuts down gracefully, then re-raises the signal it caught, as a process killed by it would.
    assert code in (0, -signal.SIGTERM)
    assert "Finished server process" in served.output

    async def counted() -> int:
        async with Mesh.from_config(config_data) as mesh:
            requests: int = mesh.status()["models"]["held.small"]["counters"]["requests"]
            return requests

    assert anyio.run(counted) == 1  # saved on the way out


def test_a_bad_config_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "mesh.yaml"
    config.write_text("serve: {port: 99999}\n", encoding="utf-8")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "meshkit"), "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "serve.port" in done.stderr and "65535" in done.stderr
    assert "Traceback" not in done.stderr
