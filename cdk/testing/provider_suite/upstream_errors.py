"""Errors the upstream states in its own words, over real HTTP: the API's error bodies, error
events inside a stream, ``retry-after-ms``, and answers that leave optional fields out."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from ...enums import ProviderFeature
from ...errors import (
    AuthenticationError,
    BadRequestError,
    ContextWindowExceededError,
    ProviderError,
    ProviderProtocolError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    RateLimitError,
)
from ...types import TokenUsage
from ..faults import Fault
from ..target import ConformanceTarget
from .harness import ProviderHarness, expect, loopback_of

#: Each named error the local server renders in the API's own body (its status, type and code):
#: the ProviderError it must become, and whether the router may retry it.
NAMED_ERRORS: dict[str, tuple[type[ProviderError], bool]] = {
    "rate_limit": (RateLimitError, True),
    "quota": (QuotaExhaustedError, True),
    "context_window": (ContextWindowExceededError, False),
    "overloaded": (ProviderUnavailableError, True),
    "auth": (AuthenticationError, False),
}

#: The named errors a stream may carry as an event, and what each must become.
STREAM_ERRORS: dict[str, tuple[type[ProviderError], bool]] = {
    "rate_limit": (RateLimitError, True),
    "overloaded": (ProviderUnavailableError, True),
    "context_window": (ContextWindowExceededError, False),
    "invalid_request": (BadRequestError, False),
    "auth": (AuthenticationError, False),
}

#: What an error message may grow to, however much the upstream sent: messages go to logs,
#: events and the router's attempts.
MESSAGE_LIMIT = 4096

NAMED_FAULTS = {
    "rate_limit": lambda: Fault.rate_limit(retry_after=7),
    "quota": Fault.quota,
    "context_window": Fault.context_window,
    "overloaded": Fault.overloaded,
    "auth": Fault.auth,
}

#: OpenAI-compatible services (OpenRouter among them) also put an error, with the HTTP status as
#: a numeric ``code``, inside a 200 answer or a stream chunk.
NUMERIC_CODES: dict[int, tuple[type[ProviderError], bool]] = {
    400: (BadRequestError, False),
    429: (RateLimitError, True),
    503: (ProviderUnavailableError, True),
}


def _numeric(code: int) -> str:
    return f'{{"error": {{"code": {code}, "message": "upstream said {code}"}}}}'


class UpstreamErrorTests(ProviderHarness):
    """What the upstream says went wrong, read from what it sent."""

    def _wire(self, target: ConformanceTarget) -> str:
        loopback = loopback_of(target)
        return loopback.wire if loopback is not None else "openai"

    async def _raised(self, provider: Any, request: Any, *, stream: bool) -> BaseException:
        if stream:
            return await self.failure(lambda: self.drain(provider, request))
        return await self.failure(lambda: provider.complete(request))

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_error_bodies_are_mapped_by_what_they_say(
        self, conformance_target: ConformanceTarget
    ) -> None:
        model = self.model(conformance_target)
        async with self.loopback(conformance_target) as (provider, server):
            for name, (kind, retryable) in NAMED_ERRORS.items():
                server.script(model, NAMED_FAULTS[name]())
                raised = await self._raised(provider, self.request(conformance_target), stream=False)
                err = expect(raised, kind, retryable=retryable)
                assert err.status_code is not None and err.status_code >= 400, (
                    f"the {name} error came with an HTTP status; the error carries {err.status_code}"
                )
                if name == "rate_limit":
                    assert err.retry_after == pytest.approx(7.0), f"Retry-After: 7 gave {err.retry_after}"
            # The upstream's own words reach the error (redacted), so a person can tell what happened.
            said = f"conformance-{secrets.token_hex(4)} is not a known parameter"
            server.script(model, Fault(kind="status", http_status=400, error="invalid_request", message=said))
            raised = await self._raised(provider, self.request(conformance_target), stream=False)
            err = expect(raised, BadRequestError, retryable=False, status=400)
            assert said in str(err), f"the upstream said {said!r}; the error says {str(err)!r}"
            if self._wire(conformance_target) == "openai":
                for code, (kind, retryable) in NUMERIC_CODES.items():
                    server.script(model, Fault.status(200, body=_numeric(code)))
                    raised = await self._raised(provider, self.request(conformance_target), stream=False)
                    err = expect(raised, kind, retryable=retryable)
                    assert err.status_code == code, (
                        f"a 200 carrying an error with code {code} is that status; got {err.status_code}"
                    )

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_an_error_event_in_a_stream_is_mapped(self, conformance_target: ConformanceTarget) -> None:
        self.requires(conformance_target, ProviderFeature.STREAMING)
        model = self.model(conformance_target)
        async with self.loopback(conformance_target) as (provider, server):
            for name, (kind, retryable) in STREAM_ERRORS.items():
                server.script(model, Fault.stream_error(after=1, error=name))
                raised = await self._raised(provider, self.request(conformance_target), stream=True)
                expect(raised, kind, retryable=retryable)
            if self._wire(conformance_target) == "openai":
                for code, (kind, retryable) in NUMERIC_CODES.items():
                    event = Fault(kind="stream_error", http_status=code, after=1, body=_numeric(code))
                    server.script(model, event)
                    raised = await self._raised(provider, self.request(conformance_target), stream=True)
                    err = expect(raised, kind, retryable=retryable)
                    assert err.status_code == code, (
                        f"a stream error event with code {code} is that status; got {err.status_code}"
                    )

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_retry_after_in_milliseconds_is_read(self, conformance_target: ConformanceTarget) -> None:
        # OpenAI (and Azure) send the precise `retry-after-ms` beside Retry-After; it wins. Anthropic
        # sends Retry-After alone, so a client of its API reads that. A malformed one hides nothing.
        model = self.model(conformance_target)
        precise = 0.25 if self._wire(conformance_target) == "openai" else 3.0
        cases: dict[str, float | None] = {"250": precise, "soon": 3.0, "-500": None}
        async with self.loopback(conformance_target) as (provider, server):
            for millis, expected in cases.items():
                fault = Fault(
                    kind="status",
                    http_status=429,
                    error="rate_limit",
                    retry_after=3,
                    headers={"retry-after-ms": millis},
                )
                server.script(model, fault)
                raised = await self._raised(provider, self.request(conformance_target), stream=False)
                err = expect(raised, RateLimitError, retryable=True, status=429)
                if expected is None:  # a negative wait: Retry-After, or no wait at all, never a negative one
                    assert err.retry_after is not None and err.retry_after >= 0, (
                        f"retry-after-ms: {millis} gave retry_after={err.retry_after}"
                    )
                    continue
                assert err.retry_after == pytest.approx(expected), (
                    f"retry-after-ms: {millis} with Retry-After: 3 must give retry_after={expected}, "
                    f"got {err.retry_after}"
                )

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_answers_missing_optional_fields_are_read(
        self, conformance_target: ConformanceTarget
    ) -> None:
        from ..mock_server import Reply

        model = f"{self.model(conformance_target)}-large"
        async with self.loopback(conformance_target) as (provider, server):
            omit = ("model", "usage.total_tokens", "choices.0.message.role", "role")
            server.script(model, Reply("four words of answer", omit=omit))
            response = await provider.complete(self.request(conformance_target, model=model))
            assert response.model == model, (
                f"an answer that names no model is the requested model's ({model!r}); got {response.model!r}"
            )
            roles = [c.message.role for c in response.choices]
            assert roles == ["assistant"], f"an answer that names no role is the assistant's; got {roles}"
            if self._wire(conformance_target) == "openai":  # Anthropic's answers carry no time
                created = response.created
                assert created is not None and created.tzinfo is not None, (
                    f"the answer says when it was made (`created`); the response has {created!r}"
                )
            usage = response.usage
            assert usage.completion_tokens > 0 and usage.prompt_tokens > 0, f"usage counted: {usage}"
            assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens, (
                f"an answer without total_tokens totals its prompt and completion tokens; got {usage}"
            )
            server.script(model, Reply("no usage at all", omit=("usage",)))
            response = await provider.complete(self.request(conformance_target, model=model))
            usage = response.usage
            assert isinstance(usage, TokenUsage), f"usage of an answer without one: {usage!r}"
            assert usage.prompt_tokens >= 0 and usage.completion_tokens >= 0, f"usage: {usage}"
            assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens, f"usage: {usage}"
            assert response.text == "no usage at all", f"the answer was {response.text!r}"
            counts = ("prompt_tokens", "completion_tokens", "total_tokens", "input_tokens", "output_tokens")
            server.script(model, Reply("usage without counts", omit=tuple(f"usage.{c}" for c in counts)))
            usage = (await provider.complete(self.request(conformance_target, model=model))).usage
            assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (0, 0, 0), (
                f"a usage that counts nothing is zero tokens, none invented; got {usage}"
            )

    @pytest.mark.meshkit_http
    @pytest.mark.meshkit_feature(ProviderFeature.STREAMING)
    @pytest.mark.anyio
    async def test_stream_chunks_missing_optional_fields_are_read(
        self, conformance_target: ConformanceTarget
    ) -> None:
        from ..mock_server import Reply

        self.requires(conformance_target, ProviderFeature.STREAMING)
        model = f"{self.model(conformance_target)}-large"
        async with self.loopback(conformance_target) as (provider, server):
            # OpenAI's chunks name the model each; Anthropic's say it once, in message_start.
            server.script(model, Reply("one two three", omit=("model", "message.model")))
            chunks = await self.drain(provider, self.request(conformance_target, model=model))
        models = {c.model for c in chunks}
        assert models == {model}, f"chunks that name no model are the requested model's; got {models}"
        assert "".join(c.text for c in chunks) == "one two three", "the stream's text was lost"

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_long_upstream_text_keeps_errors_short(self, conformance_target: ConformanceTarget) -> None:
        model = self.model(conformance_target)
        page = "<html><body>" + "gateway trouble " * 16384 + "</body></html>"
        async with self.loopback(conformance_target) as (provider, server):
            server.script(model, Fault.status(502, body=page))
            raised = await self._raised(provider, self.request(conformance_target), stream=False)
            err = expect(raised, ProviderUnavailableError, retryable=True, status=502)
            assert len(str(err)) <= MESSAGE_LIMIT, (
                f"a 256 KiB error page became a message of {len(str(err))} characters: cut it short"
            )
            if ProviderFeature.STREAMING in conformance_target.cls.features:
                line = 'data: "' + "not a chunk " * 8192 + '"\n\n'
                server.script(model, Fault.status(200, body=line))
                raised = await self._raised(provider, self.request(conformance_target), stream=True)
                err = expect(raised, ProviderProtocolError, retryable=True)
                assert len(str(err)) <= MESSAGE_LIMIT, (
                    f"a 96 KiB stream line that is not a chunk became a message of {len(str(err))} "
                    "characters: cut it short"
                )
