"""What every provider test uses: building the provider against one of two upstreams, and helpers.

The two upstreams:

- the fault-injecting transport (:class:`~meshkit.testing.FaultTransport`), plugged into an
  ``HTTPProvider`` as its ``transport=`` and fed the spec's ``http`` payloads;
- the local server (:class:`~meshkit.testing.mock_server.MockOpenAIServer`), real HTTP on
  ``127.0.0.1``, for any provider whose spec says how to point it there (``loopback``) or whose
  Config takes a ``base_url``.

A provider that speaks HTTP without being an ``HTTPProvider`` cannot take the transport; it
faces the same faults from the local server instead (:meth:`ProviderHarness.faulty`), and its
plain tests run against that server too.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
import attrs
import pytest

from ...errors import ProviderError
from ...interfaces.provider import Provider
from ...types import CompletionChunk, CompletionRequest
from ..base import ConformanceSuite
from ..fake_clock import FakeClock
from ..fault_transport import FaultTransport
from ..faults import Fault
from ..spec import Loopback
from ..target import ConformanceTarget
from .wire_reading import SentChat, read_chat

__all__ = ["GUARD_SECONDS", "NOT_HTTP", "ProviderHarness", "ServerUpstream", "err", "expect"]

NOT_HTTP = (
    "not an HTTPProvider, and neither its Config (no `base_url`) nor its ConformanceSpec (no "
    "`loopback`) says how to point it at the suite's local server, so no fault can reach it"
)
NO_LOOPBACK = (
    "its Config has no `base_url` and its ConformanceSpec gives no `loopback`, so the suite cannot "
    "point it at its local server (set ConformanceSpec(loopback=Loopback(wire=...)))"
)


def loopback_of(target: ConformanceTarget) -> Loopback | None:
    """How to point ``target`` at the local server: its spec's say, else read off its Config.

    A provider whose Config takes a ``base_url`` is driven against the local server (OpenAI's
    wire) even when its author wrote no ``loopback`` spec, so the wire, stream and resource
    tests still run.
    """
    if target.spec.loopback is not None:
        return target.spec.loopback
    config = getattr(target.cls, "Config", None)
    if config is None or not attrs.has(config):
        return None
    fields = attrs.fields_dict(config)
    if "base_url" not in fields:
        return None
    return Loopback(
        base_url_field="base_url",
        api_key_field="api_key" if "api_key" in fields else None,
        timeout_field="timeout" if "timeout" in fields else None,
    )


#: How long a test waits for something a correct provider does at once, before calling
#: the provider broken. A hang guard, not a timing assertion: every wait it bounds ends on an
#: event (a chunk arrives, a typed error is raised, the server sees a socket close), which a
#: correct provider brings about in milliseconds however loaded the machine; only a provider
#: that never brings it about (it buffers a stream, ignores its timeout, leaks a connection)
#: meets the guard, and "never" cannot be observed without some bound. Nothing a provider does
#: in time is measured, and no result depends on how close to the guard it comes. The fake
#: clock cannot stand in: what is awaited happens on sockets and on the event loop's own clock.
GUARD_SECONDS = 5.0

#: The same hang guard for a whole test (a provider stuck where no inner guard waits).
TEST_GUARD_SECONDS = 3 * GUARD_SECONDS

#: The upstream paths that carry a completion (OpenAI's and Anthropic's).
COMPLETION_PATHS = ("/chat/completions", "/messages")

#: Every path a provider calls on the local server.
UPSTREAM_PATHS = (*COMPLETION_PATHS, "/embeddings", "/models")


class ServerUpstream:
    """The local server behind the fault transport's interface: ``queue(fault)``, ``requests``.

    Each queued fault (None: a good answer) is scripted for the model the tests ask for.
    """

    def __init__(self, server: Any, model: str) -> None:
        self.server = server
        self.model = model

    def queue(self, fault: Fault | None) -> None:
        """The next completion (or embedding) request for the model meets ``fault``."""
        from ..mock_server import Reply

        self.server.script(self.model, fault if fault is not None else Reply())

    def queue_listing(self, fault: Fault) -> None:
        """The next model listing meets ``fault``."""
        self.server.script_listing(fault)

    @property
    def requests(self) -> list[Any]:
        """The requests the provider made of the server."""
        return [r for r in self.server.requests if r.path.endswith(UPSTREAM_PATHS)]


#: What a fault test faces: the transport plugged into an HTTPProvider, or the local server.
Upstream = FaultTransport | ServerUpstream


def err(raised: BaseException) -> str:
    """An exception as ``Type: message``."""
    return f"{type(raised).__name__}: {raised}"


def expect(
    raised: BaseException,
    expected: type[ProviderError] | tuple[type[ProviderError], ...],
    *,
    retryable: bool,
    status: int | None = None,
) -> ProviderError:
    """``raised`` is one of ``expected`` with that ``retryable`` (and status)."""
    names = expected.__name__ if isinstance(expected, type) else " or ".join(e.__name__ for e in expected)
    assert isinstance(raised, expected), f"expected {names}, got {err(raised)}"
    assert raised.retryable is retryable, f"{names} must have retryable={retryable}, got {raised.retryable}"
    if status is not None:
        assert raised.status_code == status, f"status_code should be {status}, got {raised.status_code}"
    return raised


class ProviderHarness(ConformanceSuite):
    """Builds providers for the tests; holds no tests itself."""

    _key: str = ""

    # --- building -----------------------------------------------------------------

    def model(self, target: ConformanceTarget) -> str:
        """The model test requests name."""
        return target.spec.model or "conformance-model"

    def request(self, target: ConformanceTarget, **overrides: Any) -> CompletionRequest:
        """A small chat request for the model the spec names."""
        fields: dict[str, Any] = {
            "messages": [{"role": "user", "content": "Say hello in three words."}],
            "model": target.spec.model,
            "max_tokens": 16,
        }
        fields.update(overrides)
        return CompletionRequest(**fields)

    @asynccontextmanager
    async def provider(
        self, target: ConformanceTarget, *faults: Fault | None, clock: FakeClock | None = None
    ) -> AsyncIterator[tuple[Provider, FaultTransport | None]]:
        """A started provider; for HTTP providers behind a FaultTransport with ``faults`` queued.

        A provider that speaks HTTP without being an ``HTTPProvider`` talks to the local server
        (its spec's config alone would point it nowhere); others are built from the spec as is.
        """
        if not target.is_http and loopback_of(target) is not None:
            async with self._local_server(target) as server, target.environment() as config:
                upstream = ServerUpstream(server, self.model(target))
                for fault in faults:
                    upstream.queue(fault)
                settings = self.loopback_config(target, config, server)
                instance = target.build(settings, clock=clock or FakeClock())
                async with self.guarded(target), instance:
                    yield instance, None
            return
        async with target.environment() as config:
            transport = None
            if target.is_http:
                payloads = target.spec.http
                if payloads is None:
                    pytest.skip(
                        f"{target} is an HTTPProvider but its ConformanceSpec gives no `http` payloads"
                    )
                transport = FaultTransport(payloads, *faults)
                if payloads.api_key_field:
                    self._key = "sk-conformance-" + secrets.token_hex(12)
                    config = {**config, payloads.api_key_field: self._key}
            instance = target.build(config, clock=clock or FakeClock(), transport=transport)
            async with self.guarded(target), instance:
                yield instance, transport

    @asynccontextmanager
    async def http_provider(
        self, target: ConformanceTarget, *faults: Fault | None, clock: FakeClock | None = None
    ) -> AsyncIterator[tuple[Provider, FaultTransport]]:
        """Like :meth:`provider`, skipping connectors that are not HTTP providers."""
        self._check_http_gate()
        if not target.is_http:
            pytest.skip(NOT_HTTP)
        async with self.provider(target, *faults, clock=clock) as (instance, transport):
            assert transport is not None
            yield instance, transport

    @asynccontextmanager
    async def faulty(
        self,
        target: ConformanceTarget,
        *faults: Fault | None,
        clock: FakeClock | None = None,
        timeout: str | None = None,
    ) -> AsyncIterator[tuple[Provider, Upstream]]:
        """A started provider facing ``faults``, one request each, then good answers.

        An ``HTTPProvider`` meets them in the fault-injecting transport; any other provider the
        suite can point at its local server meets them there, over real HTTP (with ``timeout`` as
        its configured timeout, for faults that never answer).
        """
        self._check_http_gate()
        if target.is_http:
            async with self.provider(target, *faults, clock=clock) as (instance, transport):
                assert transport is not None
                yield instance, transport
            return
        if loopback_of(target) is None:
            pytest.skip(NOT_HTTP)
        async with self.loopback(target, timeout=timeout, clock=clock) as (instance, server):
            upstream = ServerUpstream(server, self.model(target))
            for fault in faults:
                upstream.queue(fault)
            yield instance, upstream

    @asynccontextmanager
    async def loopback_server(self, target: ConformanceTarget) -> AsyncIterator[Any]:
        """A local server offering the spec's model; skips without a ``loopback`` spec."""
        self._check_http_gate()
        if loopback_of(target) is None:
            pytest.skip(f"{target}: {NO_LOOPBACK}")
        async with self._local_server(target) as server:
            yield server

    @asynccontextmanager
    async def _local_server(self, target: ConformanceTarget) -> AsyncIterator[Any]:
        try:
            from ..mock_server import MockOpenAIServer
        except ImportError as exc:  # aiohttp is in meshkit[testing]
            pytest.skip(f"the local server needs aiohttp (pip install 'meshkit[testing]'): {exc}")
        model = self.model(target)
        self._key = "sk-conformance-" + secrets.token_hex(12)
        spec = loopback_of(target)
        assert spec is not None
        api_key = self._key if spec.api_key_field else None
        async with MockOpenAIServer(models=[model, f"{model}-large"], api_key=api_key) as server:
            yield server

    def loopback_config(
        self, target: ConformanceTarget, config: dict[str, Any], server: Any, *, timeout: str | None = None
    ) -> dict[str, Any]:
        """``config`` pointed at ``server`` (with the suite's key, and ``timeout`` if given)."""
        loopback = loopback_of(target)
        assert loopback is not None
        config = {**config, loopback.base_url_field: server.base_url}
        if loopback.api_key_field:
            config[loopback.api_key_field] = self._key
        if timeout is not None:
            if loopback.timeout_field is None:
                pytest.skip(f"{target}'s loopback spec names no timeout_field: its timeout cannot be set")
            config[loopback.timeout_field] = timeout
        return config

    @asynccontextmanager
    async def loopback(
        self,
        target: ConformanceTarget,
        *,
        timeout: str | None = None,
        clock: FakeClock | None = None,
    ) -> AsyncIterator[tuple[Provider, Any]]:
        """A started provider talking real HTTP to a local server: ``(provider, server)``."""
        async with self.loopback_server(target) as server, target.environment() as config:
            settings = self.loopback_config(target, config, server, timeout=timeout)
            instance = target.build(settings, clock=clock or FakeClock())
            async with self.guarded(target), instance:
                yield instance, server

    @asynccontextmanager
    async def guarded(self, target: ConformanceTarget) -> AsyncIterator[None]:
        """Fail, instead of hanging the run, when a provider never finishes what it was asked."""
        with anyio.move_on_after(TEST_GUARD_SECONDS) as scope:
            yield
        if scope.cancelled_caught:
            pytest.fail(
                f"{target} was still busy after {TEST_GUARD_SECONDS:.0f} s on a test that takes a correct "
                "provider milliseconds: it hangs (a stream it never stops reading, a timeout not enforced)",
                pytrace=False,
            )

    # --- helpers ----------------------------------------------------------------------

    async def drain(self, provider: Provider, request: CompletionRequest) -> list[CompletionChunk]:
        """Every chunk of a stream."""
        return [chunk async for chunk in provider.stream(request)]

    async def failure(self, call: Any) -> BaseException:
        """Await ``call()`` and return what it raised; failing the test if it did not raise."""
        try:
            await call()
        except ProviderError as exc:
            return exc
        except Exception as exc:
            pytest.fail(f"raised {err(exc)} instead of a meshkit ProviderError", pytrace=False)
        pytest.fail("did not raise: the fault was swallowed and reported as a success", pytrace=False)

    def streams_closed(self, upstream: Upstream, what: str) -> None:
        """The fault transport saw every response closed.

        The local server cannot tell a closed response from a connection kept for the next
        call; over it, the resource tests judge connections instead.
        """
        if isinstance(upstream, FaultTransport):
            assert upstream.open_streams == 0, what

    def one_request(self, transport: Upstream) -> None:
        """The provider made exactly one request: it left retrying to the router."""
        assert len(transport.requests) == 1, (
            f"one fault must cost exactly one request, the provider made {len(transport.requests)}: "
            "providers do not retry, the router does"
        )

    def sent(self, server: Any) -> Any:
        """The one completion request ``server`` received, as JSON."""
        calls = [r for r in server.requests if r.path.endswith(COMPLETION_PATHS)]
        assert len(calls) == 1, f"expected one completion request on the wire, the server saw {len(calls)}"
        return calls[0].json

    def sent_chat(self, target: ConformanceTarget, server: Any) -> SentChat:
        """The one completion request ``server`` received, read back in the spec's wire format."""
        loopback = loopback_of(target)
        assert loopback is not None
        return read_chat(loopback.wire, self.sent(server))

    async def wait_until(self, condition: Any, what: str) -> None:
        """Wait (in a worker thread) for a server-side ``condition(timeout)``.

        The server signals the condition as soon as it holds; the guard only ends the wait for
        a provider under which it never will.
        """
        ok = await anyio.to_thread.run_sync(condition, GUARD_SECONDS)
        assert ok, what
