"""The Mesh: what an application uses to route requests to models.

::

    async with Mesh.from_config("mesh.yaml") as mesh:
        reply = await mesh.complete(model="chat", messages=[{"role": "user", "content": "hi"}])
"""

from __future__ import annotations

import copy
import difflib
import logging
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, aclosing
from datetime import timedelta
from types import TracebackType
from typing import Any, Self

import anyio
import anyio.abc
import attrs

from ..clock import Clock, SystemClock
from ..config import resolve_secret_refs
from ..connector import Connector
from ..enums import (
    ConnectorType,
    DeactivationReason,
    DeprecationAction,
    DiscoveryFeature,
    EventType,
    LogLevel,
    ModelStatus,
    RecoveryTrigger,
    Severity,
    SyncAction,
    SyncPolicy,
)
from ..errors import ConfigError, SecretError, UnknownTargetError
from ..events import EventEmitter, RoutingEvent
from ..interfaces.discovery import Discovery
from ..interfaces.observability import Observability
from ..interfaces.provider import Provider
from ..interfaces.rotation import RotationPolicy
from ..interfaces.secret_store import SecretStore
from ..interfaces.storage import Storage
from ..plugins import ConnectorRegistry, get_registry
from ..types import (
    ChatMessage,
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    ModelInfo,
    ProbeResult,
    RequestLogEntry,
    SyncResult,
    TraceEntry,
)
from .catalogue import ModelEntry
from .lifecycle import Lifecycle, Scope
from .persistence import StatePersistence
from .plan import ConnectorSpec, Plan, load_config_file, make_plan
from .pool import Pool, members_for
from .router import Router
from .scheduler import Scheduler
from .settings import DEFAULT_CAPABILITY, MeshSettings
from .state import MeshState, ModelState, counter_fields

__all__ = ["Mesh", "Selection"]

logger = logging.getLogger("meshkit.mesh")

_REQUEST_FIELDS = frozenset(
    {
        "max_tokens",
        "temperature",
        "top_p",
        "stop",
        "tools",
        "tool_choice",
        "response_format",
        "session_id",
        "timeout",
    }
)


_COUNTERS = counter_fields(ModelState)


def _reported(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 10)  # sums of prices: no float noise in the report
    return dict(value) if isinstance(value, dict) else value


def _detached(policy: RotationPolicy) -> RotationPolicy:
    """A copy of ``policy`` whose cursors can move without moving the original's."""
    dup = copy.copy(policy)
    for name, value in vars(policy).items():
        if name in ("clock", "config"):
            continue
        try:
            setattr(dup, name, copy.deepcopy(value))
        except Exception:  # an attribute that cannot be copied is shared; selection only reads most
            pass
    return dup


@attrs.frozen(kw_only=True)
class Selection:
    """What ``mesh.select`` found: where a request would go, without calling anyone."""

    target: str
    pool_id: str
    model_id: str | None
    provider_id: str | None
    upstream: str | None
    candidates: tuple[str, ...]


