"""The local OpenAI-compatible / Anthropic test server, exercised with plain HTTP clients."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from meshkit.testing.mock_server import Fault, MockOpenAIServer, Reply

CHAT = {"model": "small", "messages": [{"role": "user", "content": "Hello"}]}
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01"}
MESSAGES = {"model": "small", "max_tokens": 100, "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture(scope="module")
def running() -> Iterator[MockOpenAIServer]:
    with MockOpenAIServer(models=["small", "large"]) as server:
        yield server


@pytest.fixture
def server(running: MockOpenAIServer) -> Iterator[MockOpenAIServer]:
    running.reset()
    yield running
    running.reset()


@pytest.fixture
def client(server: MockOpenAIServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url + "/", timeout=10) as c:
        yield c


def sse_data(response: httpx.Response) -> list[Any]:
    """The data of each SSE event; ``[DONE]`` kept as a string."""
    out: list[Any] = []
    for line in response.text.splitlines():
        if line.startswith("data: "):
            payload = line[6:]
            out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


# --- basics ----------------------------------------------------------------------------


def test_base_url_points_at_loopback_v1(server: MockOpenAIServer) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1"


def test_chat_completion_in_openai_shape(client: httpx.Client) -> None:
    body = client.post("chat/completions", json=CHAT).json()
    assert body["object"] == "chat.completion" and body["model"] == "small"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hello from small."}
    assert body["choices"][0]["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_stream_ends_with_done_and_usage_only_when_asked(client: httpx.Client) -> None:
    plain = sse_data(client.post("chat/completions", json={**CHAT, "stream": True}))
    assert plain[-1] == "[DONE]"
    assert all("usage" not in event for event in plain[:-1])
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in plain[:-1] if e["choices"])
    assert text == "Hello from small."
    with_usage = sse_data(
        client.post(
            "chat/completions", json={**CHAT, "stream": True, "stream_options": {"include_usage": True}}
        )
    )
    assert with_usage[-1] == "[DONE]"
    assert with_usage[-2]["choices"] == [] and with_usage[-2]["usage"]["completion_tokens"] == 3


def test_models_listing_in_both_shapes(client: httpx.Client) -> None:
    openai = client.get("models").json()
    assert openai["object"] == "list" and [m["id"] for m in openai["data"]] == ["small", "large"]
    anthropic = client.get("models", headers=ANTHROPIC_HEADERS).json()
    assert anthropic["has_more"] is False and anthropic["data"][0]["type"] == "model"


def test_requests_are_recorded_and_reset_forgets_them(server: MockOpenAIServer, client: httpx.Client) -> None:
    client.post("chat/completions", json=CHAT, headers={"X-Trace": "abc"})
    (recorded,) = server.requests
    assert recorded.method == "POST" and recorded.path == "/v1/chat/completions"
    assert recorded.headers["X-Trace"] == "abc" and recorded.json == CHAT
    server.script("small", Fault.status(500))
    server.reset()
    assert server.requests == [] and server.pending("small") == 0


def test_unknown_model_and_bad_json_are_client_errors(client: httpx.Client) -> None:
    missing = client.post("chat/completions", json={**CHAT, "model": "nope"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"
    broken = client.post(
        "chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]["message"]


def test_default_reply_echo_and_json_mode() -> None:
    with MockOpenAIServer(models=["m"], reply="Fixed {model}") as fixed, httpx.Client() as c:
        chat = {**CHAT, "model": "m"}
        body = c.post(fixed.base_url + "/chat/completions", json=chat).json()
        assert body["choices"][0]["message"]["content"] == "Fixed m"
        json_mode = {**chat, "response_format": {"type": "json_object"}}
        content = c.post(fixed.base_url + "/chat/completions", json=json_mode).json()["choices"][0]["message"]
        assert json.loads(content["content"]) == {"model": "m", "reply": "Fixed m"}
    with MockOpenAIServer(models=["m"], echo=True) as echo, httpx.Client() as c:
        body = c.post(echo.base_url + "/chat/completions", json={**CHAT, "model": "m"}).json()
        assert body["choices"][0]["message"]["content"] == "Hello"


def test_api_key_is_enforced_when_configured() -> None:
    with MockOpenAIServer(models=["small"], api_key="sk-right") as server, httpx.Client() as c:
        url = server.base_url + "/chat/completions"
        assert c.post(url, json=CHAT).status_code == 401
        assert c.post(url, json=CHAT, headers={"Authorization": "Bearer sk-wrong"}).status_code == 401
        assert c.post(url, json=CHAT, headers={"Authorization": "Bearer sk-right"}).status_code == 200
        messages_url = server.base_url + "/messages"
        ok = c.post(messages_url, json=MESSAGES, headers={**ANTHROPIC_HEADERS, "x-api-key": "sk-right"})
        assert ok.status_code == 200


# --- scripts ---------------------------------------------------------------------------


def test_script_is_consumed_one_step_per_request_per_model(
    server: MockOpenAIServer, client: httpx.Client
) -> None:
    server.script("small", Fault.status(503), Reply("scripted"))
    assert server.pending("small") == 2
    assert client.post("chat/completions", json={**CHAT, "model": "large"}).status_code == 200
    assert server.pending("small") == 2  # another model's requests leave it alone
    assert client.post("chat/completions", json=CHAT).status_code == 503
    second = client.post("chat/completions", json=CHAT).json()
    assert second["choices"][0]["message"]["content"] == "scripted"
    third = client.post("chat/completions", json=CHAT).json()
    assert third["choices"][0]["message"]["content"] == "Hello from small."
    assert server.pending("small") == 0


def test_script_rejects_what_is_not_a_step(server: MockOpenAIServer) -> None:
    with pytest.raises(TypeError, match="expected Reply or Fault"):
        server.script("small", "hello")  # type: ignore[arg-type]


def test_rate_limit_sends_retry_after(server: MockOpenAIServer, client: httpx.Client) -> None:
    date = "Wed, 21 Oct 2037 07:28:00 GMT"
    server.script("small", Fault.rate_limit(retry_after=2), Fault.rate_limit(retry_after=date))
    first = client.post("chat/completions", json=CHAT)
    assert first.status_code == 429 and first.headers["retry-after"] == "2"
    assert first.json()["error"]["code"] == "rate_limit_exceeded"
    assert client.post("chat/completions", json=CHAT).headers["retry-after"] == date


@pytest.mark.parametrize(
    ("fault", "status", "openai_code", "anthropic_status", "anthropic_type"),
    [
        (Fault.quota(), 429, "insufficient_quota", 402, "billing_error"),
        (Fault.auth(), 401, "invalid_api_key", 401, "authentication_error"),
        (Fault.context_window(), 400, "context_length_exceeded", 400, "invalid_request_error"),
        (Fault.overloaded(), 503, None, 529, "overloaded_error"),
        (Fault.status(404), 404, None, 404, "not_found_error"),
    ],
)
def test_error_bodies_in_each_api_shape(
    server: MockOpenAIServer,
    client: httpx.Client,
    fault: Fault,
    status: int,
    openai_code: str | None,
    anthropic_status: int,
    anthropic_type: str,
) -> None:
    server.script("small", fault, fault)
    openai = client.post("chat/completions", json=CHAT)
    assert openai.status_code == status and openai.json()["error"]["code"] == openai_code
    anthropic = client.post("messages", json=MESSAGES, headers=ANTHROPIC_HEADERS)
    assert anthropic.status_code == anthropic_status
    assert anthropic.json() == {
        "type": "error",
        "error": {"type": anthropic_type, "message": anthropic.json()["error"]["message"]},
    }


def test_status_with_a_verbatim_body_and_headers(server: MockOpenAIServer, client: httpx.Client) -> None:
    server.script("small", Fault.status(502, body="<html>bad gateway</html>", headers={"X-Why": "upstream"}))
    response = client.post("chat/completions", json=CHAT)
    assert response.status_code == 502 and response.text == "<html>bad gateway</html>"
    assert response.headers["x-why"] == "upstream"


def test_garbage_is_a_200_that_is_not_json(server: MockOpenAIServer, client: httpx.Client) -> None:
    server.script("small", Fault.malformed())
    response = client.post("chat/completions", json=CHAT)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_cut_stream_drops_the_connection_after_n_chunks(
    server: MockOpenAIServer, client: httpx.Client
) -> None:
    server.script("small", Fault.cut_stream(after=2))
    lines: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", "chat/completions", json={**CHAT, "stream": True}) as response,
    ):
        lines.extend(line for line in response.iter_lines() if line)
    contents = [json.loads(line[6:])["choices"][0]["delta"].get("content") for line in lines]
    assert contents == ["", "word1 ", "word2 "]


def test_a_held_stream_sends_its_first_chunks_then_waits_for_release(
    server: MockOpenAIServer, client: httpx.Client
) -> None:
    server.script("small", Reply("one two three", hold_after=1), Reply("again", hold_after=0))
    with client.stream("POST", "chat/completions", json={**CHAT, "stream": True}) as response:
        events = (json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: {"))
        first = [next(events)["choices"][0]["delta"]["content"] for _ in range(2)]  # role, then "one "
        held = server.held
        server.release()
        rest = [e["choices"][0]["delta"].get("content") for e in events if e["choices"]]
    assert first == ["", "one "]
    assert held == 1
    assert rest == ["two ", "three", None]
    assert server.held == 0
    # released once, later holds pass at once until reset()
    assert sse_data(client.post("chat/completions", json={**CHAT, "stream": True}))[-1] == "[DONE]"


def test_a_held_stream_ends_when_the_server_stops() -> None:
    with MockOpenAIServer(models=["small"]) as server:
        server.script("small", Reply("one two", hold_after=1))
        stopper = threading.Thread(target=server.stop)
        received: list[str] = []
        with httpx.Client(base_url=server.base_url + "/", timeout=10) as client:
            with (
                pytest.raises(httpx.RemoteProtocolError),
                client.stream("POST", "chat/completions", json={**CHAT, "stream": True}) as response,
            ):
                for line in response.iter_lines():
                    if not line:
                        continue
                    received.append(line)  # the role chunk, then "one "
                    if len(received) == 2:
                        stopper.start()
            stopper.join()
    assert len(received) == 2


def test_cut_plain_response_is_short_of_its_length(server: MockOpenAIServer, client: httpx.Client) -> None:
    server.script("small", Fault.cut_stream())
    with pytest.raises(httpx.RemoteProtocolError, match="without sending complete message body"):
        client.post("chat/completions", json=CHAT)


def test_disconnect_sends_nothing(server: MockOpenAIServer, client: httpx.Client) -> None:
    server.script("small", Fault.disconnect())
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        client.post("chat/completions", json=CHAT)


def test_stream_error_event_in_both_shapes(server: MockOpenAIServer, client: httpx.Client) -> None:
    server.script("small", Fault.stream_error(after=1, error="rate_limit"), Fault.stream_error(after=1))
    openai = sse_data(client.post("chat/completions", json={**CHAT, "stream": True}))
    assert openai[-1]["error"]["code"] == "rate_limit_exceeded" and "[DONE]" not in openai
    anthropic = client.post("messages", json={**MESSAGES, "stream": True}, headers=ANTHROPIC_HEADERS)
    assert "event: error" in anthropic.text
    assert sse_data(anthropic)[-1] == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def test_latency_is_per_model(server: MockOpenAIServer) -> None:
    server.set_latency("small", 5.0)
    with httpx.Client(base_url=server.base_url + "/", timeout=0.2) as impatient:
        assert impatient.post("chat/completions", json={**CHAT, "model": "large"}).status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            impatient.post("chat/completions", json=CHAT)


def test_listing_can_be_scripted(server: MockOpenAIServer, client: httpx.Client) -> None:
    server.script_listing(Fault.status(503))
    assert client.get("models").status_code == 503
    assert client.get("models").status_code == 200


# --- the Anthropic endpoint ---------------------------------------------------------------


def test_messages_endpoint_answers_in_anthropic_shape(client: httpx.Client) -> None:
    body = client.post("messages", json=MESSAGES, headers=ANTHROPIC_HEADERS).json()
    assert body["type"] == "message" and body["stop_reason"] == "end_turn"
    assert body["content"] == [{"type": "text", "text": "Hello from small."}]
    assert set(body["usage"]) == {"input_tokens", "output_tokens"}


def test_messages_stream_uses_the_anthropic_event_types(client: httpx.Client) -> None:
    response = client.post("messages", json={**MESSAGES, "stream": True}, headers=ANTHROPIC_HEADERS)
    events = [line[7:] for line in response.text.splitlines() if line.startswith("event: ")]
    assert events[:3] == ["message_start", "content_block_start", "ping"]
    assert events[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(events) == {
        "message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("body", "headers", "problem"),
    [
        ({k: v for k, v in MESSAGES.items() if k != "max_tokens"}, ANTHROPIC_HEADERS, "max_tokens"),
        (MESSAGES, {}, "anthropic-version"),
        ({**MESSAGES, "messages": [{"role": "system", "content": "x"}]}, ANTHROPIC_HEADERS, "system"),
    ],
)
def test_messages_endpoint_enforces_the_api_rules(
    client: httpx.Client, body: dict[str, Any], headers: dict[str, str], problem: str
) -> None:
    response = client.post("messages", json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert problem in response.json()["error"]["message"]


# --- held streams and connections --------------------------------------------------------


def test_a_held_stream_sends_its_first_words_and_waits_for_release(server: MockOpenAIServer) -> None:
    server.script("small", Reply("one two three", hold_after=1))
    body = {**CHAT, "stream": True}
    with (
        httpx.Client(base_url=server.base_url + "/", timeout=30) as c,
        c.stream("POST", "chat/completions", json=body) as response,
    ):
        lines = response.iter_lines()
        seen: list[Any] = []
        while not any(
            e != "[DONE]" and e["choices"] and e["choices"][0]["delta"].get("content") for e in seen
        ):
            line = next(lines)
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
        assert seen[-1]["choices"][0]["delta"]["content"] == "one "  # the rest is held back
        server.release()
        rest = [line[6:] for line in lines if line.startswith("data: ")]
    assert rest[-1] == "[DONE]"
    text = "".join(json.loads(r)["choices"][0]["delta"].get("content", "") for r in rest[:-1])
    assert text == "two three"


def test_the_server_counts_the_connections_it_sees(server: MockOpenAIServer) -> None:
    before = server.opened_connections
    with httpx.Client(base_url=server.base_url + "/", timeout=10) as c:
        c.post("chat/completions", json=CHAT)
        c.post("chat/completions", json=CHAT)  # kept alive: the same connection
        assert server.opened_connections == before + 1 and server.open_connections >= 1
    assert server.wait_for_open_connections(0)
    assert server.open_connections == 0


# --- lifecycle ---------------------------------------------------------------------------


def test_a_hang_does_not_keep_the_server_from_stopping() -> None:
    server = MockOpenAIServer(models=["small"])
    server.start()
    server.script("small", Fault.hang())
    outcome: list[BaseException | int] = []

    def call() -> None:
        try:
            outcome.append(
                httpx.post(server.base_url + "/chat/completions", json=CHAT, timeout=60).status_code
            )
        except httpx.HTTPError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    assert server.wait_for_requests(1)
    server.stop()  # returns although the request above is still hanging
    caller.join(timeout=30)
    assert not caller.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.RemoteProtocolError)
    server.stop()  # idempotent


def test_start_twice_is_refused_and_port_needs_a_running_server() -> None:
    server = MockOpenAIServer()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url
    with server, pytest.raises(RuntimeError, match="already running"):
        server.start()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.port


def test_a_busy_port_is_a_clear_error(server: MockOpenAIServer) -> None:
    with pytest.raises(RuntimeError, match="could not start"):
        MockOpenAIServer(port=server.port).start()


@pytest.mark.anyio
async def test_async_with_serves_under_each_backend() -> None:
    async with MockOpenAIServer(models=["small"]) as server, httpx.AsyncClient() as c:
        response = await c.post(server.base_url + "/chat/completions", json=CHAT)
        assert response.json()["choices"][0]["message"]["content"] == "Hello from small."
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url


@pytest.mark.slow
def test_runs_as_a_module_and_prints_its_url() -> None:
    argv = [sys.executable, "-m", "meshkit.testing.mock_server", "--models", "a,b"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
            models = httpx.get(base_url + "/models", timeout=10).json()
            assert [m["id"] for m in models["data"]] == ["a", "b"]
        finally:
            process.terminate()
