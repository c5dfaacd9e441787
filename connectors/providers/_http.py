"""What the built-in HTTP providers share: the URL check, the model a call names, error bodies."""

from __future__ import annotations

from typing import Any

import httpx

from meshkit import BadRequestError, CompletionRequest, EmbeddingRequest, ProviderProtocolError
from meshkit.interfaces import HTTPProvider, check, json_body


def is_http_url(value: str) -> bool:
    """Whether ``value`` is an http:// or https:// URL."""
    return value.startswith(("http://", "https://"))


#: The attrs validator of a ``base_url`` field: the failure is reported at its config path.
HTTP_URL = check(is_http_url, "an http:// or https:// URL")


def model_for(
    provider: HTTPProvider[Any], request: CompletionRequest | EmbeddingRequest, default: str | None
) -> str:
    """The model a call asks for: the request's, else the provider's ``default``; neither is a bad request."""
    model = request.model or default
    if not model:
        raise BadRequestError(
            f"{provider.name}: the request names no model and the provider has no default `model`",
            provider_id=provider.name,
        )
    return model


def json_object(provider: HTTPProvider[Any], response: httpx.Response) -> dict[str, Any]:
    """A 2xx response's body, which must be a JSON object."""
    data = json_body(response.content)
    if not isinstance(data, dict):
        raise ProviderProtocolError(
            f"expected a JSON object, got {type(data).__name__}", provider_id=provider.name
        )
    return data


def malformed_model_list(
    provider: HTTPProvider[Any], response: httpx.Response, exc: Exception
) -> ProviderProtocolError:
    """The error for a model list that is not what the API documents."""
    return ProviderProtocolError(
        provider.redact(f"malformed model list: {type(exc).__name__}: {exc}"),
        status_code=response.status_code,
        provider_id=provider.name,
    )
