"""``meshkit.mock.v1``: a scriptable provider for tests and demos, no network involved.

Usable from YAML::

    providers:
      fake:
        connector: mock
        config:
          models: [small, large]
          latency: 20ms
          script:                       # consumed one step per call, then replies as usual
            - {error: rate_limit, retry_after: 2}
            - {error: unavailable}
            - {reply: "custom answer"}
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Literal

import attrs

from meshkit import (
    AuthenticationError,
    BadRequestError,
    ChatMessage,
    Choice,
    ChunkChoice,
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    ContextWindowExceededError,
    Delta,
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    ModelAccessError,
    ModelInfo,
    ModelPricing,
    ProviderError,
    ProviderFeature,
    ProviderProtocolError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    RateLimitError,
    SystemClock,
    TokenUsage,
)
from meshkit.interfaces import Provider
from meshkit.testing import fake_embedding

ErrorKind = Literal[
    "rate_limit",
    "quota",
    "unavailable",
    "timeout",
    "auth",
    "model_access",
    "bad_request",
    "context_window",
    "protocol",
]

_ERRORS: dict[str, tuple[type[ProviderError], int | None]] = {
    "rate_limit": (RateLimitError, 429),
    "quota": (QuotaExhaustedError, 429),
    "unavailable": (ProviderUnavailableError, 503),
    "timeout": (ProviderTimeoutError, None),
    "auth": (AuthenticationError, 401),
    "model_access": (ModelAccessError, 403),
    "bad_request": (BadRequestError, 400),
    "context_window": (ContextWindowExceededError, 400),
    "protocol": (ProviderProtocolError, 200),
}


@attrs.frozen(kw_only=True)
class MockStep:
    """One scripted call: an error, a custom reply, extra latency, or a stream cut short."""

    reply: str | None = None
    error: ErrorKind | None = None
    retry_after: float | None = None
    latency: timedelta | None = None
    cut_after: int | None = None
    model: str | None = None


@attrs.frozen(kw_only=True)
class MockConfig:
    """Models offered, the reply, latency, and a script of per-call behaviour."""

    models: list[str] = attrs.field(factory=lambda: ["mock-small", "mock-large"])
    reply: str = "Hello from {model}."
    echo: bool = False
    latency: timedelta = timedelta(0)
    chunk_words: int = 1
    script: list[MockStep] = attrs.field(factory=list)
    pricing: dict[str, ModelPricing] = attrs.field(factory=dict)
    healthy: bool = True


class MockProvider(Provider[MockConfig]):
    """Answers from a script; records every completion in ``calls``, every embedding in ``embed_calls``.

    Embeddings are deterministic unit vectors (``meshkit.testing.vectors``): the same text and
    model always give the same vector.
    """

    connector_id = "meshkit.mock.v1"
    Config = MockConfig
    features = frozenset(
        {
            ProviderFeature.STREAMING,
            ProviderFeature.EMBEDDINGS,
            ProviderFeature.LIST_MODELS,
            ProviderFeature.USAGE_IN_STREAM,
            ProviderFeature.PRICING,
        }
    )
    description = "Scriptable in-process provider for tests and demos"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._script: deque[MockStep] = deque(self.config.script)
        self.calls: list[CompletionRequest] = []
        self.embed_calls: list[EmbeddingRequest] = []
        self.healthy: bool = self.config.healthy
        self._ids = itertools.count(1)

    def push(self, *steps: MockStep | dict[str, object]) -> None:
        """Append steps to the script; a dict is read as a ``script:`` entry of the YAML is
        (``latency: 10s``), and a bad one is a ConfigError naming the key."""
        for index, step in enumerate(steps):
            if not isinstance(step, MockStep):  # built as the config builds its script
                step = self.build_config({"script": [step]}, path=f"push[{index}]").script[0]
            self._script.append(step)

    def call_bound(self, request: CompletionRequest | EmbeddingRequest) -> float | None:
        """The only wait of a call is its step's latency (the step it will take, else the configured one).

        Promised on the real clock only: on a fake one the wait ends when the test moves time on.
        """
        if type(self.clock) is not SystemClock:
            return None
        model = request.model or self.config.models[0]
        for step in self._script:
            if step.model is None or step.model == model:
                latency = step.latency if step.latency is not None else self.config.latency
                return latency.total_seconds()
        return self.config.latency.total_seconds()

    def _next_step(self, model: str | None) -> MockStep:
        for i, step in enumerate(self._script):
            if step.model is None or step.model == model:
                del self._script[i]
                return step
        return MockStep()

    async def _begin(self, request: CompletionRequest | EmbeddingRequest) -> tuple[MockStep, str]:
        if isinstance(request, EmbeddingRequest):
            self.embed_calls.append(request)
        else:
            self.calls.append(request)
        model = request.model or self.config.models[0]
        step = self._next_step(model)
        latency = step.latency if step.latency is not None else self.config.latency
        if latency:
            await self.clock.sleep(latency.total_seconds())
        if model not in self.config.models:
            raise BadRequestError(f"model {model!r} does not exist", status_code=404, provider_id=self.name)
        if step.error is not None:
            cls, status = _ERRORS[step.error]
            raise cls(
                f"scripted {step.error}",
                status_code=status,
                retry_after=step.retry_after,
                provider_id=self.name,
                model_id=model,
            )
        return step, model

    def _text(self, step: MockStep, model: str, request: CompletionRequest) -> str:
        if step.reply is not None:
            return step.reply
        if self.config.echo:
            users = [m.text for m in request.messages if m.role == "user"]
            return users[-1] if users else ""
        return self.config.reply.format(model=model)

    def _usage(self, request: CompletionRequest, text: str) -> TokenUsage:
        return TokenUsage(
            prompt_tokens=request.estimated_prompt_tokens(), completion_tokens=max(1, len(text.split()))
        )

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        step, model = await self._begin(request)
        text = self._text(step, model, request)
        return CompletionResponse(
            id=f"mock-{next(self._ids)}",
            model=model,
            provider_id=self.name,
            choices=(
                Choice(index=0, message=ChatMessage(role="assistant", content=text), finish_reason="stop"),
            ),
            usage=self._usage(request, text),
            created=self.clock.now(),
        )

    async def stream(self, request: CompletionRequest) -> AsyncIterator[CompletionChunk]:  # type: ignore[override]
        step, model = await self._begin(request)
        text = self._text(step, model, request)
        words = text.split(" ")
        size = max(1, self.config.chunk_words)
        pieces = [
            " ".join(words[i : i + size]) + (" " if i + size < len(words) else "")
            for i in range(0, len(words), size)
        ]
        chunk_id = f"mock-{next(self._ids)}"
        for n, piece in enumerate(pieces):
            if step.cut_after is not None and n >= step.cut_after:
                raise ProviderProtocolError(
                    "stream cut short (scripted)", provider_id=self.name, model_id=model
                )
            delta = Delta(role="assistant" if n == 0 else None, content=piece)
            yield CompletionChunk(
                id=chunk_id, model=model, provider_id=self.name, choices=(ChunkChoice(index=0, delta=delta),)
            )
        yield CompletionChunk(
            id=chunk_id,
            model=model,
            provider_id=self.name,
            choices=(ChunkChoice(index=0, delta=Delta(), finish_reason="stop"),),
            usage=self._usage(request, text),
        )

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        _, model = await self._begin(request)
        vectors = tuple(
            Embedding(index=i, embedding=fake_embedding(text, model=model, dimensions=request.dimensions))
            for i, text in enumerate(request.input)
        )
        tokens = request.estimated_prompt_tokens()
        return EmbeddingResponse(
            model=model, data=vectors, usage=TokenUsage(tokens, 0, tokens), provider_id=self.name
        )

    async def list_models(self) -> list[ModelInfo]:
        if not self.healthy:
            raise ProviderUnavailableError(
                "mock provider is marked unhealthy", status_code=503, provider_id=self.name
            )
        return [
            ModelInfo(id=m, provider_id=self.name, pricing=self.config.pricing.get(m))
            for m in self.config.models
        ]

    async def pricing(self, model_id: str) -> ModelPricing | None:
        return self.config.pricing.get(model_id)
