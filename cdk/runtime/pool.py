"""Pools: the models a request may go to, and the policy that picks among them."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import attrs

from ..types import CompletionRequest
from .capabilities import CapabilityTree
from .catalogue import ModelEntry
from .lifecycle import Lifecycle, Scope
from .settings import PoolSettings, RetrySettings

__all__ = ["Pool", "members_for"]


def members_for(
    settings: PoolSettings, entries: Mapping[str, ModelEntry], tree: CapabilityTree
) -> tuple[str, ...]:
    """The models a configured pool holds, in configuration order."""
    if settings.models is not None:
        chosen = [m for m in settings.models if m in entries]
    else:
        node = tree.resolve(settings.capability or "") or ""
        chosen = [
            model_id
            for model_id, entry in entries.items()
            if not entry.deprecated and any(tree.covers(node, c) for c in entry.capabilities)
        ]
    if settings.providers is not None:
        chosen = [m for m in chosen if entries[m].provider_id in settings.providers]
    return tuple(chosen)


@attrs.define
class Pool:
    """A set of models, a rotation policy over them, and how failover retries."""

    id: str
    scope: Scope
    retry: RetrySettings
    settings: PoolSettings | None = None  # None for the implicit pool of a capability or a model
    target: str | None = None

    @property
    def members(self) -> tuple[str, ...]:
        return self.scope.members

    @property
    def configured(self) -> bool:
        """True for a pool from the configuration, False for an implicit one."""
        return self.settings is not None

    def select(
        self, lifecycle: Lifecycle, request: CompletionRequest, exclude: Collection[str] = ()
    ) -> str | None:
        """Bring time-based state up to date, then let the policy pick an active member."""
        candidates = []
        for model_id in self.members:
            lifecycle.evaluate(model_id, self.scope)
            if model_id in exclude or not lifecycle.usable(model_id):
                continue
            candidates.append(lifecycle.snapshot(model_id, self.id))
        if not candidates:
            return None
        chosen = self.scope.policy.select(candidates, request, lifecycle.clock.now())
        if chosen is None:
            return None
        return chosen.model_id

    def with_members(self, members: Sequence[str]) -> Pool:
        """The same pool over another member list."""
        return attrs.evolve(self, scope=attrs.evolve(self.scope, members=tuple(members)))
