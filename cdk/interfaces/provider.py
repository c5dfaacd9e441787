"""The provider interface: what every connector that talks to an AI service implements."""

from __future__ import annotations

import json
import time
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

import attrs

from ..connector import ConfigT, Connector
from ..enums import AuthMethod, ConnectorType, ProviderFeature
from ..errors import FeatureNotSupportedError, ProviderError, ProviderProtocolError
from ..types import (
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    ModelInfo,
    ModelPricing,
    ProbeResult,
    Secret,
)
from .redaction import scrubber
from .transport_errors import map_transport_exception

__all__ = ["INTERFACE_VERSION", "Provider"]

INTERFACE_VERSION = 1


class Provider(Connector[ConfigT]):
    """Talks to one AI service. Providers never retry: the router is the one retry loop."""

    connector_type: ClassVar[ConnectorType] = ConnectorType.PROVIDER
    interface_version: ClassVar[int] = INTERFACE_VERSION
    auth_method: ClassVar[AuthMethod] = AuthMethod.API_KEY
    #: The secrets last scrubbed for, and the scrubber built for them.
    _scrub: tuple[tuple[str, ...], Callable[[str], str]] | None = None

    @abstractmethod
    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Run one completion; raise a ProviderError subclass on failure."""

    def stream(self, request: CompletionRequest) -> AsyncIterator[CompletionChunk]:
        """Yield completion chunks; requires the STREAMING feature."""
        raise FeatureNotSupportedError(f"{self.connector_id} does not support streaming")

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Embed the request's texts, one vector per input in input order; requires EMBEDDINGS."""
        raise FeatureNotSupportedError(f"{self.connector_id} does not support embeddings")

    def call_bound(self, request: CompletionRequest | EmbeddingRequest) -> float | None:
        """Seconds within which ``complete``/``embed`` of ``request`` is sure to end by itself.

        None (the default): no promise, and the router cuts the call at the request's deadline
        with a timer of its own. A provider that returns a bound keeps it with its own timeout;
        the router then arms no second timer when the bound ends the call before the deadline.
        """
        return None

    async def list_models(self) -> list[ModelInfo]:
        """The models the service offers; requires LIST_MODELS."""
        raise FeatureNotSupportedError(f"{self.connector_id} cannot list models")

    async def pricing(self, model_id: str) -> ModelPricing | None:
        """The price of ``model_id`` if the provider knows it."""
        return None

    async def probe(self) -> ProbeResult:
        """A cheap health check. The default lists models when it can, else reports ok."""
        started = time.perf_counter()
        try:
            if ProviderFeature.LIST_MODELS in self.features:
                await self.list_models()
        except Exception as exc:  # a probe reports, it does not raise
            err = self.classify_error(exc)
            return ProbeResult(
                provider_id=self.name,
                ok=False,
                checked_at=self.clock.now(),
                latency_ms=_ms_since(started),
                error=self.redact(str(err)),
                status_code=err.status_code,
            )
        return ProbeResult(
            provider_id=self.name, ok=True, checked_at=self.clock.now(), latency_ms=_ms_since(started)
        )

    def classify_error(self, exc: BaseException) -> ProviderError:
        """Map any exception raised while talking to the service to a ProviderError."""
        if isinstance(exc, ProviderError):
            return exc
        mapped = map_transport_exception(exc)
        if mapped is not None:
            return mapped
        if isinstance(exc, ValueError | KeyError | TypeError | json.JSONDecodeError):
            return ProviderProtocolError(self.redact(f"malformed response: {exc}"))
        return ProviderError(self.redact(f"{type(exc).__name__}: {exc}"))

    def secrets(self) -> list[str]:
        """Plain secret values this provider holds, so that messages can be scrubbed."""
        found: list[str] = []
        config: Any = self.config  # any attrs class: only its Secret fields matter here
        if attrs.has(type(config)):
            for a in attrs.fields(type(config)):
                value = getattr(config, a.name)
                if isinstance(value, Secret) and value.reveal():
                    found.append(value.reveal())
        return found

    def redact(self, text: str) -> str:
        """``text`` with every secret this provider holds masked, in each form it takes on the wire.

        Raw, URL-encoded, JSON-escaped and base64 spellings are all masked (see ``scrubber``).
        """
        secrets = tuple(self.secrets())
        cached = self._scrub
        if cached is None or cached[0] != secrets:
            cached = (secrets, scrubber(secrets))
            self._scrub = cached
        return cached[1](text)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
