"""The Mesh: what an application uses to route requests to models.

::

    async with Mesh.from_config("mesh.yaml") as mesh:
        reply = await mesh.complete(model="chat", messages=[{"role": "user", "content": "hi"}])

A front: the application API, start and close; the work goes to :mod:`.assembly` and :mod:`.running`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, aclosing
from datetime import timedelta
from types import TracebackType
from typing import Any, Self

import attrs

from ..clock import Clock, SystemClock
from ..enums import DeactivationReason, RecoveryTrigger
from ..errors import UnknownTargetError
from ..events import EventEmitter
from ..interfaces.discovery import Discovery
from ..interfaces.observability import Observability
from ..interfaces.provider import Provider
from ..interfaces.secret_store import SecretStore
from ..interfaces.storage import Storage
from ..plugins import ConnectorRegistry, get_registry
from ..types import (
    ChatMessage,
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    ModelInfo,
    ProbeResult,
    SyncResult,
)
from .assembly import Assembly, injected_types
from .catalogue import ModelEntry
from .lifecycle import Lifecycle
from .needs import chat_needs, embedding_needs
from .plan import Plan, load_config_file, make_plan
from .pool import Pool, policy_view
from .request_checks import completion_request, embedding_request, seconds
from .run_scope import RunScope
from .running import Running
from .scheduler import Scheduler
from .settings import MeshSettings
from .state import MeshState
from .targets import Selection
from .telemetry import Telemetry

__all__ = ["Mesh", "Selection"]

_NOT_RUNNING = "the mesh is not running; use `async with mesh:` or `await mesh.start()`"


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
        injected = injected_types(providers=providers or {}, storage=storage, discovery=discovery)
        self.plan: Plan = make_plan(
            config if config is not None else {},
            self.registry,
            injected_providers=dict(providers or {}),
            injected=injected,
            source=source,
        )
        self.settings: MeshSettings = self.plan.settings
        self.source = source
        self.tree = self.plan.tree
        self.entries: dict[str, ModelEntry] = {k: attrs.evolve(v) for k, v in self.plan.entries.items()}
        self.events = EventEmitter(self.settings.observability.routing.events)
        self.telemetry = Telemetry(self.events, self.settings.observability, self.clock)
        self.connectors = Assembly(
            self.plan,
            self.clock,
            source=source,
            providers=providers or {},
            storage=storage,
            observability=observability,
            discovery=discovery,
            secret_store=secret_store,
        )
        self.state = MeshState()
        self.scheduler = Scheduler(self.clock, self.telemetry.tracer("meshkit.runtime.scheduler"))
        self._scope = RunScope(self.scheduler)
        self._started = False
        self._closed = False
        self._parts: Running | None = None

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

    # The connectors, once started (those passed in, before).
    @property
    def providers(self) -> dict[str, Provider]:
        return self.connectors.providers

    @property
    def storage(self) -> Storage | None:
        return self.connectors.storage

    @property
    def observability(self) -> list[Observability]:
        return self.connectors.observability

    @property
    def discovery(self) -> Discovery | None:
        return self.connectors.discovery

    @property
    def secret_store(self) -> SecretStore | None:
        return self.connectors.secret_store

    @property
    def pools(self) -> dict[str, Pool]:
        """The configured pools (empty until the mesh starts)."""
        return self._parts.targets.pools if self._parts is not None else {}

    @property
    def _lifecycle(self) -> Lifecycle | None:
        return self._parts.lifecycle if self._parts is not None else None

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
        await self._scope.open(self._start)
        self._started = True
        await self._running().schedule(self.scheduler, self.settings)

    async def _start(self, stack: AsyncExitStack) -> None:
        await self.connectors.start(stack, self.events)
        await self.connectors.fill_pricing(self.entries, self.telemetry.tracer("meshkit.runtime.assembly"))
        self._parts = parts = Running.wire(
            self.plan,
            entries=self.entries,
            tree=self.tree,
            state=self.state,
            connectors=self.connectors,
            telemetry=self.telemetry,
            clock=self.clock,
        )
        await parts.sync.load()
        if self.settings.startup_probe:
            await parts.health.startup()

    async def aclose(self) -> None:
        """Stop background jobs, save state as the sync policy says, close every connector."""
        if self._closed:
            return
        self._closed = True
        await self._scope.close(self._finish)

    async def _finish(self) -> None:
        try:
            if self._parts is not None:
                await self._parts.sync.close()  # a storage outage loses what is pending, never raises
        finally:
            self.report()  # the final numbers, before the sinks flush and close

    def _running(self) -> Running:
        if self._parts is None or self._closed:
            raise RuntimeError(_NOT_RUNNING)
        return self._parts

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
        running = self._running()
        pool = _pool_for(running, model)
        request = completion_request(messages, deadline, params)
        return await running.router.complete(pool, request, deadline=seconds(deadline))

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
        async with aclosing(self._running().router.stream(pool, request, deadline=limit)) as chunks:
            async for chunk in chunks:
                yield chunk

    async def embed(
        self,
        model: str,
        input: str | Sequence[str],
        *,
        dimensions: int | None = None,
        deadline: float | timedelta | None = None,
        **params: Any,
    ) -> EmbeddingResponse:
        """Embed ``input`` (a text or a list of texts): one vector per text, in input order.

        ``model`` names a pool, a capability (``text-embeddings``) or a model id, as for
        ``complete``; the request fails over the same way.
        """
        self._running()
        pool = self.resolve(model)
        request = embedding_request(input, dimensions, params)
        return await self._running().router.embed(pool, request, deadline=seconds(deadline))

    def select(
        self,
        model: str,
        messages: Sequence[ChatMessage | Mapping[str, Any]] = (),
        *,
        stream: bool = False,
        input: str | Sequence[str] | None = None,
        **params: Any,
    ) -> Selection:
        """Where a request would go now, without calling any provider (a dry run).

        Describe the request as for ``complete`` (``stream=True`` for a stream) or, with
        ``input``, as for ``embed``; members that cannot serve it are passed over, as the
        router does. With neither messages nor input, any member may be chosen.
        """
        if input is not None:
            self._running()
            pool = self.resolve(model)
            view = policy_view(EmbeddingRequest(input=input))
            return self._running().targets.dry_run(model, pool, view, embedding_needs())
        pool, request, _ = self._prepare(model, messages or [{"role": "user", "content": ""}], None, params)
        needs = chat_needs(request, stream=stream) if messages else None
        return self._running().targets.dry_run(model, pool, request, needs)

    def resolve(self, target: str) -> Pool:
        """The pool a request for ``target`` goes through (configured or implicit)."""
        return _pool_for(self._running(), target)

    async def deactivate(
        self,
        model: str,
        reason: DeactivationReason = DeactivationReason.MANUAL,
        *,
        cooldown: float | timedelta | None = None,
        detail: str | None = None,
    ) -> bool:
        """Put a model in standby by hand; False when it already was."""
        return await self._running().manual.deactivate(model, reason, cooldown=cooldown, detail=detail)

    async def activate(self, model: str) -> bool:
        """Bring a model back by hand (trigger MANUAL); False when it was active."""
        return await self._running().manual.activate(model)

    async def activate_provider(self, provider: str) -> bool:
        """Bring a provider set aside (after an authentication failure) back by hand."""
        return await self._running().manual.activate_provider(provider)

    async def probe(
        self, provider: str, *, trigger: RecoveryTrigger = RecoveryTrigger.PROBE_SUCCESS
    ) -> ProbeResult:
        """Probe a provider now and apply the result (recovery on success)."""
        return await self._running().manual.probe(provider, trigger)

    async def check(self) -> None:
        """Apply time-based rules to every model now (the background job does this regularly)."""
        await self._running().check()

    async def sync(self) -> SyncResult:
        """Run the discovery connector's catalogue sync now and apply its result."""
        if self.discovery is None:
            raise RuntimeError("no discovery connector is configured")
        return await self._running().catalogue.run()

    async def save_state(self) -> bool:
        """Write the state to storage now; False when nothing was (no change, or the storage is out)."""
        if self._parts is None:
            return False
        return await self._parts.sync.save()

    def status(self) -> dict[str, Any]:
        """Pools → models → status, reason, counters, cooldown; and provider status."""
        return self._running().status.build()

    def report(self) -> None:
        """Hand ``status()`` to every observability connector's ``report`` now."""
        if self._parts is not None:
            self._parts.report()

    def catalogue(self) -> Mapping[str, ModelInfo]:
        """Known models keyed ``<provider>.<upstream name>``, as discovery connectors compare them."""
        return self._running().catalogue.catalogue()

    def _prepare(
        self,
        target: str,
        messages: Sequence[ChatMessage | Mapping[str, Any]],
        deadline: float | timedelta | None,
        params: Mapping[str, Any],
    ) -> tuple[Pool, CompletionRequest, float | None]:
        pool = _pool_for(self._running(), target)
        request = completion_request(messages, deadline, params)
        return pool, request, seconds(deadline)

    def __repr__(self) -> str:
        state = "running" if self.started else ("closed" if self._closed else "not started")
        providers = len(self.providers) or len(self.settings.providers)
        return f"<Mesh {providers} providers, {len(self.entries)} models, {len(self.pools)} pools, {state}>"


def _pool_for(running: Running, target: str) -> Pool:
    """The pool a request for ``target`` goes through, in a running mesh."""
    if not isinstance(target, str) or not target:
        raise UnknownTargetError(
            f"a request needs a target: a pool, a capability or a model id, got {target!r}"
        )
    return running.targets.resolve(target)
