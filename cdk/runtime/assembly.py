"""The mesh's connectors: built from the plan (or handed in), started, and closed with the mesh."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Any

from ..clock import Clock
from ..config import resolve_secret_refs
from ..connector import Connector
from ..enums import ConnectorType, Severity
from ..errors import ConfigError
from ..events import EventEmitter
from ..interfaces.discovery import Discovery
from ..interfaces.observability import Observability
from ..interfaces.provider import Provider
from ..interfaces.rotation import RotationPolicy
from ..interfaces.secret_store import SecretStore
from ..interfaces.storage import Storage
from .catalogue import ModelEntry
from .plan import ConnectorSpec, Plan
from .telemetry import Tracer

__all__ = ["Assembly", "injected_types"]


def injected_types(
    *, providers: Mapping[str, Provider], storage: Storage | None, discovery: Discovery | None
) -> set[ConnectorType]:
    """The sections the caller handed connectors in for, which the plan need not build.

    TypeError for a "provider" that is not one, before the plan is checked against it.
    """
    for name, provider in providers.items():
        if not isinstance(provider, Provider):
            raise TypeError(f"providers[{name!r}]: expected a Provider, got {type(provider).__name__}")
    given = ((ConnectorType.STORAGE, storage), (ConnectorType.DISCOVERY, discovery))
    return {kind for kind, connector in given if connector is not None}


class Assembly:
    """Every connector of one mesh.

    A connector passed in belongs to the caller: it is started if need be and never closed
    here. A connector built from the plan is started, and closed when the mesh closes. The
    storage is the exception: the state sync starts it, so that one that does not answer
    degrades the mesh instead of stopping it.
    """

    def __init__(
        self,
        plan: Plan,
        clock: Clock,
        *,
        source: str | None,
        providers: Mapping[str, Provider],
        storage: Storage | None,
        observability: Sequence[Observability],
        discovery: Discovery | None,
        secret_store: SecretStore | None,
    ) -> None:
        self.plan = plan
        self.clock = clock
        self.source = source
        self._injected_providers = dict(providers)
        self.providers: dict[str, Provider] = dict(providers)
        self.storage = storage
        self.observability: list[Observability] = list(observability)
        self.discovery = discovery
        self.secret_store = secret_store

    async def start(self, stack: AsyncExitStack, events: EventEmitter) -> None:
        """Build and start what the plan names, start what was handed in, subscribe the sinks."""
        plan = self.plan
        # The plan resolved each name within its section's type, so each build is of that type.
        if self.secret_store is None:
            store = await self._build(plan.secret_store, stack, {})
            assert isinstance(store, SecretStore)
            self.secret_store = store
        else:
            await self._enter(self.secret_store, stack)
        configs = await self._prepare()
        if self.storage is None:  # started by the state sync, which meets an outage without failing
            storage = await self._build(plan.storage, stack, configs, start=False)
            assert isinstance(storage, Storage)
            self.storage = storage
        for spec in plan.observability:
            sink = await self._build(spec, stack, configs)
            assert isinstance(sink, Observability)
            self.observability.append(sink)
        for observer in self.observability:
            await self._enter(observer, stack)
            events.subscribe(observer)
        for injected in self._injected_providers.values():
            await self._enter(injected, stack)
        for name, spec in plan.providers.items():
            provider = await self._build(spec, stack, configs)
            assert isinstance(provider, Provider)
            self.providers[name] = provider
        if self.discovery is None and plan.discovery is not None:
            discovery = await self._build(plan.discovery, stack, configs)
            assert isinstance(discovery, Discovery)
            self.discovery = discovery
        elif self.discovery is not None:
            await self._enter(self.discovery, stack)

    def policy(self, spec: ConnectorSpec) -> RotationPolicy:
        """A new rotation policy from ``spec`` (each pool gets its own, with its own cursors)."""
        config = spec.cls.build_config(spec.data, path=spec.path)
        policy = spec.cls(config, name=spec.name, clock=self.clock)
        assert isinstance(policy, RotationPolicy)
        return policy

    async def fill_pricing(self, entries: Mapping[str, ModelEntry], trace: Tracer) -> None:
        """Ask each provider the price of its models that the configuration does not price."""
        for entry in entries.values():
            if entry.pricing is not None:
                continue
            provider = self.providers.get(entry.provider_id)
            if provider is None:
                continue
            try:
                entry.pricing = await provider.pricing(entry.upstream)
            except Exception as exc:  # pricing is a nicety; routing works without it
                trace(
                    Severity.WARNING,
                    f"could not read the pricing of {entry.model_id}: {type(exc).__name__}: {exc}",
                    {"model_id": entry.model_id},
                )

    async def _enter(self, connector: Connector, stack: AsyncExitStack) -> None:
        if not connector.started:
            await connector.start()
        if isinstance(connector, Observability):
            stack.push_async_callback(connector.flush)

    async def _prepare(self) -> dict[str, Any]:
        """The config of every connector still to build, its secret references resolved.

        Done for all of them before any is built, so that every missing secret and every
        config a resolved secret makes wrong, whichever connector it belongs to, is reported in
        one ConfigError at the key that referenced it.
        """
        plan = self.plan
        specs = [
            *([plan.storage] if self.storage is None else []),
            *plan.observability,
            *plan.providers.values(),
            *([plan.discovery] if self.discovery is None and plan.discovery is not None else []),
        ]
        store = self.secret_store
        assert store is not None
        configs: dict[str, Any] = {}
        problems: list[str] = []
        for spec in specs:
            try:
                data = await resolve_secret_refs(spec.data, store.get, path=spec.path)
                configs[spec.path] = spec.cls.build_config(data, path=spec.path)
            except ConfigError as exc:
                problems.extend(exc.problems)
        if problems:
            raise ConfigError(problems, source=self.source)
        return configs

    async def _build(
        self, spec: ConnectorSpec, stack: AsyncExitStack, configs: Mapping[str, Any], *, start: bool = True
    ) -> Connector:
        config = configs.get(spec.path)
        if config is None:
            config = spec.cls.build_config(spec.data, path=spec.path)
        connector = spec.cls(config, name=spec.name, clock=self.clock)
        if start:
            await connector.start()
        stack.push_async_callback(connector.aclose)
        return connector
