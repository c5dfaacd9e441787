"""The provider contract: answers, streams, listing, probes, and every fault mapped right."""

from __future__ import annotations

import email.utils
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import anyio
import pytest

from ..enums import ConnectorType, ProviderFeature
from ..errors import (
    AuthenticationError,
    BadRequestError,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
)
from ..interfaces.provider import Provider
from ..types import CompletionChunk, CompletionRequest, CompletionResponse, ModelInfo, ProbeResult
from .base import ConformanceSuite
from .fake_clock import FakeClock
from .fault_transport import FaultTransport
from .faults import Fault
from .provider_capability_suite import ProviderCapabilityTests
from .target import ConformanceTarget

__all__ = ["ProviderSuite"]

NOT_HTTP = "not an HTTPProvider: the fault-injecting transport cannot be plugged in"


def _err(raised: BaseException) -> str:
    return f"{type(raised).__name__}: {raised}"


def _expect(
    raised: BaseException,
    expected: type[ProviderError] | tuple[type[ProviderError], ...],
    *,
    retryable: bool,
    status: int | None = None,
) -> ProviderError:
    names = expected.__name__ if isinstance(expected, type) else " or ".join(e.__name__ for e in expected)
    assert isinstance(raised, expected), f"expected {names}, got {_err(raised)}"
    assert raised.retryable is retryable, f"{names} must have retryable={retryable}, got {raised.retryable}"
    if status is not None:
        assert raised.status_code == status, f"status_code should be {status}, got {raised.status_code}"
    return raised


