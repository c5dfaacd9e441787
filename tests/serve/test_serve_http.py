"""`meshkit serve` over plain HTTP: error shapes, limits, readiness, a client that goes away."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from serve_helpers import USER, HeldStream, mesh_config, serving

from meshkit.testing.mock_server import Fault, MockOpenAIServer

pytestmark = pytest.mark.slow


def post(base: str, path: str, body: Any, **kwargs: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"content-type": "application/json", **kwargs.pop("headers", {})}
    return httpx.post(f"{base}{path}", content=content, headers=headers, timeout=30, **kwargs)


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"message", "type", "code"} <= set(body["error"])
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        (b"{not json", None, "not valid JSON"),
        ([1, 2], None, "JSON object"),
        ({"messages": USER}, "model", "`model`"),
        ({"model": "chat", "messages": "hi"}, "messages", "array of message objects"),
        ({"model": "chat", "messages": [{"content": "hi"}]}, "messages[0].role", "role"),
        ({"model": "chat", "messages": USER, "temperature": "hot"}, "temperature", "a number"),
        ({"model": "chat", "messages": USER, "max_tokens": True}, "max_tokens", "an integer"),
        ({"model": "chat", "messages": USER, "stop": [1]}, "stop", "array of strings"),
        ({"model": "chat", "messages": USER, "temprature": 0.5}, "temprature", "unknown field `temprature`"),
    ],
    ids=[
        "malformed",
        "array",
        "no-model",
        "messages-string",
        "no-role",
        "type",
        "bool-int",
        "stop",
        "unknown",
    ],
)
def test_a_bad_request_is_a_400_naming_the_field(
    upstream: MockOpenAIServer, body: Any, param: str | None, words: str
) -> None:
    with serving(mesh_config(upstream)) as base:
        response = post(base, "/chat/completions", body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert words in error["message"]
    assert upstream.requests == []


def test_a_body_over_the_limit_is_a_413(upstream: MockOpenAIServer) -> None:
    big = {"model": "chat", "messages": [{"role": "user", "content": "x" * 5000}]}
    with serving(mesh_config(upstream), max_body_bytes=4096) as base:
        refused = post(base, "/chat/completions", big)
        chunked = httpx.post(  # no Content-Length: the limit holds while reading
            f"{base}/chat/completions", content=iter([json.dumps(big).encode()]), timeout=30
        )
        small = post(base, "/chat/completions", {"model": "chat", "messages": USER})
    assert refused.status_code == 413 and error_of(refused)["code"] == "request_too_large"
    assert chunked.status_code == 413
    assert small.status_code == 200
    assert len(upstream.requests) == 1


def test_unknown_routes_answer_in_the_error_shape(upstream: MockOpenAIServer) -> None:
    with serving(mesh_config(upstream)) as base:
        missing = httpx.get(f"{base}/completions", timeout=30)
        wrong_method = httpx.get(f"{base}/chat/completions", timeout=30)
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    assert wrong_method.status_code == 405 and error_of(wrong_method)["type"] == "invalid_request_error"


def test_health_is_open_and_ready_waits_for_an_active_model_in_every_pool(upstream: MockOpenAIServer) -> None:
    config = mesh_config(upstream)
    config["pools"]["solo"] = {"models": ["local.small"]}
    upstream.script("small", Fault.auth())  # a refused key sets the whole provider aside
    with serving(config, auth={"tokens": ["t"]}) as base:
        root = base.removesuffix("/v1")
        before = httpx.get(f"{root}/ready", timeout=30)
        failed = post(
            base,
            "/chat/completions",
            {"model": "solo", "messages": USER},
            headers={"authorization": "Bearer t"},
        )
        after = httpx.get(f"{root}/ready", timeout=30)
        alive = httpx.get(f"{root}/health", timeout=30)
    assert before.status_code == 200 and before.json() == {"status": "ready"}
    assert failed.status_code == 502
    assert after.status_code == 503
    assert set(after.json()["pools_without_active_models"]) == {"chat", "solo"}
    assert alive.status_code == 200


def test_metrics_are_served_when_the_prometheus_connector_is_configured(upstream: MockOpenAIServer) -> None:
    with_prometheus = mesh_config(upstream, observability={"connectors": [{"connector": "prometheus"}]})
    with serving(with_prometheus) as base:
        post(base, "/chat/completions", {"model": "chat", "messages": USER})
        scraped = httpx.get(f"{base.removesuffix('/v1')}/metrics", timeout=30)
    assert scraped.status_code == 200
    assert 'model="local.small"' in scraped.text
    with serving(mesh_config(upstream)) as base:
        absent = httpx.get(f"{base.removesuffix('/v1')}/metrics", timeout=30)
    assert absent.status_code == 404 and "prometheus" in error_of(absent)["message"]


def test_cors_preflight_is_answered_for_a_configured_origin(upstream: MockOpenAIServer) -> None:
    with serving(mesh_config(upstream), cors_origins=["https://app.example"]) as base:
        preflight = httpx.options(
            f"{base}/chat/completions",
            headers={"origin": "https://app.example", "access-control-request-method": "POST"},
            timeout=30,
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"


def test_the_user_field_keeps_a_session_on_one_model(upstream: MockOpenAIServer) -> None:
    config = mesh_config(upstream)
    config["pools"]["chat"]["rotation"] = {"connector": "session-sticky"}
    with serving(config) as base:
        answers = [
            post(base, "/chat/completions", {"model": "chat", "messages": USER, "user": "alice"}).json()[
                "model"
            ]
            for _ in range(4)
        ]
    assert len(set(answers)) == 1


# --- a client that disconnects mid-stream ------------------------------------------------------


@pytest.fixture
def held() -> Iterator[HeldStream]:
    with HeldStream() as server:
        yield server


def test_a_client_that_disconnects_mid_stream_cancels_the_upstream_call(
    held: HeldStream, tmp_path: Path
) -> None:
    log = tmp_path / "requests.jsonl"
    config = {
        "providers": {
            "held": {
                "connector": "openai-compatible",
                "config": {"base_url": f"http://127.0.0.1:{held.port}/v1"},
            }
        },
        "models": {"held.small": {"provider": "held"}},
        "pools": {"chat": {"models": ["held.small"]}},
        "observability": {"connectors": [{"connector": "jsonl", "config": {"path": str(log)}}]},
    }
    with serving(config) as base:
        with httpx.stream(
            "POST",
            f"{base}/chat/completions",
            json={"model": "chat", "messages": USER, "stream": True},
            timeout=30,
        ) as response:
            first = next(response.iter_lines())
            assert held.first_chunk_sent.is_set()
        # Leaving the block closed the client's connection while the upstream still held the stream.
        assert held.connection_closed.wait(30), "the upstream call was not cancelled"
    assert json.loads(first.removeprefix("data: "))["choices"][0]["delta"]["content"] == "Hel"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    statuses = [e["status"] for e in entries if e.get("kind") == "log"]
    assert statuses == ["cancelled"]
