"""The Messages API's event stream, turned into meshkit's OpenAI-shaped chunks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from meshkit import ChunkChoice, CompletionChunk, CompletionRequest, Delta, ProviderError, TokenUsage

from . import _anthropic_wire as wire

__all__ = ["StreamParser"]


class StreamParser:
    """One stream's parser: ``parse`` takes each line and gives a chunk, None to skip, False at the end.

    ``error_from_body`` turns an error event into the error to raise.
    """

    def __init__(
        self,
        request: CompletionRequest,
        *,
        provider_id: str,
        error_from_body: Callable[[Any], ProviderError],
    ) -> None:
        self.provider_id = provider_id
        self.error_from_body = error_from_body
        self.id = ""
        self.model = request.model or ""
        self.prompt_tokens = 0
        self.output_tokens = 0
        self.tool_index: dict[int, int] = {}  # content block index → tool call ordinal

    def parse(self, line: str) -> CompletionChunk | Literal[False] | None:
        if not line.startswith("data:"):
            return None  # "event:" lines repeat the type that the data carries
        event = json.loads(line[5:].strip())
        kind = event["type"]
        if kind == "message_start":
            message = event["message"]
            self.id = str(message.get("id") or "")
            self.model = str(message.get("model") or self.model)
            usage = message.get("usage") or {}
            self.prompt_tokens = wire.prompt_tokens(usage)
            self.output_tokens = int(usage.get("output_tokens") or 0)
            return self._chunk(Delta(role="assistant"))
        if kind == "content_block_start":
            block = event["content_block"]
            if block.get("type") == "tool_use":
                ordinal = self.tool_index.setdefault(int(event["index"]), len(self.tool_index))
                call = {
                    "index": ordinal,
                    "id": block["id"],
                    "type": "function",
                    "function": {"name": block["name"], "arguments": ""},
                }
                return self._chunk(Delta(tool_calls=(call,)))
            if block.get("type") == "text" and block.get("text"):
                return self._chunk(Delta(content=str(block["text"])))
            return None
        if kind == "content_block_delta":
            delta = event["delta"]
            if delta.get("type") == "text_delta":
                return self._chunk(Delta(content=str(delta["text"])))
            if delta.get("type") == "input_json_delta":
                ordinal = self.tool_index[int(event["index"])]
                part = {"index": ordinal, "function": {"arguments": str(delta.get("partial_json", ""))}}
                return self._chunk(Delta(tool_calls=(part,)))
            return None  # thinking and signature deltas have no OpenAI counterpart
        if kind == "message_delta":
            usage = event.get("usage") or {}
            if usage.get("output_tokens") is not None:
                self.output_tokens = int(usage["output_tokens"])
            if usage.get("input_tokens") is not None:
                self.prompt_tokens = wire.prompt_tokens(usage)
            reason = wire.finish_reason((event.get("delta") or {}).get("stop_reason"))
            return self._chunk(
                Delta(), finish_reason=reason, usage=TokenUsage(self.prompt_tokens, self.output_tokens)
            )
        if kind == "message_stop":
            return False
        if kind == "error":
            raise self.error_from_body(event.get("error"))
        return None  # ping, content_block_stop, and event types added later

    def _chunk(
        self, delta: Delta, *, finish_reason: str | None = None, usage: TokenUsage | None = None
    ) -> CompletionChunk:
        return CompletionChunk(
            id=self.id,
            model=self.model,
            choices=(ChunkChoice(index=0, delta=delta, finish_reason=finish_reason),),
            usage=usage,
            provider_id=self.provider_id,
        )
