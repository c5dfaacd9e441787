"""Resources: connections given back, clients closed, the configured timeout and a promised bound kept."""

from __future__ import annotations

import anyio
import pytest

from ...enums import ProviderFeature
from ...errors import ProviderTimeoutError
from ...types import CompletionChunk
from ..faults import Fault
from ..target import ConformanceTarget
from .harness import GUARD_SECONDS, ProviderHarness, ServerUpstream, expect


class ResourceTests(ProviderHarness):
    """What a provider holds (connections, its client, time) it gives back."""

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_cancelled_stream_releases_the_connection(
        self, conformance_target: ConformanceTarget
    ) -> None:
        self.requires(conformance_target, ProviderFeature.STREAMING)
        assert conformance_target.spec.http is None or conformance_target.spec.http.stream_lines
        if not conformance_target.is_http:
            await self._stream_let_go_over_http(conformance_target, cancel=True)
            return
        stalled = Fault.hang(after=2)
        async with self.http_provider(conformance_target, stalled) as (provider, transport):
            request = self.request(conformance_target)
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.drain, provider, request)
                await transport.stalled.wait()
                tg.cancel_scope.cancel()
            assert transport.opened_streams == 1, "the stream was never opened"
            assert transport.open_streams == 0, "a cancelled stream must close its response (connection leak)"

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_closing_a_stream_early_releases_the_connection(
        self, conformance_target: ConformanceTarget
    ) -> None:
        self.requires(conformance_target, ProviderFeature.STREAMING)
        if not conformance_target.is_http:
            await self._stream_let_go_over_http(conformance_target, cancel=False)
            return
        lines = conformance_target.spec.http.stream_lines if conformance_target.spec.http else ()
        async with self.http_provider(conformance_target, Fault.hang(after=len(lines))) as (
            provider,
            transport,
        ):
            stream = provider.stream(self.request(conformance_target))
            # Every line is already there: a correct provider yields at once, so this waits only
            # on one that reads to the end of the connection (the test guard ends that wait).
            first = await stream.__anext__()
            assert isinstance(first, CompletionChunk), f"a stream yielded {type(first).__name__}"
            await stream.aclose()  # type: ignore[attr-defined]
            assert transport.open_streams == 0, "closing a stream early must close its response"

    async def _stream_let_go_over_http(self, target: ConformanceTarget, *, cancel: bool) -> None:
        """A provider that is not an HTTPProvider, against the local server holding a stream open.

        The server sends the first word and holds the rest back; once a chunk has arrived the
        reader is cancelled (or the stream closed), and the server must see the connection go:
        a response read halfway cannot go back to the pool, so a provider that closes it drops it.
        """
        from ..mock_server import Reply

        async with self.faulty(target) as (provider, upstream):
            assert isinstance(upstream, ServerUpstream)
            server = upstream.server
            server.script(self.model(target), Reply("one two three four", hold_after=1))
            request = self.request(target)
            try:
                if cancel:
                    arrived = anyio.Event()

                    async def read() -> None:
                        async for chunk in provider.stream(request):
                            if chunk.text:
                                arrived.set()

                    async with anyio.create_task_group() as tg:
                        tg.start_soon(read)
                        await arrived.wait()  # a provider that buffers the stream: the test guard
                        tg.cancel_scope.cancel()
                else:
                    stream = provider.stream(request)
                    first = await stream.__anext__()
                    assert isinstance(first, CompletionChunk), f"a stream yielded {type(first).__name__}"
                    await stream.aclose()  # type: ignore[attr-defined]
                what = "a cancelled stream" if cancel else "a stream closed early"
                await self.wait_until(
                    lambda timeout: server.wait_for_open_connections(0, timeout),
                    f"{what} must close its response: the upstream still sees "
                    f"{server.open_connections} open connection(s) (connection leak)",
                )
            finally:
                server.release()

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_aclose_closes_every_connection(self, conformance_target: ConformanceTarget) -> None:
        async with self.loopback(conformance_target) as (provider, server):
            if ProviderFeature.STREAMING in conformance_target.cls.features:
                await self.drain(provider, self.request(conformance_target))
            # Completions last: a stream the provider stops reading at its end marker may cost its
            # connection (httpcore always drops it, aiohttp when the chunked terminator is not read
            # yet), which would leave a leaking client nothing to leak. A body read whole (it has a
            # Content-Length) gives the connection back to the pool on every transport, so these
            # calls leave the client holding idle keep-alive connections that only closing it ends.
            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(provider.complete, self.request(conformance_target))
            assert server.opened_connections >= 1, "the provider never connected to the upstream"
            await provider.aclose()
            # Hang guard, not a timing threshold: a closed client's sockets are gone when aclose()
            # returns, and the server thread sees them go within milliseconds; only a leak waits it out.
            await self.wait_until(
                lambda timeout: server.wait_for_open_connections(0, timeout),
                f"after aclose() the upstream still sees {server.open_connections} open connection(s): "
                "aclose() must close the provider's HTTP client and every connection it holds",
            )

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_configured_timeout_is_enforced(self, conformance_target: ConformanceTarget) -> None:
        # The server never answers until the test ends; 200 ms is the provider's whole budget.
        async with self.loopback(conformance_target, timeout="200ms") as (provider, server):
            server.script(self.model(conformance_target), Fault.hang())
            raised: BaseException | None = None
            # Hang guard, 25 times the provider's own budget: it ends only the wait on a provider
            # that ignores its timeout. The 200 ms run out on the event loop's clock, not the fake one.
            with anyio.move_on_after(GUARD_SECONDS):
                raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
        assert raised is not None, (
            "the provider was configured with a 200 ms timeout and was still waiting on a server "
            "that never answers: the configured timeout is not enforced"
        )
        expect(raised, ProviderTimeoutError, retryable=True)

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_a_promised_call_bound_is_kept(self, conformance_target: ConformanceTarget) -> None:
        # ``call_bound`` lets the router leave a call to the provider's own timeout; a provider
        # that promises a bound must end a call to a server that never answers within it. One
        # that promises nothing (None) leaves the deadline to the router and is held to nothing.
        async with self.loopback(conformance_target, timeout="500ms") as (provider, server):
            request = self.request(conformance_target)
            bound = provider.call_bound(request)
            if bound is None:
                return
            server.script(self.model(conformance_target), Fault.hang())
            raised: BaseException | None = None
            # The promise plus half a second for a busy machine; the 500 ms run out on the event
            # loop's clock. A provider that waits a second past its promise is still waiting here.
            with anyio.move_on_after(bound + 0.5):
                raised = await self.failure(lambda: provider.complete(request))
        assert raised is not None, (
            f"call_bound() promised that a call ends within {bound:g} s, and a call to a server "
            "that never answers was still waiting half a second later: the router, trusting the "
            "promise, would miss the request's deadline"
        )
        expect(raised, ProviderTimeoutError, retryable=True)
