"""The catalogue (``list_models``, ``pricing``): models listed as the upstream lists them, prices."""

from __future__ import annotations

import pytest

from ...enums import ProviderFeature
from ...errors import (
    AuthenticationError,
    BadRequestError,
    ProviderError,
    ProviderProtocolError,
    ProviderUnavailableError,
)
from ...types import ModelInfo
from ..faults import Fault
from ..target import ConformanceTarget
from .harness import ProviderHarness, ServerUpstream, expect

#: Listings that fail, and what each must raise (an empty list would retire every model).
FAILED_LISTINGS: tuple[tuple[Fault, type[ProviderError], bool], ...] = (
    (Fault.status(400, body='{"error": {"message": "bad listing request"}}'), BadRequestError, False),
    (Fault.status(401, body='{"error": {"message": "invalid api key"}}'), AuthenticationError, False),
    (Fault.status(503, body='{"error": {"message": "upstream trouble"}}'), ProviderUnavailableError, True),
    (Fault.status(200, body="<html>502 Bad Gateway</html>"), ProviderProtocolError, True),
    (Fault.status(200, body='{"data": 5}'), ProviderProtocolError, True),
    (Fault.status(200, body='{"object": "list"}'), ProviderProtocolError, True),
)


class CatalogueTests(ProviderHarness):
    """Model listing and pricing."""

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

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.LIST_MODELS)
    @pytest.mark.anyio
    async def test_list_models_reports_what_the_upstream_lists(
        self, conformance_target: ConformanceTarget
    ) -> None:
        with self.feature(conformance_target, ProviderFeature.LIST_MODELS):
            async with self.loopback(conformance_target) as (provider, server):
                models = await provider.list_models()
                listed = [r for r in server.requests if r.path.endswith("/models")]
            expected = {self.model(conformance_target), f"{self.model(conformance_target)}-large"}
            assert listed, "list_models() never asked the upstream"
            assert {m.id for m in models} == expected, (
                f"the upstream lists {sorted(expected)}, "
                f"list_models() returned {sorted(m.id for m in models)}"
            )

    @pytest.mark.meshkit_feature(ProviderFeature.PRICING)
    @pytest.mark.anyio
    async def test_declared_pricing_gives_a_price(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, ProviderFeature.PRICING):
            async with self.provider(conformance_target) as (provider, _):
                price = await provider.pricing(self.model(conformance_target))
            assert price is not None, (
                f"{conformance_target} declares 'pricing' but has no price for "
                f"{self.model(conformance_target)!r}"
            )
            assert price.input_per_1k >= 0 and price.output_per_1k >= 0, f"negative price: {price}"
            assert price.input_per_1k + price.output_per_1k > 0, f"a declared price of nothing: {price}"

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.LIST_MODELS)
    @pytest.mark.anyio
    async def test_a_failing_listing_is_mapped(self, conformance_target: ConformanceTarget) -> None:
        with self.feature(conformance_target, ProviderFeature.LIST_MODELS):
            async with self.faulty(conformance_target) as (provider, upstream):
                for fault, kind, retryable in FAILED_LISTINGS:
                    if isinstance(upstream, ServerUpstream):
                        upstream.queue_listing(fault)
                    else:
                        upstream.queue(fault)
                    raised = await self.failure(provider.list_models)
                    what = f"a listing answered {fault.http_status} {fault.body!r}"
                    assert isinstance(raised, kind), f"{what} must raise {kind.__name__}, got {raised!r}"
                    expect(raised, kind, retryable=retryable)
