"""What a request needs from a model, and which models of a target can give it.

A request's needs follow from its content: ``tools`` (or a conversation that already holds
tool calls or tool results) needs ``tools``; ``response_format`` ``json_object`` needs
``json_mode`` and ``json_schema`` needs ``json_schema``; an ``image_url`` content part needs
``vision``; ``stream()`` needs ``streaming``; ``embed()`` needs ``embeddings``. A model has
what its config's ``features`` grant, else what its provider connector declares; it serves
``embed()`` when it registers under the embeddings branch, the chat calls otherwise.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import cast

import attrs

from ..enums import ProviderFeature
from ..errors import NotTried
from ..interfaces.provider import Provider
from ..types import CompletionRequest
from .capabilities import Operation, operation_of
from .catalogue import ModelEntry
from .settings import REQUEST_FEATURES

__all__ = ["RequestNeeds", "chat_needs", "embedding_needs", "lacking", "model_lacks", "skipped"]


@attrs.frozen(cache_hash=True)
class RequestNeeds:
    """The operation a request calls and the features it needs."""

    operation: Operation
    features: frozenset[ProviderFeature] = frozenset()

    def describe(self) -> str:
        """``chat with tools, vision`` / ``embeddings``."""
        if not self.features or self.features == {ProviderFeature.EMBEDDINGS}:
            return self.operation.value
        return f"{self.operation.value} with {', '.join(sorted(f.value for f in self.features))}"


def chat_needs(request: CompletionRequest, *, stream: bool) -> RequestNeeds:
    """What a chat request needs."""
    tools = bool(request.tools)
    vision = False
    for message in request.messages:  # one pass: a long conversation is read once
        if message.tool_calls or message.role == "tool":
            tools = True
        if type(message.content) is not str and message.has_image:
            vision = True
    response_format = request.response_format
    kind = response_format.get("type") if response_format else None
    if not (stream or tools or vision or kind == "json_object" or kind == "json_schema"):
        return _PLAIN_CHAT  # most requests: one value, hashed once, for every lookup keyed by it
    needed: set[ProviderFeature] = set()
    if stream:
        needed.add(ProviderFeature.STREAMING)
    if tools:
        needed.add(ProviderFeature.TOOLS)
    if kind == "json_object":
        needed.add(ProviderFeature.JSON_MODE)
    elif kind == "json_schema":
        needed.add(ProviderFeature.JSON_SCHEMA)
    if vision:
        needed.add(ProviderFeature.VISION)
    return RequestNeeds(Operation.CHAT, frozenset(needed))


def embedding_needs() -> RequestNeeds:
    """What an embedding request needs."""
    return _EMBEDDINGS


_PLAIN_CHAT = RequestNeeds(Operation.CHAT)
_EMBEDDINGS = RequestNeeds(Operation.EMBEDDINGS, frozenset({ProviderFeature.EMBEDDINGS}))


def model_lacks(
    entry: ModelEntry, provider_features: Collection[ProviderFeature], needs: RequestNeeds
) -> tuple[str, ...]:
    """What ``entry`` lacks for ``needs``, by name (``chat``, ``embeddings``, ``tools``…); empty when none."""
    serves = {operation_of(c) for c in entry.capabilities}
    lacking: list[str] = []
    if needs.operation not in serves:
        lacking.append(needs.operation.value)
    granted = {f for f in provider_features if f not in REQUEST_FEATURES}
    granted |= set(provider_features if entry.features is None else entry.features & set(provider_features))
    for feature in sorted(needs.features - granted, key=lambda f: f.value):
        if feature.value not in lacking:
            lacking.append(feature.value)
    return tuple(lacking)


def lacking(
    members: Iterable[str],
    entries: Mapping[str, ModelEntry],
    providers: Mapping[str, Provider],
    needs: RequestNeeds,
) -> dict[str, tuple[str, ...]]:
    """The members that cannot serve ``needs``, each with what it lacks, in member order."""
    out: dict[str, tuple[str, ...]] = {}
    for model_id in members:
        entry = entries[model_id]
        provider = providers.get(entry.provider_id)
        # A provider's features are ProviderFeature members (the registry checks each class).
        features = cast(Collection[ProviderFeature], provider.features if provider else frozenset())
        gaps = model_lacks(entry, features, needs)
        if gaps:
            out[model_id] = gaps
    return out


def skipped(gaps: Mapping[str, tuple[str, ...]]) -> list[NotTried]:
    """``lacking``'s answer as the models passed over, and why."""
    return [NotTried(model_id, "lacks " + ", ".join(what)) for model_id, what in gaps.items()]
