"""Tests of what is particular to this connector; the conformance suite covers the contract.

Add a test here for each request field, response quirk or error body of your service.
"""

from __future__ import annotations

import json

import httpx
import pytest
from meshkit import BadRequestError, CompletionRequest
from meshkit.testing import FaultTransport

from {{ cookiecutter.__package_name }} import {{ cookiecutter.__class_name }}
from {{ cookiecutter.__package_name }}.conformance import MODEL, conformance_spec


def _provider(**config: object) -> {{ cookiecutter.__class_name }}:
    spec = conformance_spec()
    assert spec.http is not None
    return {{ cookiecutter.__class_name }}({**spec.config, **config}, transport=FaultTransport(spec.http))


def test_the_request_carries_the_model_messages_and_limits() -> None:
    provider = _provider()
    request = CompletionRequest(
        messages=[{"role": "user", "content": "hi"}], model=MODEL, max_tokens=5, temperature=0.5
    )
    http_request = provider.build_request(request, stream=False)
    assert http_request.method == "POST"
    assert http_request.url.path.endswith("/chat/completions")
    body = json.loads(http_request.content)
    assert body["model"] == MODEL and body["max_tokens"] == 5 and body["temperature"] == 0.5
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert "stream" not in body


def test_the_configured_model_is_the_default() -> None:
    provider = _provider(model="fallback-model")
    request = CompletionRequest(messages=[{"role": "user", "content": "hi"}])
    http_request = provider.build_request(request, stream=True)
    body = json.loads(http_request.content)
    assert body["model"] == "fallback-model" and body["stream"] is True


def test_a_request_without_any_model_is_a_bad_request() -> None:
    request = CompletionRequest(messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(BadRequestError, match="no model"):
        _provider().build_request(request, stream=False)


def test_the_api_key_goes_in_the_authorization_header() -> None:
    provider = _provider(api_key="sk-test-key")
    request = CompletionRequest(messages=[{"role": "user", "content": "hi"}], model=MODEL)
    assert provider.build_request(request, stream=False).headers["authorization"] == "Bearer sk-test-key"


@pytest.mark.anyio
async def test_a_completion_is_parsed() -> None:
    request = CompletionRequest(messages=[{"role": "user", "content": "hi"}], model=MODEL)
    async with _provider() as provider:
        reply = await provider.complete(request)
    assert reply.text == "Hello there, friend."
    assert reply.usage.total_tokens == 13


def test_a_stream_line_that_is_not_data_is_skipped() -> None:
    request = CompletionRequest(messages=[{"role": "user", "content": "hi"}], model=MODEL)
    assert _provider().parse_stream_line(": keep-alive", request) is None
    assert _provider().parse_stream_line("data: [DONE]", request) is False


def test_an_error_status_keeps_its_body() -> None:
    response = httpx.Response(429, headers={"retry-after": "2"}, json={"error": {"message": "slow down"}})
    error = _provider().error_from_response(response)
    assert error.retryable and error.retry_after == 2.0 and "slow down" in str(error)