class ProviderSuite(ConformanceSuite, ProviderCapabilityTests):
    """Every provider passes this; HTTP providers also face the fault-injecting transport."""

    connector_type: ClassVar[ConnectorType] = ConnectorType.PROVIDER

    _key: str = ""

    # --- building -----------------------------------------------------------------

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
        """A started provider; for HTTP providers behind a FaultTransport with ``faults`` queued."""
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
            async with instance:
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
            pytest.fail(f"raised {_err(exc)} instead of a meshkit ProviderError", pytrace=False)
        pytest.fail("did not raise: the fault was swallowed and reported as a success", pytrace=False)

    def one_request(self, transport: FaultTransport) -> None:
        """The provider made exactly one request: it left retrying to the router."""
        assert len(transport.requests) == 1, (
            f"one fault must cost exactly one request, the provider made {len(transport.requests)}: "
            "providers do not retry, the router does"
        )

    # --- answers -------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_complete_returns_a_well_formed_response(
        self, conformance_target: ConformanceTarget
    ) -> None:
        async with self.provider(conformance_target) as (provider, _):
            response = await provider.complete(self.request(conformance_target))
        assert isinstance(response, CompletionResponse), f"complete() returned {type(response).__name__}"
        assert isinstance(response.id, str) and response.id, "a response needs an id"
        assert isinstance(response.model, str) and response.model, "a response names its model"
        assert response.choices, "a response has at least one choice"
        first = response.choices[0]
        assert first.message.role == "assistant", f"the answer's role is {first.message.role!r}"
        assert isinstance(first.message.content, str) and first.message.content, "the answer has text"

    @pytest.mark.anyio
    async def test_usage_adds_up(self, conformance_target: ConformanceTarget) -> None:
        async with self.provider(conformance_target) as (provider, _):
            usage = (await provider.complete(self.request(conformance_target))).usage
        assert usage.prompt_tokens >= 0 and usage.completion_tokens >= 0, f"negative token counts: {usage}"
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens, f"usage: {usage}"
        assert usage.total_tokens > 0, "a completed call consumed tokens; usage reports none"

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

    @pytest.mark.meshkit_feature(ProviderFeature.LIST_MODELS)
    @pytest.mark.anyio
    async def test_list_models(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, ProviderFeature.LIST_MODELS):
            async with self.provider(conformance_target) as (provider, _):
                models = await provider.list_models()
            assert models, "list_models() returned nothing"
            assert all(isinstance(m, ModelInfo) for m in models), "list_models() returns ModelInfo"
            ids = [m.id for m in models]
            assert all(isinstance(i, str) and i for i in ids), f"model ids: {ids}"
            assert len(set(ids)) == len(ids), f"duplicate model ids: {ids}"

    @pytest.mark.anyio
    async def test_pricing_is_a_price_or_none(self, conformance_target: ConformanceTarget) -> None:
        async with self.provider(conformance_target) as (provider, _):
            price = await provider.pricing(conformance_target.spec.model or "conformance-model")
        if price is not None:
            assert price.input_per_1k >= 0 and price.output_per_1k >= 0, f"negative price: {price}"

    @pytest.mark.anyio
    async def test_probe_reports_healthy(self, conformance_target: ConformanceTarget) -> None:
        async with self.provider(conformance_target) as (provider, _):
            result = await provider.probe()
        assert isinstance(result, ProbeResult), f"probe() returned {type(result).__name__}"
        assert result.ok, f"a healthy provider probes ok, got error {result.error!r}"
        assert result.checked_at.tzinfo is not None, "checked_at must be timezone-aware"

    @pytest.mark.anyio
    async def test_concurrent_calls(self, conformance_target: ConformanceTarget) -> None:
        results: list[CompletionResponse] = []
        async with self.provider(conformance_target) as (provider, transport):

            async def call() -> None:
                results.append(await provider.complete(self.request(conformance_target)))

            async with anyio.create_task_group() as tg:
                for _ in range(16):
                    tg.start_soon(call)
            if transport is not None:
                assert len(transport.requests) == 16, f"16 calls made {len(transport.requests)} requests"
                assert transport.open_streams == 0, "every response must be closed"
        assert len(results) == 16 and all(r.choices for r in results)

    @pytest.mark.anyio
    async def test_repr_hides_secrets(self, conformance_target: ConformanceTarget) -> None:
        async with self.provider(conformance_target) as (provider, _):
            shown = " ".join([repr(provider), str(provider), repr(provider.config), str(provider.config)])
            for secret in [*provider.secrets(), *([self._key] if self._key else [])]:
                assert secret not in shown, "a secret shows in the provider's or its config's repr"

    # --- faults (HTTP providers) --------------------------------------------------------

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_rate_limit_with_retry_after_seconds(self, conformance_target: ConformanceTarget) -> None:
        fault = Fault.status(429, body='{"error": {"message": "Rate limit reached"}}', retry_after="7")
        async with self.http_provider(conformance_target, fault) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        err = _expect(raised, RateLimitError, retryable=True, status=429)
        assert err.retry_after == pytest.approx(7.0), (
            f"Retry-After: 7 must give retry_after=7, got {err.retry_after}"
        )

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_rate_limit_with_retry_after_http_date(
        self, conformance_target: ConformanceTarget, clock: FakeClock
    ) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        clock.set(now)  # a provider may read "now" from the injected clock or the system's
        when = email.utils.format_datetime(now + timedelta(seconds=120), usegmt=True)
        fault = Fault.status(429, body='{"error": {"message": "slow down"}}', retry_after=when)
        async with self.http_provider(conformance_target, fault, clock=clock) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        err = _expect(raised, RateLimitError, retryable=True, status=429)
        assert err.retry_after is not None and 90 <= err.retry_after <= 121, (
            f"Retry-After as an HTTP date 120 s ahead must give retry_after≈120, got {err.retry_after}"
        )

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    @pytest.mark.parametrize("status", [500, 502, 503])
    async def test_server_error_is_unavailable(
        self, conformance_target: ConformanceTarget, status: int
    ) -> None:
        fault = Fault.status(status, body='{"error": {"message": "upstream trouble"}}')
        async with self.http_provider(conformance_target, fault) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        _expect(raised, ProviderUnavailableError, retryable=True, status=status)

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_no_internal_retries(self, conformance_target: ConformanceTarget) -> None:
        # The second answer would succeed: a provider that retries on its own hides the fault.
        async with self.http_provider(conformance_target, Fault.status(503, body="busy"), None) as (
            provider,
            transport,
        ):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        _expect(raised, ProviderUnavailableError, retryable=True, status=503)

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_connect_error_is_unavailable(self, conformance_target: ConformanceTarget) -> None:
        async with self.http_provider(conformance_target, Fault.connect_error()) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        _expect(raised, ProviderUnavailableError, retryable=True)

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_read_timeout_is_a_timeout(self, conformance_target: ConformanceTarget) -> None:
        async with self.http_provider(conformance_target, Fault.read_timeout()) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        _expect(raised, ProviderTimeoutError, retryable=True)

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_connection_reset_is_unavailable(self, conformance_target: ConformanceTarget) -> None:
        async with self.http_provider(conformance_target, Fault.disconnect()) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        _expect(raised, ProviderUnavailableError, retryable=True)

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_authentication_failure_is_not_retryable(
        self, conformance_target: ConformanceTarget
    ) -> None:
        fault = Fault.status(401, body='{"error": {"message": "invalid api key", "code": "invalid_api_key"}}')
        async with self.http_provider(conformance_target, fault) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        _expect(raised, AuthenticationError, retryable=False, status=401)

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_bad_request_is_not_retryable(self, conformance_target: ConformanceTarget) -> None:
        fault = Fault.status(400, body='{"error": {"message": "messages: field required"}}')
        async with self.http_provider(conformance_target, fault) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        _expect(raised, BadRequestError, retryable=False, status=400)

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_malformed_json_is_a_protocol_error(self, conformance_target: ConformanceTarget) -> None:
        async with self.http_provider(conformance_target, Fault.malformed()) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        _expect(raised, ProviderProtocolError, retryable=True)

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_stream_error_status_is_mapped(self, conformance_target: ConformanceTarget) -> None:
        self.requires(conformance_target, ProviderFeature.STREAMING)
        fault = Fault.status(429, body='{"error": {"message": "Rate limit reached"}}', retry_after="3")
        async with self.http_provider(conformance_target, fault) as (provider, transport):
            request = self.request(conformance_target)
            raised = await self.failure(lambda: self.drain(provider, request))
            self.one_request(transport)
            assert transport.open_streams == 0, "a failed stream must close its response"
        err = _expect(raised, RateLimitError, retryable=True, status=429)
        assert err.retry_after == pytest.approx(3.0), f"retry_after should be 3, got {err.retry_after}"

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_stream_cut_after_n_chunks_is_a_protocol_error(
        self, conformance_target: ConformanceTarget
    ) -> None:
        self.requires(conformance_target, ProviderFeature.STREAMING)
        async with self.http_provider(conformance_target, Fault.cut_stream(after=2)) as (provider, transport):
            request = self.request(conformance_target)
            raised = await self.failure(lambda: self.drain(provider, request))
            self.one_request(transport)
            assert transport.open_streams == 0, "a cut stream must close its response"
        _expect(raised, ProviderProtocolError, retryable=True)

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_stream_reset_is_retryable(self, conformance_target: ConformanceTarget) -> None:
        self.requires(conformance_target, ProviderFeature.STREAMING)
        async with self.http_provider(conformance_target, Fault.reset_stream(after=2)) as (
            provider,
            transport,
        ):
            request = self.request(conformance_target)
            raised = await self.failure(lambda: self.drain(provider, request))
            self.one_request(transport)
            assert transport.open_streams == 0, "a broken stream must close its response"
        _expect(raised, (ProviderUnavailableError, ProviderProtocolError), retryable=True)

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_malformed_stream_line_is_a_protocol_error(
        self, conformance_target: ConformanceTarget
    ) -> None:
        self.requires(conformance_target, ProviderFeature.STREAMING)
        async with self.http_provider(conformance_target, Fault.malformed()) as (provider, transport):
            request = self.request(conformance_target)
            raised = await self.failure(lambda: self.drain(provider, request))
            self.one_request(transport)
            assert transport.open_streams == 0, "a failed stream must close its response"
        _expect(raised, ProviderProtocolError, retryable=True)

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_cancelled_stream_releases_the_connection(
        self, conformance_target: ConformanceTarget
    ) -> None:
        self.requires(conformance_target, ProviderFeature.STREAMING)
        assert conformance_target.spec.http is None or conformance_target.spec.http.stream_lines
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
        lines = conformance_target.spec.http.stream_lines if conformance_target.spec.http else ()
        async with self.http_provider(conformance_target, Fault.hang(after=len(lines))) as (
            provider,
            transport,
        ):
            stream = provider.stream(self.request(conformance_target))
            first = await stream.__anext__()
            assert isinstance(first, CompletionChunk)
            await stream.aclose()  # type: ignore[attr-defined]
            assert transport.open_streams == 0, "closing a stream early must close its response"

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_api_key_never_leaks(
        self, conformance_target: ConformanceTarget, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        async with self.http_provider(conformance_target) as (provider, transport):
            key = self._key
            if not key:
                pytest.skip(f"{conformance_target}'s spec names no api_key_field")
            echo = f'{{"error": {{"message": "Incorrect API key provided: {key}"}}}}'
            faults = [
                Fault.status(401, body=echo),
                Fault.status(403, body=echo),
                Fault.status(400, body=echo),
                Fault.status(429, body=echo, retry_after="1"),
                Fault.status(500, body=echo),
                Fault.connect_error(),
                Fault.malformed(),
            ]
            shown: list[str] = [repr(provider), repr(provider.config), str(provider.config)]
            for fault in faults:
                transport.queue(fault)
                raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
                chain: BaseException | None = raised
                while chain is not None:
                    shown += [str(chain), repr(chain), repr(chain.args)]
                    chain = chain.__cause__ or chain.__context__
            if ProviderFeature.STREAMING in conformance_target.cls.features:
                transport.queue(Fault.status(401, body=echo))
                request = self.request(conformance_target)
                raised = await self.failure(lambda: self.drain(provider, request))
                shown += [str(raised), repr(raised)]
            probe = await provider.probe()
            shown.append(repr(probe))
        formatter = logging.Formatter()
        shown += [formatter.format(record) for record in caplog.records]
        leaks = [text for text in shown if key in text]
        assert not leaks, f"the API key leaked in: {leaks[0][:300]}"

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_probe_reports_failure_instead_of_raising(
        self, conformance_target: ConformanceTarget
    ) -> None:
        async with self.http_provider(conformance_target) as (provider, transport):
            for fault in (Fault.status(503, body="down"), Fault.connect_error()):
                before = len(transport.requests)
                transport.queue(fault)
                result = await provider.probe()
                if len(transport.requests) == before:
                    pytest.skip(f"{conformance_target}'s probe makes no request")
                assert isinstance(result, ProbeResult), f"probe() returned {type(result).__name__}"
                assert not result.ok, f"a probe against a failing upstream reported ok ({fault.kind})"
                assert result.error, "a failed probe says what went wrong"
