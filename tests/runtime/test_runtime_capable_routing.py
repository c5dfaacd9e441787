"""The router tries only models that can do what a request needs; the others are passed over."""

from __future__ import annotations

from typing import Any

import pytest
from runtime_helpers import USER, Recorder, mock

from meshkit import (
    AllModelsExhaustedError,
    FeatureNotSupportedError,
    NoCapableModelError,
    NoModelAvailableError,
    NotTried,
    ProviderFeature,
)
from meshkit.connectors.providers.mock import MockProvider
from meshkit.runtime.mesh import Mesh
from meshkit.testing import FakeClock

pytestmark = pytest.mark.anyio

TOOLS = ({"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}},)
IMAGE = [
    {"type": "text", "text": "what is this?"},
    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
]
EMBED = "understanding.embeddings.text-embeddings"


class ToolMock(MockProvider):
    """The mock provider, declaring tools, JSON mode and vision as well."""

    connector_id = "tests.tool-mock.v1"
    features = MockProvider.features | {
        ProviderFeature.TOOLS,
        ProviderFeature.JSON_MODE,
        ProviderFeature.VISION,
    }


def build(clock: FakeClock, **pool: Any) -> tuple[Mesh, Recorder]:
    """``plain.small`` (the mock: no tools, JSON mode or vision), then ``able.large`` (all three)."""
    recorder = Recorder()
    config = {
        "providers": {"plain": {"connector": "mock", "config": {"models": ["small"]}}},
        "models": {
            "plain.small": {"provider": "plain"},
            "able.large": {"provider": "able"},
            "plain.emb": {"provider": "plain", "name": "small", "capabilities": [EMBED]},
        },
        "pools": {
            "chat": {
                "models": ["plain.small", "able.large"],
                "rotation": {"connector": "stick-until-failure", "config": {"failure_threshold": 1}},
                **pool,
            },
            "everything": {"models": ["plain.small", "able.large", "plain.emb"]},
        },
        "observability": {"tracing": {"min_severity": "debug"}},
    }
    able = ToolMock({"models": ["large"]}, name="able", clock=clock)
    return Mesh(config, clock=clock, providers={"able": able}, observability=[recorder]), recorder


def counters(mesh: Mesh, model_id: str) -> dict[str, Any]:
    return dict(mesh.status()["models"][model_id]["counters"])


@pytest.mark.parametrize(
    "params",
    [
        {"tools": TOOLS},
        {"tools": TOOLS, "tool_choice": "auto"},
        {"response_format": {"type": "json_object"}},
        {"messages": [{"role": "user", "content": IMAGE}]},
        {
            "messages": [
                *USER,
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "42"},
            ]
        },
    ],
    ids=["tools", "tool-choice", "json-mode", "vision", "tool-results"],
)
async def test_a_model_lacking_a_need_is_passed_over_without_a_call_or_a_mark(
    clock: FakeClock, params: dict[str, Any]
) -> None:
    mesh, recorder = build(clock)
    params = dict(params)
    messages = params.pop("messages", USER)
    async with mesh:
        reply = await mesh.complete(model="chat", messages=messages, **params)
        assert reply.model == "able.large"
        assert mock(mesh, "plain").calls == []
        plain = mesh.status()["models"]["plain.small"]
        assert plain["status"] == "active"
        assert counters(mesh, "plain.small")["requests"] == 0
        assert counters(mesh, "plain.small")["failures"] == 0
        # The preferred model stays preferred: a plain request still goes to it.
        assert (await mesh.complete(model="chat", messages=USER)).model == "plain.small"
    (sent,) = mock(mesh, "able").calls
    assert sent.tools == params.get("tools") and sent.response_format == params.get("response_format")
    assert [log.model_id for log in recorder.logs] == ["able.large", "plain.small"]  # no log for a skip
    (trace,) = [t for t in recorder.traces if "passed over" in t.message]
    assert "plain.small (lacks " in trace.message
    assert trace.metadata["skipped"]["plain.small"].startswith("lacks ")


async def test_a_stream_needs_streaming_and_embed_needs_embeddings(clock: FakeClock) -> None:
    mesh, _ = build(clock)
    async with mesh:
        chunks = [c async for c in mesh.stream(model="everything", messages=USER, tools=TOOLS)]
        assert {c.model for c in chunks} == {"able.large"}
        vectors = await mesh.embed(model="everything", input="x")
        assert vectors.model == "plain.emb"
        # ...and a chat request never goes to the embedding model.
        mock(mesh, "plain").push({"error": "unavailable"})
        mock(mesh, "able").push({"error": "unavailable"})
        with pytest.raises(AllModelsExhaustedError) as info:
            await mesh.complete(model="everything", messages=USER)
    assert [(a.model_id, a.skipped) for a in info.value.attempts] == [
        ("plain.emb", "lacks chat"),
        ("plain.small", None),
        ("able.large", None),
    ]


async def test_no_capable_model_is_an_error_naming_what_is_missing_before_any_call(
    clock: FakeClock,
) -> None:
    mesh, _ = build(clock)
    async with mesh:
        with pytest.raises(NoCapableModelError) as info:
            await mesh.complete(model="plain.small", messages=USER, tools=TOOLS)
        with pytest.raises(NoCapableModelError) as embedding:
            await mesh.embed(model="chat", input="x")
    assert isinstance(info.value, NoModelAvailableError)
    assert info.value.missing == ("tools",)
    assert info.value.skipped == [NotTried("plain.small", "lacks tools")]
    assert "chat with tools" in str(info.value)
    assert embedding.value.missing == ("embeddings",)
    assert [n.model_id for n in embedding.value.skipped] == ["plain.small", "able.large"]
    assert mock(mesh, "plain").calls == [] and mock(mesh, "able").calls == []


async def test_the_final_error_lists_the_skip_and_does_not_say_every_model_failed(clock: FakeClock) -> None:
    mesh, _ = build(clock)
    async with mesh:
        mock(mesh, "able").push({"error": "unavailable"})
        with pytest.raises(AllModelsExhaustedError) as info:
            await mesh.complete(model="chat", messages=USER, tools=TOOLS)
    error = info.value
    skip, call = error.attempts
    assert (skip.model_id, skip.skipped) == ("plain.small", "lacks tools")
    assert isinstance(skip.error, FeatureNotSupportedError)
    assert (call.model_id, call.skipped) == ("able.large", None)
    assert error.not_tried == [NotTried("plain.small", "lacks tools")]
    assert "every model" not in str(error)
    assert "not tried: plain.small (lacks tools)" in str(error)


async def test_a_skipped_model_in_standby_leaves_the_others_to_say_why(clock: FakeClock) -> None:
    mesh, _ = build(clock)
    async with mesh:
        await mesh.deactivate("able.large")
        with pytest.raises(NoModelAvailableError) as info:
            await mesh.complete(model="chat", messages=USER, tools=TOOLS)
    assert not isinstance(info.value, NoCapableModelError)  # a capable model exists; it rests
    assert "plain.small (lacks tools)" in str(info.value)
    assert "able.large (manual)" in str(info.value)


async def test_select_passes_over_the_same_models(clock: FakeClock) -> None:
    mesh, _ = build(clock)
    async with mesh:
        plain = mesh.select("chat", USER)
        with_tools = mesh.select("chat", USER, tools=TOOLS)
        streamed = mesh.select("everything", USER, stream=True)
        embedding = mesh.select("everything", input=["a", "b"])
        nothing = mesh.select("plain.small", [{"role": "user", "content": IMAGE}])
    assert (plain.model_id, plain.skipped) == ("plain.small", ())
    assert with_tools.model_id == "able.large"
    assert with_tools.candidates == ("able.large",)
    assert with_tools.skipped == (NotTried("plain.small", "lacks tools"),)
    assert streamed.model_id == "plain.small"
    assert [n.model_id for n in streamed.skipped] == ["plain.emb"]
    assert (embedding.model_id, embedding.candidates) == ("plain.emb", ("plain.emb",))
    assert (nothing.model_id, nothing.candidates) == (None, ())
    assert nothing.skipped == (NotTried("plain.small", "lacks vision"),)
