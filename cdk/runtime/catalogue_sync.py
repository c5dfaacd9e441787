"""Applying a discovery connector's catalogue sync: register new models, retire deprecated ones.

:class:`CatalogueSync` is also what a discovery connector is attached to (its
``DiscoveryContext``): the providers, and the catalogue as the connector compares it.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ..enums import DeactivationReason, DeprecationAction, EventType, SyncAction
from ..events import RoutingEvent
from ..interfaces.discovery import Discovery
from ..interfaces.provider import Provider
from ..types import ModelInfo, SyncResult
from .capabilities import CapabilityTree
from .catalogue import ModelEntry
from .lifecycle import Lifecycle
from .settings import DEFAULT_CAPABILITY, SyncSettings
from .state_sync import StateSync
from .targets import Targets
from .telemetry import Telemetry

__all__ = ["CatalogueSync"]


class CatalogueSync:
    """Takes a :class:`~meshkit.types.SyncResult` into the catalogue, as ``discovery.sync`` says."""

    def __init__(
        self,
        entries: dict[str, ModelEntry],
        providers: Mapping[str, Provider],
        discovery: Discovery | None,
        settings: SyncSettings,
        *,
        tree: CapabilityTree,
        lifecycle: Lifecycle,
        targets: Targets,
        sync: StateSync,
        telemetry: Telemetry,
    ) -> None:
        self.entries = entries
        self._providers = providers
        self.discovery = discovery
        self.settings = settings
        self.sync = sync
        self.tree = tree
        self.lifecycle = lifecycle
        self.targets = targets
        self.telemetry = telemetry
        if discovery is not None:
            discovery.attach(self)

    async def run(self) -> SyncResult:
        """Run the discovery connector's sync now, apply its result and write what changed."""
        if self.discovery is None:
            raise RuntimeError("no discovery connector is configured")
        result = await self.discovery.sync(sorted(self._providers))
        self.apply(result)
        await self.sync.after_change()
        return result

    # --- DiscoveryContext -----------------------------------------------------------------

    @property
    def providers(self) -> Mapping[str, Provider]:
        """Provider instances by provider id."""
        return self._providers

    def catalogue(self) -> Mapping[str, ModelInfo]:
        """Known models keyed ``<provider>.<upstream name>``, as discovery connectors compare them."""
        out = {}
        for entry in self.entries.values():
            key = f"{entry.provider_id}.{entry.upstream}"
            out[key] = attrs.evolve(entry.info(), id=key)
        return out

    # --- applying a result -------------------------------------------------------------------

    def apply(self, result: SyncResult) -> None:
        """Register or retire models as configured, refresh pools, emit DISCOVERY_MODELS_UPDATED."""
        if result.is_empty:
            return
        sync = self.settings
        by_key = {f"{e.provider_id}.{e.upstream}": mid for mid, e in self.entries.items()}
        registered = self._register(result, by_key) if sync.on_new_model is SyncAction.REGISTER else []
        deactivated: list[str] = []
        for info in result.deprecated_models:
            model_id = by_key.get(info.id, info.id if info.id in self.entries else None)
            if model_id is None:
                continue
            if sync.on_deprecated_model is DeprecationAction.DEACTIVATE:
                self.entries[model_id].deprecated = True
                if self.lifecycle.deactivate(
                    model_id, DeactivationReason.MANUAL, detail="deprecated by the provider"
                ):
                    deactivated.append(model_id)
        if registered or deactivated:
            self.targets.refresh()
        noticed = (
            (result.new_models and sync.on_new_model is not SyncAction.IGNORE)
            or (result.deprecated_models and sync.on_deprecated_model is not DeprecationAction.IGNORE)
            or result.changed_models
            or result.errors
        )
        if not noticed:
            return
        self.telemetry.emit(
            RoutingEvent(
                event_type=EventType.DISCOVERY_MODELS_UPDATED,
                timestamp=self.lifecycle.clock.now(),
                metadata={
                    "new": [m.id for m in result.new_models],
                    "deprecated": [m.id for m in result.deprecated_models],
                    "changed": [c.model_id for c in result.changed_models],
                    "errors": dict(result.errors),
                    "on_new_model": sync.on_new_model.value,
                    "on_deprecated_model": sync.on_deprecated_model.value,
                    "registered": registered,
                    "deactivated": deactivated,
                },
            )
        )

    def _register(self, result: SyncResult, by_key: Mapping[str, str]) -> list[str]:
        registered = []
        for info in result.new_models:
            provider_id = info.provider_id
            if info.id in by_key or info.id in self.entries or provider_id not in self._providers:
                continue
            assert provider_id is not None  # every configured provider has an id
            upstream = info.id[len(provider_id) + 1 :] if info.id.startswith(f"{provider_id}.") else info.id
            leaves = tuple(leaf for leaf in (self._leaf(c) for c in info.capabilities) if leaf is not None)
            entry = ModelEntry(
                model_id=info.id,
                provider_id=provider_id,
                upstream=upstream,
                capabilities=leaves or (DEFAULT_CAPABILITY,),
                pricing=info.pricing,
                context_window=info.context_window,
            )
            self.entries[info.id] = entry
            self.lifecycle.ensure(entry)
            registered.append(info.id)
        return registered

    def _leaf(self, capability: str) -> str | None:
        try:
            node = self.tree.resolve(capability)
        except ValueError:
            return None
        return node if node is not None and self.tree.is_leaf(node) else None
