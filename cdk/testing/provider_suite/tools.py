"""Tools (``tools``): the tools and the tool choice reach the wire; tool calls come back parsed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ...enums import ProviderFeature
from ...types import CompletionChunk, ToolCall
from ..target import ConformanceTarget
from .harness import ProviderHarness

TOOLS = (
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "The time in a zone.",
            "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}},
        },
    },
)
NAMED = {"type": "function", "function": {"name": "get_time"}}
CALL = {"name": "get_time", "arguments": {"zone": "Europe/Paris"}}


def _call_of(call: ToolCall) -> tuple[str, Any]:
    return call.function.name, json.loads(call.function.arguments)


def _streamed_calls(chunks: list[CompletionChunk]) -> list[tuple[str, Any]]:
    """Tool calls put back together from stream deltas (OpenAI's shape: by ``index``)."""
    names: dict[int, str] = {}
    arguments: dict[int, str] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for part in choice.delta.tool_calls or ():
                if part.function.name:
                    names[part.index] = part.function.name
                arguments[part.index] = arguments.get(part.index, "") + (part.function.arguments or "")
    return [(names.get(i, ""), json.loads(arguments[i] or "null")) for i in sorted(arguments)]


class ToolTests(ProviderHarness):
    """Tools offered, a tool chosen, tool calls answered (plain and streamed)."""

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.TOOLS)
    @pytest.mark.anyio
    @pytest.mark.parametrize("choice", ["auto", "required", "named"])
    async def test_tools_and_tool_choice_reach_the_wire(
        self, conformance_target: ConformanceTarget, choice: str
    ) -> None:
        tool_choice = NAMED if choice == "named" else choice
        expected = "tool:get_time" if choice == "named" else choice
        with self.feature(conformance_target, ProviderFeature.TOOLS):
            async with self.loopback(conformance_target) as (provider, server):
                await provider.complete(
                    self.request(conformance_target, tools=TOOLS, tool_choice=tool_choice)
                )
                sent = self.sent_chat(conformance_target, server)
            assert sent.tools == ["get_weather", "get_time"], (
                f"two tools were offered (get_weather, get_time); the wire carried {sent.tools}"
            )
            assert sent.tool_choice == expected, (
                f"tool_choice={tool_choice!r} was asked; the wire carried {sent.tool_choice!r}"
            )

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.TOOLS)
    @pytest.mark.anyio
    async def test_tool_calls_are_parsed(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, ProviderFeature.TOOLS):
            async with self.loopback(conformance_target) as (provider, server):
                from ..mock_server import Reply

                server.script(self.model(conformance_target), Reply(tool_calls=[CALL]))
                response = await provider.complete(self.request(conformance_target, tools=TOOLS))
            (choice,) = response.choices
            calls = [_call_of(c) for c in choice.message.tool_calls or ()]
            assert calls == [("get_time", CALL["arguments"])], (
                f"the upstream called get_time({CALL['arguments']}); the answer carries {calls}"
            )
            assert choice.finish_reason == "tool_calls", (
                "an answer that calls a tool ends with finish_reason='tool_calls', "
                f"got {choice.finish_reason!r}"
            )

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.TOOLS, ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_streamed_tool_calls_are_parsed(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, ProviderFeature.TOOLS):
            self.requires(conformance_target, ProviderFeature.STREAMING)
            async with self.loopback(conformance_target) as (provider, server):
                from ..mock_server import Reply

                server.script(self.model(conformance_target), Reply(tool_calls=[CALL]))
                chunks = await self.drain(provider, self.request(conformance_target, tools=TOOLS))
            calls = _streamed_calls(chunks)
            assert calls == [("get_time", CALL["arguments"])], (
                f"the upstream streamed a call of get_time({CALL['arguments']}); the chunks carry {calls}"
            )
            finishes = [c.finish_reason for chunk in chunks for c in chunk.choices if c.finish_reason]
            assert finishes == ["tool_calls"], f"finish reasons in the stream: {finishes}"
