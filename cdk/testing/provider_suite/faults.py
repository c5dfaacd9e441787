"""Faults: every upstream failure becomes the right ``ProviderError``, after exactly one request.

An ``HTTPProvider`` meets each fault in the fault-injecting transport; a provider that speaks
HTTP some other way meets it from the local server, over real HTTP.
"""

from __future__ import annotations

import email.utils
import logging
from datetime import UTC, datetime, timedelta

import pytest

from ...enums import ProviderFeature
from ...errors import (
    AuthenticationError,
    BadRequestError,
    ProviderProtocolError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
)
from ...types import ProbeResult
from ..fake_clock import FakeClock
from ..faults import Fault
from ..target import ConformanceTarget
from .harness import ProviderHarness, ServerUpstream, expect


class FaultTests(ProviderHarness):
    """Providers that speak HTTP, behind the fault-injecting transport or facing the local server."""

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_rate_limit_with_retry_after_seconds(self, conformance_target: ConformanceTarget) -> None:
        fault = Fault.status(429, body='{"error": {"message": "Rate limit reached"}}', retry_after="7")
        async with self.faulty(conformance_target, fault) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        err = expect(raised, RateLimitError, retryable=True, status=429)
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
        async with self.faulty(conformance_target, fault, clock=clock) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        err = expect(raised, RateLimitError, retryable=True, status=429)
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
        async with self.faulty(conformance_target, fault) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        expect(raised, ProviderUnavailableError, retryable=True, status=status)

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_no_internal_retries(self, conformance_target: ConformanceTarget) -> None:
        # The second answer would succeed: a provider that retries on its own hides the fault.
        async with self.faulty(conformance_target, Fault.status(503, body="busy"), None) as (
            provider,
            transport,
        ):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        expect(raised, ProviderUnavailableError, retryable=True, status=503)

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_connect_error_is_unavailable(self, conformance_target: ConformanceTarget) -> None:
        async with self.faulty(conformance_target, Fault.connect_error()) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        expect(raised, ProviderUnavailableError, retryable=True)

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_read_timeout_is_a_timeout(self, conformance_target: ConformanceTarget) -> None:
        # Over the local server the fault is a server that never answers: 200 ms is the whole budget.
        fault = Fault.read_timeout()
        async with self.faulty(conformance_target, fault, timeout="200ms") as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            if isinstance(transport, ServerUpstream):
                # On a loaded machine the budget may end before the request is even sent.
                assert len(transport.requests) <= 1, "one timeout must cost at most one request"
            else:
                self.one_request(transport)
        expect(raised, ProviderTimeoutError, retryable=True)

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_connection_reset_is_unavailable(self, conformance_target: ConformanceTarget) -> None:
        async with self.faulty(conformance_target, Fault.disconnect()) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        expect(raised, ProviderUnavailableError, retryable=True)

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_authentication_failure_is_not_retryable(
        self, conformance_target: ConformanceTarget
    ) -> None:
        fault = Fault.status(401, body='{"error": {"message": "invalid api key", "code": "invalid_api_key"}}')
        async with self.faulty(conformance_target, fault) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        expect(raised, AuthenticationError, retryable=False, status=401)

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_bad_request_is_not_retryable(self, conformance_target: ConformanceTarget) -> None:
        fault = Fault.status(400, body='{"error": {"message": "messages: field required"}}')
        async with self.faulty(conformance_target, fault) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        expect(raised, BadRequestError, retryable=False, status=400)

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_malformed_json_is_a_protocol_error(self, conformance_target: ConformanceTarget) -> None:
        async with self.faulty(conformance_target, Fault.malformed()) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(self.request(conformance_target)))
            self.one_request(transport)
        expect(raised, ProviderProtocolError, retryable=True)

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_stream_error_status_is_mapped(self, conformance_target: ConformanceTarget) -> None:
        self.requires(conformance_target, ProviderFeature.STREAMING)
        fault = Fault.status(429, body='{"error": {"message": "Rate limit reached"}}', retry_after="3")
        async with self.faulty(conformance_target, fault) as (provider, transport):
            request = self.request(conformance_target)
            raised = await self.failure(lambda: self.drain(provider, request))
            self.one_request(transport)
            self.streams_closed(transport, "a failed stream must close its response")
        err = expect(raised, RateLimitError, retryable=True, status=429)
        assert err.retry_after == pytest.approx(3.0), f"retry_after should be 3, got {err.retry_after}"

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_stream_cut_after_n_chunks_is_a_protocol_error(
        self, conformance_target: ConformanceTarget
    ) -> None:
        self.requires(conformance_target, ProviderFeature.STREAMING)
        async with self.faulty(conformance_target, Fault.cut_stream(after=2)) as (provider, transport):
            request = self.request(conformance_target)
            raised = await self.failure(lambda: self.drain(provider, request))
            self.one_request(transport)
            self.streams_closed(transport, "a cut stream must close its response")
        expect(raised, ProviderProtocolError, retryable=True)

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_stream_reset_is_retryable(self, conformance_target: ConformanceTarget) -> None:
        self.requires(conformance_target, ProviderFeature.STREAMING)
        async with self.faulty(conformance_target, Fault.reset_stream(after=2)) as (
            provider,
            transport,
        ):
            request = self.request(conformance_target)
            raised = await self.failure(lambda: self.drain(provider, request))
            self.one_request(transport)
            self.streams_closed(transport, "a broken stream must close its response")
        expect(raised, (ProviderUnavailableError, ProviderProtocolError), retryable=True)

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_malformed_stream_line_is_a_protocol_error(
        self, conformance_target: ConformanceTarget
    ) -> None:
        self.requires(conformance_target, ProviderFeature.STREAMING)
        async with self.faulty(conformance_target, Fault.malformed()) as (provider, transport):
            request = self.request(conformance_target)
            raised = await self.failure(lambda: self.drain(provider, request))
            self.one_request(transport)
            self.streams_closed(transport, "a failed stream must close its response")
        expect(raised, ProviderProtocolError, retryable=True)

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_api_key_never_leaks(
        self, conformance_target: ConformanceTarget, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        async with self.faulty(conformance_target) as (provider, transport):
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
        async with self.faulty(conformance_target) as (provider, transport):
            for fault in (Fault.status(503, body="down"), Fault.connect_error()):
                before = len(transport.requests)
                transport.queue(fault)
                if isinstance(transport, ServerUpstream):  # a probe may list models or complete
                    transport.queue_listing(fault)
                result = await provider.probe()
                if len(transport.requests) == before:
                    pytest.skip(f"{conformance_target}'s probe makes no request")
                assert isinstance(result, ProbeResult), f"probe() returned {type(result).__name__}"
                assert not result.ok, f"a probe against a failing upstream reported ok ({fault.kind})"
                assert result.error, "a failed probe says what went wrong"