class Mesh:
    """Routes requests to models by pool, capability or model id, with failover.

    Build it from a configuration (``Mesh.from_config(path_or_dict)``) or pass
    connector instances directly; start it with ``async with``.
    """

    def __init__(
        self,
        config: Mapping[str, Any] | MeshSettings | None = None,
        *,
        clock: Clock | None = None,
        registry: ConnectorRegistry | None = None,
        providers: Mapping[str, Provider] | None = None,
        storage: Storage | None = None,
        observability: Sequence[Observability] = (),
        discovery: Discovery | None = None,
        secret_store: SecretStore | None = None,
        source: str | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.registry = registry or get_registry()
        injected: set[ConnectorType] = set()
        if storage is not None:
            injected.add(ConnectorType.STORAGE)
        if discovery is not None:
            injected.add(ConnectorType.DISCOVERY)
        self._injected_providers = dict(providers or {})
        for name, provider in self._injected_providers.items():
            if not isinstance(provider, Provider):
                raise TypeError(f"providers[{name!r}]: expected a Provider, got {type(provider).__name__}")
        self.plan: Plan = make_plan(
            config if config is not None else {},
            self.registry,
            injected_providers=self._injected_providers,
            injected=injected,
            source=source,
        )
        self.settings: MeshSettings = self.plan.settings
        self.source = source
        self.tree = self.plan.tree
        self.entries: dict[str, ModelEntry] = {k: attrs.evolve(v) for k, v in self.plan.entries.items()}
        self.events = EventEmitter(self.settings.observability.routing.events)
        self.providers: dict[str, Provider] = dict(self._injected_providers)
        self.storage: Storage | None = storage
        self.discovery: Discovery | None = discovery
        self.secret_store: SecretStore | None = secret_store
        self.observability: list[Observability] = list(observability)
        self.state = MeshState()
        self.pools: dict[str, Pool] = {}
        self._implicit: dict[str, Pool] = {}
        self._stack: AsyncExitStack | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self._persistence: StatePersistence | None = None
        self.scheduler = Scheduler(self.clock, self._trace)
        self._started = False
        self._closed = False
        self._lifecycle: Lifecycle | None = None
        self._router: Router | None = None

    # --- construction ------------------------------------------------------------

    @classmethod
    def from_config(
        cls, config: str | os.PathLike[str] | Mapping[str, Any] | MeshSettings, **kwargs: Any
    ) -> Mesh:
        """A mesh from a YAML file path or a dict; ConfigError before anything starts."""
        if isinstance(config, str | os.PathLike):
            kwargs.setdefault("source", str(config))
            return cls(load_config_file(config), **kwargs)
        return cls(config, **kwargs)

    @classmethod
    def from_env(cls, **kwargs: Any) -> Mesh:
        """A mesh of the providers whose API keys are set in the environment.

        ``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, ``GROQ_API_KEY`` and the others listed in
        ``meshkit.runtime.environment`` each add a provider with a default model; all of them
        serve one ``chat`` pool. ConfigError naming the variables when none is set.
        """
        from .environment import SOURCE, config_from_env

        kwargs.setdefault("source", SOURCE)
        return cls(config_from_env(os.environ), **kwargs)

    # --- lifecycle -----------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @property
    def started(self) -> bool:
        """True between ``start()`` and ``aclose()``."""
        return self._started and not self._closed

    async def start(self) -> None:
        """Resolve secrets, start every connector, load state, schedule background jobs."""
        if self._closed:
            raise RuntimeError("this mesh is closed; build a new one")
        if self._started:
            return
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            await self._start(stack)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await stack.aclose()
            raise
        self._stack = stack
        # The jobs' task group is entered last and left first, outside any other scope.
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        self.scheduler.attach(group)
        self._started = True
        await self._schedule()

    async def _start(self, stack: AsyncExitStack) -> None:
        plan = self.plan
        if self.secret_store is None:
            self.secret_store = await self._build(plan.secret_store, stack, resolve=False)  # type: ignore[assignment]
        else:
            await self._enter(self.secret_store, stack)
        if self.storage is None:
            self.storage = await self._build(plan.storage, stack)  # type: ignore[assignment]
        else:
            await self._enter(self.storage, stack)
        for spec in plan.observability:
            self.observability.append(await self._build(spec, stack))  # type: ignore[arg-type]
        for observer in self.observability:
            await self._enter(observer, stack)
            self.events.subscribe(observer)
        for provider in self._injected_providers.values():
            await self._enter(provider, stack)
        for name, spec in plan.providers.items():
            self.providers[name] = await self._build(spec, stack)  # type: ignore[assignment]
        if self.discovery is None and plan.discovery is not None:
            self.discovery = await self._build(plan.discovery, stack)  # type: ignore[assignment]
        elif self.discovery is not None:
            await self._enter(self.discovery, stack)
        if self.discovery is not None:
            self.discovery.attach(self)
        await self._fill_pricing()

        default_policy = self._policy(plan.default_rotation)
        self._lifecycle = Lifecycle(
            state=self.state,
            entries=self.entries,
            provider_budgets={pid: ps.budget for pid, ps in self.settings.providers.items()},
            clock=self.clock,
            events=self.events,
            trace=self._trace,
            error_window=self.settings.routing.error_window,
            default_policy=default_policy,
        )
        for entry in self.entries.values():
            self._lifecycle.ensure(entry)
        for pool_id, pool_settings in self.settings.pools.items():
            scope = Scope(
                pool_id,
                self._policy(plan.rotations[pool_id]),
                pool_settings.budget,
                members_for(pool_settings, self.entries, self.tree),
            )
            self.pools[pool_id] = Pool(pool_id, scope, pool_settings.retry, pool_settings, target=pool_id)
        self._lifecycle.set_pools(p.scope for p in self.pools.values())
        self._router = Router(
            lifecycle=self._lifecycle,
            providers=self.providers,
            entries=self.entries,
            clock=self.clock,
            events=self.events,
            log=self._log,
            trace=self._trace,
            after_change=self._after_change,
            wants_payloads=lambda: self.settings.observability.logging.level is LogLevel.FULL,
            before_route=self._before_route,
        )

        storage_settings = self.settings.storage
        assert self.storage is not None
        self._persistence = StatePersistence(
            self.storage,
            key=storage_settings.key,
            fmt=storage_settings.format,
            clock=self.clock,
            trace=self._trace,
        )
        if storage_settings.sync_policy is not SyncPolicy.IN_MEMORY:
            await self._persistence.load_into(self.state)
        if self.settings.startup_probe:
            await self._startup_probe()

    async def _enter(self, connector: Connector, stack: AsyncExitStack) -> None:
        # A connector passed in belongs to the caller: started if need be, never closed here.
        if not connector.started:
            await connector.start()
        if isinstance(connector, Observability):
            stack.push_async_callback(connector.flush)

    async def _build(self, spec: ConnectorSpec, stack: AsyncExitStack, *, resolve: bool = True) -> Connector:
        data: Any = spec.data
        if resolve and self.secret_store is not None:
            store = self.secret_store
            try:
                data = await resolve_secret_refs(data, store.get)
            except SecretError as exc:
                raise ConfigError(f"{spec.path}: {exc}", source=self.source) from None
        config = spec.cls.build_config(data, path=spec.path)
        connector = spec.cls(config, name=spec.name, clock=self.clock)
        await connector.start()
        stack.push_async_callback(connector.aclose)
        return connector

    def _policy(self, spec: ConnectorSpec) -> RotationPolicy:
        config = spec.cls.build_config(spec.data, path=spec.path)
        policy = spec.cls(config, name=spec.name, clock=self.clock)
        assert isinstance(policy, RotationPolicy)
        return policy

    async def _fill_pricing(self) -> None:
        for entry in self.entries.values():
            if entry.pricing is not None:
                continue
            provider = self.providers.get(entry.provider_id)
            if provider is None:
                continue
            try:
                entry.pricing = await provider.pricing(entry.upstream)
            except Exception as exc:  # pricing is a nicety; routing works without it
                self._trace(
                    Severity.WARNING,
                    f"could not read the pricing of {entry.model_id}: {type(exc).__name__}: {exc}",
                    {"model_id": entry.model_id},
                )

    async def _schedule(self) -> None:
        settings = self.settings
        await self.scheduler.every("lifecycle", settings.routing.check_interval.total_seconds(), self.check)
        if settings.storage.sync_policy is SyncPolicy.PERIODIC:
            await self.scheduler.every(
                "state-sync", settings.storage.sync_interval.total_seconds(), self._save_job
            )
        await self.scheduler.every("health", self._health_interval().total_seconds(), self._health_job)
        report_every = settings.observability.report_interval.total_seconds()
        if report_every > 0:
            await self.scheduler.every("report", report_every, self._report_job)
        if (
            self.discovery is not None
            and settings.discovery.sync.interval is not None
            and (not self.discovery.features or DiscoveryFeature.SYNC in self.discovery.features)
        ):
            await self.scheduler.every(
                "discovery-sync", settings.discovery.sync.interval.total_seconds(), self._sync_job
            )

    def _health_interval(self) -> timedelta:
        configured = self.settings.discovery.health.interval
        if configured is not None:
            return configured
        from_connector = getattr(getattr(self.discovery, "config", None), "interval", None)
        if isinstance(from_connector, timedelta) and from_connector > timedelta(0):
            return from_connector
        return timedelta(seconds=60)

    async def aclose(self) -> None:
        """Stop background jobs, save state as the sync policy says, close every connector."""
        if self._closed:
            return
        self._closed = True
        group, self._group = self._group, None
        if group is not None:
            group.cancel_scope.cancel()
            await group.__aexit__(None, None, None)
        stack, self._stack = self._stack, None
        if stack is None:
            return
        with anyio.CancelScope(shield=True):
            try:
                if self.settings.storage.sync_policy is not SyncPolicy.IN_MEMORY:
                    await self.save_state()
            finally:
                try:
                    self.report()  # the final numbers, before the sinks flush and close
                finally:
                    await stack.aclose()

    # --- the application API -----------------------------------------------------------

    async def complete(
        self,
        model: str,
        messages: Sequence[ChatMessage | Mapping[str, Any]],
        *,
        deadline: float | timedelta | None = None,
        **params: Any,
    ) -> CompletionResponse:
        """Route one chat completion; ``model`` names a pool, a capability or a model id."""
        pool, request, limit = self._prepare(model, messages, deadline, params)
        return await self._require_router().complete(pool, request, deadline=limit)

    async def stream(
        self,
        model: str,
        messages: Sequence[ChatMessage | Mapping[str, Any]],
        *,
        deadline: float | timedelta | None = None,
        **params: Any,
    ) -> AsyncIterator[CompletionChunk]:
        """Route one streamed completion; failover happens only before the first chunk."""
        pool, request, limit = self._prepare(model, messages, deadline, params)
        async with aclosing(self._require_router().stream(pool, request, deadline=limit)) as chunks:
            async for chunk in chunks:
                yield chunk

    def select(
        self, model: str, messages: Sequence[ChatMessage | Mapping[str, Any]] = (), **params: Any
    ) -> Selection:
        """Where a request would go now, without calling any provider (a dry run)."""
        pool, request, _ = self._prepare(model, messages or [{"role": "user", "content": ""}], None, params)
        lifecycle = self._require_lifecycle()
        # A copy of the policy answers, so a dry run does not move a round-robin cursor.
        probe = attrs.evolve(pool, scope=attrs.evolve(pool.scope, policy=_detached(pool.scope.policy)))
        chosen = probe.select(lifecycle, request)
        entry = self.entries.get(chosen) if chosen else None
        return Selection(
            target=model,
            pool_id=pool.id,
            model_id=chosen,
            provider_id=entry.provider_id if entry else None,
            upstream=entry.upstream if entry else None,
            candidates=tuple(m for m in pool.members if lifecycle.usable(m)),
        )

    async def deactivate(
        self,
        model: str,
        reason: DeactivationReason = DeactivationReason.MANUAL,
        *,
        cooldown: float | timedelta | None = None,
        detail: str | None = None,
    ) -> bool:
        """Put a model in standby by hand; False when it already was."""
        lifecycle = self._require_lifecycle()
        self._model(model)
        wait = timedelta(seconds=cooldown) if isinstance(cooldown, int | float) else cooldown
        changed = lifecycle.deactivate(model, DeactivationReason(reason), cooldown=wait, detail=detail)
        await self._after_change()
        return changed

    async def activate(self, model: str) -> bool:
        """Bring a model back by hand (trigger MANUAL); False when it was active."""
        lifecycle = self._require_lifecycle()
        self._model(model)
        changed = lifecycle.activate(model, RecoveryTrigger.MANUAL)
        await self._after_change()
        return changed

    async def activate_provider(self, provider: str) -> bool:
        """Bring a provider set aside (after an authentication failure) back by hand."""
        lifecycle = self._require_lifecycle()
        if provider not in self.providers:
            raise UnknownTargetError(f"no provider named {provider!r}")
        changed = lifecycle.recover_provider(provider, RecoveryTrigger.MANUAL)
        await self._after_change()
        return changed

    async def probe(
        self, provider: str, *, trigger: RecoveryTrigger = RecoveryTrigger.PROBE_SUCCESS
    ) -> ProbeResult:
        """Probe a provider now and apply the result (recovery on success)."""
        self._require_lifecycle()
        if provider not in self.providers:
            raise UnknownTargetError(f"no provider named {provider!r}")
        result = await self._probe(provider)
        await self._apply_probe(provider, result, trigger)
        await self._after_change()
        return result

    async def check(self) -> None:
        """Apply time-based rules to every model now (the background job does this regularly)."""
        lifecycle = self._require_lifecycle()
        for model_id in list(self.entries):
            lifecycle.evaluate(model_id)
        await self._after_change()

    async def sync(self) -> SyncResult:
        """Run the discovery connector's catalogue sync now and apply its result."""
        if self.discovery is None:
            raise RuntimeError("no discovery connector is configured")
        result = await self.discovery.sync(sorted(self.providers))
        self._apply_sync(result)
        await self._after_change()
        return result

    async def save_state(self) -> bool:
        """Write the state to storage now (if it changed since the last write)."""
        if self._persistence is None:
            return False
        return await self._persistence.save(self.state)

    def report(self) -> None:
        """Hand ``status()`` to every observability connector's ``report`` now."""
        if self._lifecycle is None:
            return
        stats = self._status(self._lifecycle)
        for sink in self._sinks():
            try:
                sink.report(stats)
            except Exception:
                logger.exception("observability connector %s failed on a stats report", sink.name)

    async def _report_job(self) -> None:
        self.report()

    def status(self) -> dict[str, Any]:
        """Pools → models → status, reason, counters, cooldown; and provider status."""
        return self._status(self._require_lifecycle())

    def _status(self, lifecycle: Lifecycle) -> dict[str, Any]:
        models = {mid: self._model_status(mid) for mid in self.entries}
        pools: dict[str, Any] = {}
        for pool_id, pool in self.pools.items():
            settings = pool.settings
            budget = None
            if pool.scope.budget is not None:
                ledger = self.state.ledgers.get(f"pool:{pool_id}")
                budget = {
                    "daily": pool.scope.budget.daily,
                    "monthly": pool.scope.budget.monthly,
                    "spent_today": ledger.daily_cost if ledger else 0.0,
                    "spent_this_month": ledger.monthly_cost if ledger else 0.0,
                }
            pools[pool_id] = {
                "capability": settings.capability if settings else None,
                "rotation": pool.scope.policy.connector_id,
                "active": sum(1 for m in pool.members if lifecycle.usable(m)),
                "size": len(pool.members),
                "budget": budget,
                "models": {m: models[m] for m in pool.members},
            }
        providers = {}
        for pid, provider in sorted(self.providers.items()):
            pstate = self.state.providers.get(pid)
            providers[pid] = {
                "connector": provider.connector_id,
                "status": "deactivated" if pstate is not None and pstate.deactivated else "active",
                "reason": pstate.reason if pstate else None,
                "available": pstate.available if pstate else None,
            }
        return {
            "time": self.clock.now().isoformat(),
            "pools": pools,
            "models": models,
            "providers": providers,
        }

    def _model_status(self, model_id: str) -> dict[str, Any]:
        model = self.state.models[model_id]
        pstate = self.state.providers.get(model.provider_id)
        provider_down = pstate is not None and pstate.deactivated
        status = ModelStatus.STANDBY if provider_down else model.status
        return {
            "status": status.value,
            "reason": model.reason.value
            if model.reason
            else ("provider_deactivated" if provider_down else None),
            "detail": model.detail,
            "provider": model.provider_id,
            "cooldown_until": model.cooldown_until.isoformat() if model.cooldown_until else None,
            "resets_at": model.resets_at.isoformat() if model.resets_at else None,
            "counters": {name: _reported(getattr(model, name)) for name in _COUNTERS},
            "latency_ewma_ms": model.latency_ewma_ms,
            "spent_today": model.usage.daily_cost,
            "spent_this_month": model.usage.monthly_cost,
        }

    # --- DiscoveryContext -----------------------------------------------------------------

    def catalogue(self) -> Mapping[str, ModelInfo]:
        """Known models keyed ``<provider>.<upstream name>``, as discovery connectors compare them."""
        out = {}
        for entry in self.entries.values():
            info = entry.info()
            key = f"{entry.provider_id}.{entry.upstream}"
            out[key] = attrs.evolve(info, id=key)
        return out

    # --- targets ----------------------------------------------------------------------------

    def resolve(self, target: str) -> Pool:
        """The pool a request for ``target`` goes through (configured or implicit)."""
        if not isinstance(target, str) or not target:
            raise UnknownTargetError(
                f"a request needs a target: a pool, a capability or a model id, got {target!r}"
            )
        pool = self.pools.get(target) or self._implicit.get(target)
        if pool is not None:
            return pool
        lifecycle = self._require_lifecycle()
        if target in self.entries:
            members: tuple[str, ...] = (target,)
            pool_id = target
        else:
            try:
                node = self.tree.resolve(target)
            except ValueError as exc:
                raise UnknownTargetError(str(exc)) from None
            if node is None:
                names = [*self.pools, *self.entries, *self.tree, *(n.rsplit(".", 1)[-1] for n in self.tree)]
                close = difflib.get_close_matches(target, sorted(set(names)), n=3, cutoff=0.6)
                hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                raise UnknownTargetError(f"no pool, model or capability named {target!r}{hint}")
            pool_id = node
            members = tuple(
                m
                for m, e in self.entries.items()
                if not e.deprecated and any(self.tree.covers(node, c) for c in e.capabilities)
            )
        scope = Scope(pool_id, self._policy(self.plan.default_rotation), None, members)
        pool = Pool(pool_id, scope, self.settings.routing.retry, None, target=target)
        for model_id in members:
            lifecycle.ensure(self.entries[model_id])
        self._implicit[target] = pool
        return pool

    def _prepare(
        self,
        target: str,
        messages: Sequence[ChatMessage | Mapping[str, Any]],
        deadline: float | timedelta | None,
        params: Mapping[str, Any],
    ) -> tuple[Pool, CompletionRequest, float | None]:
        self._require_router()
        pool = self.resolve(target)
        known = {k: v for k, v in params.items() if k in _REQUEST_FIELDS}
        extra = {k: v for k, v in params.items() if k not in _REQUEST_FIELDS}
        if not messages:
            raise ValueError("a request needs at least one message")
        request = CompletionRequest(messages=messages, extra=extra, **known)
        limit = deadline.total_seconds() if isinstance(deadline, timedelta) else deadline
        return pool, request, limit

    def _model(self, model_id: str) -> ModelEntry:
        entry = self.entries.get(model_id)
        if entry is None:
            close = difflib.get_close_matches(model_id, sorted(self.entries), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownTargetError(f"no model named {model_id!r}{hint}")
        return entry

    def _require_router(self) -> Router:
        if self._router is None or self._closed:
            raise RuntimeError("the mesh is not running; use `async with mesh:` or `await mesh.start()`")
        return self._router

    def _require_lifecycle(self) -> Lifecycle:
        if self._lifecycle is None or self._closed:
            raise RuntimeError("the mesh is not running; use `async with mesh:` or `await mesh.start()`")
        return self._lifecycle

    # --- background work -----------------------------------------------------------------------

    async def _after_change(self) -> None:
        persistence = self._persistence
        if self.settings.storage.sync_policy is not SyncPolicy.IMMEDIATE or persistence is None:
            return
        await persistence.save(self.state)
        if persistence.take_news() and self._lifecycle is not None:
            # Other processes' counts came in with the write: a shared cap or budget may be spent now.
            for model_id in list(self.entries):
                self._lifecycle.evaluate(model_id)
            if self.state.dirty:
                await persistence.save(self.state)

    async def _probe(self, provider_id: str) -> ProbeResult:
        if self.discovery is not None:
            return await self.discovery.probe(provider_id)
        return await self.providers[provider_id].probe()

    async def _startup_probe(self) -> None:
        for provider_id in sorted(self.providers):
            pstate = self.state.providers.get(provider_id)
            waiting = any(
                m.provider_id == provider_id and m.status is ModelStatus.STANDBY
                for m in self.state.models.values()
            )
            if not waiting and not (pstate is not None and pstate.deactivated):
                continue
            result = await self._probe(provider_id)
            await self._apply_probe(provider_id, result, RecoveryTrigger.STARTUP_PROBE)

    async def _health_job(self) -> None:
        lifecycle = self._require_lifecycle()
        for provider_id in sorted(self.providers):
            if self.discovery is None and not self._needs_probe(provider_id):
                continue  # without a discovery connector, only providers waiting to recover are probed
            try:
                result = await self._probe(provider_id)
            except Exception as exc:
                lifecycle.set_health(provider_id, False, {"error": f"{type(exc).__name__}: {exc}"})
                continue
            await self._apply_probe(provider_id, result, RecoveryTrigger.PROBE_SUCCESS)
        await self._after_change()

    async def _apply_probe(self, provider_id: str, result: ProbeResult, trigger: RecoveryTrigger) -> None:
        """Act on a probe: the discovery connector's verdict decides, else the probe's own ``ok``.

        A connector with thresholds (health-monitor) keeps a provider available through a few
        lost probes; when it calls the provider unavailable, the provider is set aside
        (reason ``unavailable``) until it is available again and a probe passes.
        """
        lifecycle = self._require_lifecycle()
        verdict = await self._health_verdict(provider_id)
        available = result.ok if verdict is None else verdict
        if available and result.ok:
            lifecycle.probe_succeeded(provider_id, trigger)
            return
        failure = {"error": result.error, "status_code": result.status_code}
        lifecycle.set_health(provider_id, available, {} if available else failure)
        if verdict is False:
            lifecycle.deactivate_provider(provider_id, result.error, reason="unavailable")

    async def _health_verdict(self, provider_id: str) -> bool | None:
        """``available`` from the discovery connector's health report; None when it reports nothing."""
        if self.discovery is None:
            return None
        try:
            reports = await self.discovery.health(provider_id)
        except Exception as exc:  # a connector that cannot say leaves the probe to decide
            self._trace(
                Severity.WARNING,
                f"discovery health report for {provider_id} failed: {type(exc).__name__}: {exc}",
                {"provider_id": provider_id},
            )
            return None
        for report in reports:
            if report.provider_id == provider_id:
                return bool(report.available)
        return None

    def _needs_probe(self, provider_id: str) -> bool:
        pstate = self.state.providers.get(provider_id)
        if pstate is not None and pstate.deactivated:
            return True
        return any(
            m.provider_id == provider_id and m.reason is DeactivationReason.ERROR_THRESHOLD
            for m in self.state.models.values()
        )

    async def _save_job(self) -> None:
        if self._persistence is not None:
            await self._persistence.sync(self.state)

    async def _before_route(self) -> None:
        # Under `immediate`, a status another process wrote is taken in before selecting.
        if self.settings.storage.sync_policy is not SyncPolicy.IMMEDIATE or self._persistence is None:
            return
        try:
            await self._persistence.refresh(self.state)
        except Exception as exc:  # routing goes on with what this process knows
            self._trace(
                Severity.WARNING,
                f"could not check the shared state for changes: {type(exc).__name__}: {exc}",
                {"key": self.settings.storage.key},
            )

    async def _sync_job(self) -> None:
        await self.sync()

    def _apply_sync(self, result: SyncResult) -> None:
        lifecycle = self._require_lifecycle()
        sync = self.settings.discovery.sync
        if result.is_empty:
            return
        by_key = {f"{e.provider_id}.{e.upstream}": mid for mid, e in self.entries.items()}
        registered: list[str] = []
        deactivated: list[str] = []
        if sync.on_new_model is SyncAction.REGISTER:
            for info in result.new_models:
                if info.id in by_key or info.id in self.entries or info.provider_id not in self.providers:
                    continue
                provider_id = info.provider_id
                upstream = (
                    info.id[len(provider_id) + 1 :] if info.id.startswith(f"{provider_id}.") else info.id
                )
                leaves = tuple(
                    leaf for leaf in (self._leaf(c) for c in info.capabilities) if leaf is not None
                ) or (DEFAULT_CAPABILITY,)
                entry = ModelEntry(
                    model_id=info.id,
                    provider_id=provider_id,
                    upstream=upstream,
                    capabilities=leaves,
                    pricing=info.pricing,
                    context_window=info.context_window,
                )
                self.entries[info.id] = entry
                lifecycle.ensure(entry)
                registered.append(info.id)
        for info in result.deprecated_models:
            model_id = by_key.get(info.id, info.id if info.id in self.entries else None)
            if model_id is None:
                continue
            if sync.on_deprecated_model is DeprecationAction.DEACTIVATE:
                self.entries[model_id].deprecated = True
                if lifecycle.deactivate(
                    model_id, DeactivationReason.MANUAL, detail="deprecated by the provider"
                ):
                    deactivated.append(model_id)
        if registered or deactivated:
            self._refresh_pools()
        noticed = (
            (result.new_models and sync.on_new_model is not SyncAction.IGNORE)
            or (result.deprecated_models and sync.on_deprecated_model is not DeprecationAction.IGNORE)
            or result.changed_models
            or result.errors
        )
        if not noticed:
            return
        self.events.emit(
            RoutingEvent(
                event_type=EventType.DISCOVERY_MODELS_UPDATED,
                timestamp=self.clock.now(),
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

    def _leaf(self, capability: str) -> str | None:
        try:
            node = self.tree.resolve(capability)
        except ValueError:
            return None
        return node if node is not None and self.tree.is_leaf(node) else None

    def _refresh_pools(self) -> None:
        lifecycle = self._require_lifecycle()
        for pool_id, pool in list(self.pools.items()):
            assert pool.settings is not None
            members = members_for(pool.settings, self.entries, self.tree)
            if members == pool.members:
                continue
            added = [m for m in members if m not in pool.members]
            removed = [m for m in pool.members if m not in members]
            self.pools[pool_id] = pool.with_members(members)
            self.events.emit(
                RoutingEvent(
                    event_type=EventType.POOL_MEMBERSHIP_CHANGED,
                    timestamp=self.clock.now(),
                    pool_id=pool_id,
                    metadata={"added": added, "removed": removed, "size": len(members)},
                )
            )
        lifecycle.set_pools(p.scope for p in self.pools.values())
        self._implicit.clear()

    # --- observability -----------------------------------------------------------------------

    def _sinks(self) -> list[Observability]:
        return [s for s in self.events.subscribers if isinstance(s, Observability)]

    def _log(self, entry: RequestLogEntry) -> None:
        trimmed = entry.at_level(self.settings.observability.logging.level)
        for sink in self._sinks():
            try:
                sink.log(trimmed)
            except Exception:
                logger.exception("observability connector %s failed on a request log entry", sink.name)

    def _trace(self, severity: Severity, message: str, metadata: dict[str, Any]) -> None:
        if severity.rank < self.settings.observability.tracing.min_severity.rank:
            return
        entry = TraceEntry(
            timestamp=self.clock.now(),
            severity=severity,
            message=message,
            component="meshkit.mesh",
            metadata=metadata,
        )
        for sink in self._sinks():
            try:
                sink.trace(entry)
            except Exception:
                logger.exception("observability connector %s failed on a trace entry", sink.name)

    def __repr__(self) -> str:
        state = "running" if self.started else ("closed" if self._closed else "not started")
        providers = len(self.providers) or len(self.settings.providers)
        return f"<Mesh {providers} providers, {len(self.entries)} models, {len(self.pools)} pools, {state}>"
