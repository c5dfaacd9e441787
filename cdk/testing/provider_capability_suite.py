"""The provider contract for embeddings, JSON schemas and images: wire, parsing, faults, usage.

The tests live apart from the chat contract (``provider_suite``) and are mixed into
:class:`~meshkit.testing.ProviderSuite`, so a provider runs them as it runs every other
standard test. Each is gated on its feature: undeclared, it is skipped with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import attrs
import pytest

from ..enums import ProviderFeature
from ..errors import (
    BadRequestError,
    ProviderError,
    ProviderProtocolError,
    ProviderUnavailableError,
    RateLimitError,
)
from ..interfaces.provider import Provider
from ..types import CompletionRequest, CompletionResponse, EmbeddingRequest, EmbeddingResponse
from .fault_transport import FaultTransport
from .faults import Fault
from .target import ConformanceTarget

__all__ = ["IMAGE_DATA", "ProviderCapabilityTests"]

#: A one-pixel PNG, as the image every vision test sends.
IMAGE_DATA = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

#: The schema every JSON-schema test asks for.
WEATHER_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "conformance_weather",
        "schema": {
            "type": "object",
            "properties": {"conformance_city": {"type": "string"}},
            "required": ["conformance_city"],
        },
    },
}

#: Inputs an embedding test sends to a connector that is not an HTTP provider.
DEFAULT_INPUTS = ("first conformance input", "second conformance input", "third conformance input")


class _Suite(Protocol):
    """What the tests use of the provider suite they are mixed into."""

    def request(self, target: ConformanceTarget, **overrides: Any) -> CompletionRequest: ...

    def provider(
        self, target: ConformanceTarget, *faults: Fault | None
    ) -> AbstractAsyncContextManager[tuple[Provider, FaultTransport | None]]: ...

    def http_provider(
        self, target: ConformanceTarget, *faults: Fault | None
    ) -> AbstractAsyncContextManager[tuple[Provider, FaultTransport]]: ...

    def loopback(self, target: ConformanceTarget) -> AbstractAsyncContextManager[tuple[Provider, Any]]: ...

    def model(self, target: ConformanceTarget) -> str: ...

    async def failure(self, call: Any) -> BaseException: ...

    def one_request(self, transport: FaultTransport) -> None: ...

    def feature(self, target: ConformanceTarget, feature: Any) -> Any: ...

    def requires(self, target: ConformanceTarget, feature: Any) -> None: ...


def _expect(raised: BaseException, expected: type[ProviderError], *, retryable: bool) -> ProviderError:
    assert isinstance(raised, expected), (
        f"expected {expected.__name__}, got {type(raised).__name__}: {raised}"
    )
    assert raised.retryable is retryable, f"{expected.__name__} must have retryable={retryable}"
    return raised


def _inputs(target: ConformanceTarget) -> tuple[str, ...]:
    payloads = target.spec.http
    if target.is_http and payloads is not None and payloads.embedding_vectors:
        return tuple(f"conformance input {i}" for i in range(len(payloads.embedding_vectors)))
    return DEFAULT_INPUTS


def _embedding_request(target: ConformanceTarget, **overrides: Any) -> EmbeddingRequest:
    fields: dict[str, Any] = {"input": _inputs(target), "model": target.spec.model}
    fields.update(overrides)
    return EmbeddingRequest(**fields)


def _skip_without_embedding_payloads(target: ConformanceTarget) -> None:
    payloads = target.spec.http
    declared = ProviderFeature.EMBEDDINGS in target.cls.features
    if declared and target.is_http and (payloads is None or payloads.embedding_body is None):
        pytest.skip(f"{target} declares 'embeddings' but its ConformanceSpec gives no `embedding_body`")


def _sent(transport: FaultTransport | None) -> str:
    """Every request body the provider sent, as text."""
    if transport is None:
        return ""
    return "\n".join(r.content.decode("utf-8", "replace") for r in transport.requests)


def _skip_undeclared_off_the_wire(target: ConformanceTarget, feature: ProviderFeature) -> None:
    # Off the wire, an ignored option looks like a working one: judge only what is declared.
    if feature not in target.cls.features and not target.is_http:
        pytest.skip(f"{target} does not declare {feature.value!r}")


def _image_request(suite: _Suite, target: ConformanceTarget) -> CompletionRequest:
    parts = [
        {"type": "text", "text": "What colour is this pixel?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{IMAGE_DATA}"}},
    ]
    return suite.request(target, messages=[{"role": "user", "content": parts}])


class ProviderCapabilityTests:
    """Embeddings, JSON schemas and images; mixed into ProviderSuite."""

    # --- embeddings ----------------------------------------------------------------------

    @pytest.mark.meshkit_feature(ProviderFeature.EMBEDDINGS)
    @pytest.mark.anyio
    async def test_embed_returns_one_vector_per_input_in_input_order(
        self: _Suite, conformance_target: ConformanceTarget
    ) -> None:
        with self.feature(conformance_target, ProviderFeature.EMBEDDINGS):
            _skip_without_embedding_payloads(conformance_target)
            request = _embedding_request(conformance_target)
            async with self.provider(conformance_target) as (provider, _):
                reply = await provider.embed(request)
            assert isinstance(reply, EmbeddingResponse), f"embed() returned {type(reply).__name__}"
            assert isinstance(reply.model, str) and reply.model, "an embedding answer names its model"
            assert [d.index for d in reply.data] == list(range(len(request.input))), (
                f"one vector per input, indexed in input order; got indexes {[d.index for d in reply.data]}"
            )
            vectors = [d.embedding for d in reply.data]
            assert all(isinstance(v, list) and v and all(isinstance(x, float) for x in v) for v in vectors), (
                "every embedding is a non-empty list of floats"
            )
            assert len({len(v) for v in vectors}) == 1, "every vector of one answer has the same length"
            payloads = conformance_target.spec.http
            if conformance_target.is_http and payloads is not None:
                expected = [list(v) for v in payloads.embedding_vectors]
                assert [pytest.approx(v) for v in expected] == vectors, (
                    "the vectors must come back in input order (by the answer's index)"
                )

    @pytest.mark.meshkit_feature(ProviderFeature.EMBEDDINGS)
    @pytest.mark.anyio
    async def test_embed_usage_counts_prompt_tokens_only(
        self: _Suite, conformance_target: ConformanceTarget
    ) -> None:
        with self.feature(conformance_target, ProviderFeature.EMBEDDINGS):
            _skip_without_embedding_payloads(conformance_target)
            async with self.provider(conformance_target) as (provider, _):
                usage = (await provider.embed(_embedding_request(conformance_target))).usage
            assert usage.completion_tokens == 0, f"an embedding produces no completion tokens: {usage}"
            assert usage.total_tokens == usage.prompt_tokens > 0, f"usage: {usage}"

    @pytest.mark.meshkit_feature(ProviderFeature.EMBEDDINGS)
    @pytest.mark.anyio
    @pytest.mark.meshkit_http
    async def test_embed_sends_one_request_carrying_every_input(
        self: _Suite, conformance_target: ConformanceTarget
    ) -> None:
        self.requires(conformance_target, ProviderFeature.EMBEDDINGS)
        _skip_without_embedding_payloads(conformance_target)
        request = _embedding_request(conformance_target)
        async with self.http_provider(conformance_target) as (provider, transport):
            await provider.embed(request)
            self.one_request(transport)
            payloads = conformance_target.spec.http
            assert payloads is not None
            path = transport.requests[0].url.path
            assert path.endswith(payloads.embedding_path), f"embeddings went to {path}"
        sent = _sent(transport)
        missing = [text for text in request.input if json.dumps(text) not in sent and text not in sent]
        assert not missing, f"the upstream request lacks the inputs {missing}"

    @pytest.mark.anyio
    @pytest.mark.parametrize(
        ("make_fault", "expected"),
        [
            (
                lambda: Fault.status(
                    429, body='{"error": {"message": "Rate limit reached"}}', retry_after="7"
                ),
                RateLimitError,
            ),
            (
                lambda: Fault.status(503, body='{"error": {"message": "upstream trouble"}}'),
                ProviderUnavailableError,
            ),
            (Fault.connect_error, ProviderUnavailableError),
            (Fault.malformed, ProviderProtocolError),
        ],
        ids=["429", "503", "connect-error", "malformed"],
    )
    @pytest.mark.meshkit_feature(ProviderFeature.EMBEDDINGS)
    @pytest.mark.meshkit_http
    async def test_embed_faults_are_mapped(
        self: _Suite,
        conformance_target: ConformanceTarget,
        make_fault: Callable[[], Fault],
        expected: type[ProviderError],
    ) -> None:
        self.requires(conformance_target, ProviderFeature.EMBEDDINGS)
        _skip_without_embedding_payloads(conformance_target)
        async with self.http_provider(conformance_target, make_fault()) as (provider, transport):
            raised = await self.failure(lambda: provider.embed(_embedding_request(conformance_target)))
            self.one_request(transport)
        err = _expect(raised, expected, retryable=True)
        if isinstance(err, RateLimitError):
            assert err.retry_after == pytest.approx(7.0), f"Retry-After: 7 must give 7, got {err.retry_after}"

    @pytest.mark.meshkit_feature(ProviderFeature.EMBEDDINGS)
    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_embedding_answers_are_read_and_checked(
        self: _Suite, conformance_target: ConformanceTarget
    ) -> None:
        from .mock_server import Reply
        from .mock_server.embeddings_wire import embedding_body

        self.requires(conformance_target, ProviderFeature.EMBEDDINGS)
        model = self.model(conformance_target)
        request = EmbeddingRequest(input=DEFAULT_INPUTS, model=model)
        async with self.loopback(conformance_target) as (provider, server):
            server.script(model, Reply(omit=("model",)))
            reply = await provider.embed(request)
            assert reply.model == model, (
                f"an embeddings answer that names no model is the requested model's; got {reply.model!r}"
            )
            # Three inputs, two vectors: handing back fewer than asked would misalign every caller.
            server.script(model, Reply(omit=("data.-1",)))
            raised = await self.failure(lambda: provider.embed(request))
            _expect(raised, ProviderProtocolError, retryable=True)
            # Two inputs, three vectors: an extra one is as wrong as a missing one.
            extra = embedding_body({"input": [*request.input[:2], "a third text"]}, model)
            server.script(model, Fault.status(200, body=json.dumps(extra)))
            raised = await self.failure(
                lambda: provider.embed(attrs.evolve(request, input=request.input[:2]))
            )
            _expect(raised, ProviderProtocolError, retryable=True)
            # `dimensions` asks the model for shorter vectors: it must reach the upstream as asked.
            seen = len(server.requests)
            reply = await provider.embed(attrs.evolve(request, dimensions=8))
            sent = [r.json.get("dimensions") for r in server.requests[seen:] if isinstance(r.json, dict)]
            assert sent == [8], f"EmbeddingRequest(dimensions=8) sent dimensions {sent}"
            lengths = {len(d.embedding) for d in reply.data}
            assert lengths == {8}, f"the upstream answered 8 floats per vector; the reply holds {lengths}"

    # --- JSON schema ---------------------------------------------------------------------

    @pytest.mark.meshkit_feature(ProviderFeature.JSON_SCHEMA)
    @pytest.mark.anyio
    async def test_json_schema_goes_upstream_and_the_answer_parses(
        self: _Suite, conformance_target: ConformanceTarget
    ) -> None:
        _skip_undeclared_off_the_wire(conformance_target, ProviderFeature.JSON_SCHEMA)
        with self.feature(conformance_target, ProviderFeature.JSON_SCHEMA):
            request = self.request(conformance_target, response_format=WEATHER_SCHEMA)
            async with self.provider(conformance_target) as (provider, transport):
                reply = await provider.complete(request)
            assert isinstance(reply, CompletionResponse) and reply.choices, "a well-formed answer"
            assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens > 0
            if transport is not None:
                sent = _sent(transport)
                assert "conformance_weather" in sent and "conformance_city" in sent, (
                    "the schema (its name and properties) must reach the upstream"
                )

    @pytest.mark.meshkit_feature(ProviderFeature.JSON_SCHEMA)
    @pytest.mark.anyio
    @pytest.mark.meshkit_http
    async def test_a_refused_schema_is_a_bad_request(
        self: _Suite, conformance_target: ConformanceTarget
    ) -> None:
        self.requires(conformance_target, ProviderFeature.JSON_SCHEMA)
        fault = Fault.status(400, body='{"error": {"message": "Invalid schema for response_format"}}')
        async with self.http_provider(conformance_target, fault) as (provider, transport):
            request = self.request(conformance_target, response_format=WEATHER_SCHEMA)
            raised = await self.failure(lambda: provider.complete(request))
            self.one_request(transport)
        _expect(raised, BadRequestError, retryable=False)

    # --- vision --------------------------------------------------------------------------

    @pytest.mark.meshkit_feature(ProviderFeature.VISION)
    @pytest.mark.anyio
    async def test_an_image_goes_upstream_and_the_answer_parses(
        self: _Suite, conformance_target: ConformanceTarget
    ) -> None:
        _skip_undeclared_off_the_wire(conformance_target, ProviderFeature.VISION)
        with self.feature(conformance_target, ProviderFeature.VISION):
            async with self.provider(conformance_target) as (provider, transport):
                reply = await provider.complete(_image_request(self, conformance_target))
            assert reply.choices and reply.choices[0].message.text, "the answer has text"
            assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens > 0
            if transport is not None:
                assert IMAGE_DATA in _sent(transport), "the image must reach the upstream"

    @pytest.mark.meshkit_feature(ProviderFeature.VISION)
    @pytest.mark.anyio
    @pytest.mark.meshkit_http
    async def test_an_image_the_upstream_refuses_is_a_bad_request(
        self: _Suite, conformance_target: ConformanceTarget
    ) -> None:
        self.requires(conformance_target, ProviderFeature.VISION)
        fault = Fault.status(400, body='{"error": {"message": "Invalid image: the image is too large"}}')
        async with self.http_provider(conformance_target, fault) as (provider, transport):
            raised = await self.failure(lambda: provider.complete(_image_request(self, conformance_target)))
            self.one_request(transport)
        _expect(raised, BadRequestError, retryable=False)
