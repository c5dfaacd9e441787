"""Streaming (``streaming``, ``usage_in_stream``): chunks well formed, incremental, usage kept."""

from __future__ import annotations

import anyio
import pytest

from ...enums import ProviderFeature
from ...types import CompletionChunk
from ..target import ConformanceTarget
from .harness import GUARD_SECONDS, ProviderHarness

WORDS = "one two three four five six seven eight"


class StreamingTests(ProviderHarness):
    """Streams: shape, usage at the end (also on a chunk of its own), and delivery as it comes."""

    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_stream_yields_well_formed_chunks(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, ProviderFeature.STREAMING):
            async with self.provider(conformance_target) as (provider, transport):
                chunks = await self.drain(provider, self.request(conformance_target))
                if transport is not None:
                    assert transport.open_streams == 0, "a finished stream must close its response"
            assert chunks, "a stream yields at least one chunk"
            assert all(isinstance(c, CompletionChunk) for c in chunks), "a stream yields CompletionChunk"
            assert all(c.id and c.model for c in chunks), "every chunk carries the id and the model"
            assert "".join(c.text for c in chunks).strip(), "the chunks carry the answer's text"

    @pytest.mark.meshkit_feature(ProviderFeature.USAGE_IN_STREAM)
    @pytest.mark.anyio
    async def test_stream_reports_usage_at_the_end(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, ProviderFeature.USAGE_IN_STREAM):
            async with self.provider(conformance_target) as (provider, _):
                chunks = await self.drain(provider, self.request(conformance_target))
            usage = [c.usage for c in chunks if c.usage is not None]
            assert usage, "no chunk carried usage"
            last = usage[-1]
            assert last.total_tokens == last.prompt_tokens + last.completion_tokens > 0, f"usage: {last}"

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_stream_is_delivered_as_it_arrives(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, ProviderFeature.STREAMING):
            async with self.loopback(conformance_target) as (provider, server):
                from ..mock_server import Reply

                # The server sends the first word, then holds the stream open until released.
                server.script(self.model(conformance_target), Reply(WORDS, hold_after=1))
                stream = provider.stream(self.request(conformance_target))
                first: CompletionChunk | None = None
                try:
                    # Hang guard: the first word is on the wire before this wait starts, so a
                    # provider that streams yields it at once; one that buffers never does.
                    with anyio.move_on_after(GUARD_SECONDS):
                        while first is None or not first.text:
                            first = await stream.__anext__()
                finally:
                    server.release()
                assert first is not None and first.text, (
                    "no chunk came while the upstream held the rest of the stream back: the provider "
                    "waits for the whole answer before yielding (streams must be delivered as they arrive)"
                )
                rest = [chunk async for chunk in stream]
            text = "".join(c.text for c in [first, *rest])
            assert text == WORDS, f"the stream carried {text!r}, the upstream sent {WORDS!r}"

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_terse_server_sent_events_are_read(self, conformance_target: ConformanceTarget) -> None:
        # The format makes the space after `data:` optional and allows comment lines; a parser
        # that wants `data: ` exactly reads nothing from a server that leaves it out.
        self.requires(conformance_target, ProviderFeature.STREAMING)
        from ..mock_server import Reply

        async with self.loopback(conformance_target) as (provider, server):
            server.script(self.model(conformance_target), Reply(WORDS, compact_sse=True))
            chunks = await self.drain(provider, self.request(conformance_target))
        text = "".join(c.text for c in chunks)
        assert text == WORDS, f"a stream of `data:{{...}}` lines said {WORDS!r}; the chunks read {text!r}"

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING, ProviderFeature.USAGE_IN_STREAM)
    @pytest.mark.anyio
    async def test_usage_on_its_own_last_chunk_is_kept(self, conformance_target: ConformanceTarget) -> None:
        # OpenAI sends usage on a final chunk of its own, with `choices: []`; it must not be lost.
        with self.feature(conformance_target, ProviderFeature.USAGE_IN_STREAM):
            self.requires(conformance_target, ProviderFeature.STREAMING)
            async with self.loopback(conformance_target) as (provider, server):
                from ..mock_server import Reply

                server.script(self.model(conformance_target), Reply(WORDS, usage={"prompt_tokens": 11}))
                chunks = await self.drain(provider, self.request(conformance_target))
                sent = self.sent_chat(conformance_target, server)
            usage = [c.usage for c in chunks if c.usage is not None]
            if sent.wire == "openai":
                assert sent.stream_usage, (
                    "an OpenAI-style stream reports usage only when asked: send "
                    "stream_options={'include_usage': true}"
                )
            assert usage, "the upstream sent usage on the stream's last chunk; no chunk carried it"
            last = usage[-1]
            assert (last.prompt_tokens, last.completion_tokens) == (11, 8), (
                f"the upstream counted 11 prompt and 8 completion tokens, the stream reported {last}"
            )
            assert last.total_tokens == 19, f"total_tokens should be 19, got {last.total_tokens}"
