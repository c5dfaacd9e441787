"""The discovery interface: catalogue sync and provider health."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar, Protocol

import attrs

from ..connector import ConfigT, Connector
from ..enums import ConnectorType
from ..types import HealthReport, ModelChange, ModelInfo, ProbeResult, SyncResult

if TYPE_CHECKING:
    from .provider import Provider

__all__ = ["Discovery", "DiscoveryContext", "StaticContext", "diff_catalogue"]

INTERFACE_VERSION = 1


class DiscoveryContext(Protocol):
    """What a discovery connector is attached to: the providers and the catalogue."""

    @property
    def providers(self) -> Mapping[str, Provider]:
        """Provider instances by provider id."""
        ...

    def catalogue(self) -> Mapping[str, ModelInfo]:
        """Known models by model id (``<provider>.<name>``)."""
        ...


@attrs.define
class StaticContext:
    """A DiscoveryContext over fixed mappings (tests, tools)."""

    providers: Mapping[str, Provider] = attrs.field(factory=dict)
    models: dict[str, ModelInfo] = attrs.field(factory=dict)

    def catalogue(self) -> Mapping[str, ModelInfo]:
        """The fixed ``models`` mapping."""
        return self.models


class Discovery(Connector[ConfigT]):
    """Keeps the catalogue in step with the providers and watches their health.

    The runtime calls ``attach`` once, then schedules ``sync`` and ``health``. Provider
    failures are reported in the results, never raised.
    """

    connector_type: ClassVar[ConnectorType] = ConnectorType.DISCOVERY
    interface_version: ClassVar[int] = INTERFACE_VERSION

    _context: DiscoveryContext | None = None

    def attach(self, context: DiscoveryContext) -> None:
        """Give the connector the providers and catalogue it works on."""
        self._context = context

    @property
    def context(self) -> DiscoveryContext:
        """The attached context; an empty one until ``attach`` is called."""
        if self._context is None:
            self._context = StaticContext()
        return self._context

    @abstractmethod
    async def sync(self, provider_ids: Sequence[str] | None = None) -> SyncResult:
        """Compare the providers' models (all, or those named) with the catalogue."""

    @abstractmethod
    async def probe(self, provider_id: str) -> ProbeResult:
        """Check one provider now."""

    @abstractmethod
    async def health(self, provider_id: str | None = None) -> list[HealthReport]:
        """The health of one provider, or of every provider."""


def diff_catalogue(
    provider_id: str, found: Sequence[ModelInfo], catalogue: Mapping[str, ModelInfo]
) -> tuple[list[ModelInfo], list[ModelInfo], list[ModelChange]]:
    """New, deprecated and changed models of one provider, by model id ``provider.name``.

    A model is deprecated when the provider marks it so, or when the catalogue has it
    and the provider no longer lists it.
    """
    known = {mid: info for mid, info in catalogue.items() if info.provider_id == provider_id}
    new: list[ModelInfo] = []
    deprecated: list[ModelInfo] = []
    changed: list[ModelChange] = []
    seen: set[str] = set()
    for info in found:
        model_id = info.id if info.id.startswith(f"{provider_id}.") else f"{provider_id}.{info.id}"
        info = attrs.evolve(info, id=model_id, provider_id=provider_id)
        seen.add(model_id)
        before = known.get(model_id)
        if info.deprecated:
            if before is None or not before.deprecated:
                deprecated.append(info)
        elif before is None:
            new.append(info)
        elif _describes_differently(before, info):
            changed.append(ModelChange(model_id=model_id, before=before, after=info))
    for model_id, info in sorted(known.items()):
        if model_id not in seen and not info.deprecated:
            deprecated.append(attrs.evolve(info, deprecated=True))
    return new, deprecated, changed


def _describes_differently(a: ModelInfo, b: ModelInfo) -> bool:
    fields = ("context_window", "max_output_tokens", "pricing")
    if any(getattr(a, f) != getattr(b, f) and getattr(b, f) is not None for f in fields):
        return True
    return bool(b.capabilities) and set(a.capabilities) != set(b.capabilities)
