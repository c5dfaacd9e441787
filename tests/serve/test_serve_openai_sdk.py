"""`meshkit serve` driven by the official openai SDK, as an application would use it."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from serve_helpers import USER, called, mesh_config, serving

from meshkit.testing import fake_embedding
from meshkit.testing.mock_server import Fault, MockOpenAIServer

pytestmark = pytest.mark.slow


def client(base_url: str, token: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=token, max_retries=0, timeout=30)


def test_a_completion_through_a_pool(upstream: MockOpenAIServer) -> None:
    with serving(mesh_config(upstream)) as base:
        raw = client(base).chat.completions.with_raw_response.create(
            model="chat", messages=USER, max_tokens=20, temperature=0.2
        )
    reply = raw.parse()
    assert reply.choices[0].message.content == "Hello from small."
    assert reply.model == "local.small"
    assert reply.usage is not None and reply.usage.total_tokens > 0
    assert raw.headers["x-meshkit-model"] == "local.small"
    assert raw.headers["x-meshkit-attempts"] == "1"
    sent = upstream.requests[-1].json
    assert sent["model"] == "small" and sent["max_tokens"] == 20 and sent["temperature"] == 0.2


def test_a_failover_the_client_never_notices(upstream: MockOpenAIServer) -> None:
    upstream.script("small", Fault.status(503))
    with serving(mesh_config(upstream)) as base:
        raw = client(base).chat.completions.with_raw_response.create(model="chat", messages=USER)
    reply = raw.parse()
    assert reply.choices[0].message.content == "Hello from large."
    assert raw.headers["x-meshkit-model"] == "local.large"
    assert raw.headers["x-meshkit-attempts"] == "2"
    assert called(upstream) == ["small", "large"]


def test_a_capability_or_a_concrete_model_is_a_target_too(upstream: MockOpenAIServer) -> None:
    with serving(mesh_config(upstream)) as base:
        sdk = client(base)
        by_model = sdk.chat.completions.create(model="local.large", messages=USER)
        by_capability = sdk.chat.completions.create(model="chat-completion", messages=USER)
    assert by_model.model == "local.large"
    assert by_capability.model in {"local.small", "local.large"}


def test_streaming_yields_openai_chunks_and_the_usage_when_asked(upstream: MockOpenAIServer) -> None:
    with serving(mesh_config(upstream)) as base:
        chunks = list(
            client(base).chat.completions.create(
                model="chat", messages=USER, stream=True, stream_options={"include_usage": True}
            )
        )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from small."
    assert all(c.model == "local.small" for c in chunks)
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


def test_streaming_without_include_usage_sends_no_usage_chunk(upstream: MockOpenAIServer) -> None:
    with serving(mesh_config(upstream)) as base:
        chunks = list(client(base).chat.completions.create(model="chat", messages=USER, stream=True))
    assert chunks and all(c.choices for c in chunks)


def test_a_stream_fails_over_before_its_first_chunk(upstream: MockOpenAIServer) -> None:
    upstream.script("small", Fault.status(500))
    with serving(mesh_config(upstream)) as base:
        response = client(base).chat.completions.with_raw_response.create(
            model="chat", messages=USER, stream=True
        )
        chunks = list(response.parse())
    assert response.headers["x-meshkit-model"] == "local.large"
    assert response.headers["x-meshkit-attempts"] == "2"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hello from large."


def test_models_list_names_pools_capabilities_and_models(upstream: MockOpenAIServer) -> None:
    with serving(mesh_config(upstream)) as base:
        listed = {m.id: m for m in client(base).models.list()}
    assert {"chat", "local.small", "local.large"} <= set(listed)
    assert "generation.text-generation.chat-completion" in listed
    assert listed["local.small"].owned_by == "local"
    kinds = {m.id: (m.model_extra or {}).get("meshkit", {}).get("kind") for m in listed.values()}
    assert kinds["chat"] == "pool" and kinds["local.small"] == "model"
    assert kinds["generation.text-generation.chat-completion"] == "capability"


def test_an_unknown_model_is_not_found(upstream: MockOpenAIServer) -> None:
    with serving(mesh_config(upstream)) as base, pytest.raises(openai.NotFoundError) as caught:
        client(base).chat.completions.create(model="chta", messages=USER)
    body = caught.value.body
    assert isinstance(body, dict) and body["code"] == "model_not_found"
    assert "'chat'" in body["message"]  # the suggestion
    assert upstream.requests == []


def test_a_wrong_token_is_an_authentication_error(upstream: MockOpenAIServer) -> None:
    with serving(mesh_config(upstream), auth={"tokens": ["s3cret-token"]}) as base:
        with pytest.raises(openai.AuthenticationError):
            client(base, token="wrong").chat.completions.create(model="chat", messages=USER)
        reply = client(base, token="s3cret-token").chat.completions.create(model="chat", messages=USER)
    assert reply.model == "local.small"
    assert len(upstream.requests) == 1  # the refused request never reached a model


def test_a_token_can_come_from_the_secret_store(
    upstream: MockOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVE_TOKEN", "from-the-environment")
    with serving(mesh_config(upstream), auth={"tokens": ["${secrets:SERVE_TOKEN}"]}) as base:
        with pytest.raises(openai.AuthenticationError):
            client(base, token="${secrets:SERVE_TOKEN}").models.list()
        assert client(base, token="from-the-environment").models.list().data


def test_every_model_rate_limited_is_a_429_with_retry_after(upstream: MockOpenAIServer) -> None:
    upstream.script("small", Fault.rate_limit(retry_after=7))
    upstream.script("large", Fault.rate_limit(retry_after=3))
    with serving(mesh_config(upstream)) as base, pytest.raises(openai.RateLimitError) as caught:
        client(base).chat.completions.create(model="chat", messages=USER)
    assert caught.value.response.headers["retry-after"] == "3"


def test_every_model_failing_is_a_502_listing_the_attempts(upstream: MockOpenAIServer) -> None:
    upstream.script("small", Fault.status(503))
    upstream.script("large", Fault.status(500))
    with serving(mesh_config(upstream)) as base, pytest.raises(openai.APIStatusError) as caught:
        client(base).chat.completions.create(model="chat", messages=USER)
    assert caught.value.status_code == 502
    message = str(caught.value.body)
    assert "local.small" in message and "local.large" in message


def embedding_config(upstream: MockOpenAIServer) -> dict[str, Any]:
    """Two embedding models on the mock server (upstream names `small` and `large`), pool `vectors`."""
    embed = ["understanding.embeddings.text-embeddings"]
    return mesh_config(
        upstream,
        models={
            "local.e1": {"provider": "local", "name": "small", "capabilities": embed},
            "local.e2": {"provider": "local", "name": "large", "capabilities": embed},
        },
        pools={
            "vectors": {
                "models": ["local.e1", "local.e2"],
                "rotation": {"connector": "stick-until-failure", "config": {"failure_threshold": 1}},
            }
        },
    )


def test_embeddings_in_the_sdks_default_base64_come_back_as_the_upstreams_floats(
    upstream: MockOpenAIServer,
) -> None:
    with serving(embedding_config(upstream)) as base:
        raw = client(base).embeddings.with_raw_response.create(model="vectors", input=["one", "two"])
    reply = raw.parse()
    assert raw.headers["x-meshkit-model"] == "local.e1"
    assert raw.headers["x-meshkit-attempts"] == "1"
    assert reply.model == "local.e1"
    assert [d.index for d in reply.data] == [0, 1]
    # float32 on the wire between the SDK and meshkit, so equal to float32 precision.
    for item, text in zip(reply.data, ["one", "two"], strict=True):
        assert item.embedding == pytest.approx(fake_embedding(text, model="small"), abs=1e-6)
    assert reply.usage.prompt_tokens == reply.usage.total_tokens >= 1
    (sent,) = upstream.requests
    assert sent.path.endswith("/embeddings") and sent.json["input"] == ["one", "two"]


def test_embeddings_as_floats_with_dimensions_fail_over_across_a_503(upstream: MockOpenAIServer) -> None:
    upstream.script("small", Fault.status(503))
    with serving(embedding_config(upstream)) as base:
        raw = client(base).embeddings.with_raw_response.create(
            model="vectors", input="hello", dimensions=3, encoding_format="float"
        )
    reply = raw.parse()
    assert raw.headers["x-meshkit-model"] == "local.e2"
    assert raw.headers["x-meshkit-attempts"] == "2"
    (item,) = reply.data
    assert item.embedding == fake_embedding("hello", model="large", dimensions=3)
    assert called(upstream, "/embeddings") == ["small", "large"]
    assert all(r.json["dimensions"] == 3 for r in upstream.requests)


def test_a_request_no_model_can_serve_is_a_400_that_reaches_no_upstream(upstream: MockOpenAIServer) -> None:
    config = mesh_config(upstream)
    for model in config["models"].values():
        model["features"] = ["streaming"]
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    with serving(config) as base, pytest.raises(openai.BadRequestError) as caught:
        client(base).chat.completions.create(model="chat", messages=USER, tools=[tool])
    body = caught.value.body
    assert isinstance(body, dict) and body["code"] == "no_capable_model"
    assert "missing: tools" in body["message"]
    assert upstream.requests == []
