"""SyncMesh: the Mesh for code that does not run an event loop of its own.

::

    with SyncMesh.from_config("mesh.yaml") as mesh:
        reply = mesh.complete(model="chat", messages=[{"role": "user", "content": "hi"}])
        vectors = mesh.embed(model="text-embeddings", input=["a", "b"]).vectors
        for chunk in mesh.stream(model="chat", messages=[{"role": "user", "content": "hi"}]):
            print(chunk.text, end="")

The mesh runs on an event loop in a background thread (anyio's blocking portal), and every
call is handed to that loop. So it works the same from a plain script, from several threads
at once, and from code already inside a running event loop (a notebook cell), where
``asyncio.run`` would refuse to start a second loop.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, aclosing
from datetime import timedelta
from functools import partial
from types import TracebackType
from typing import Any, Self, cast

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal
from anyio.streams.memory import MemoryObjectSendStream

from ..enums import DeactivationReason
from ..events import EventEmitter
from ..types import ChatMessage, CompletionChunk, CompletionResponse, EmbeddingResponse
from .mesh import Mesh, Selection
from .settings import MeshSettings

__all__ = ["SyncMesh"]

Messages = Sequence[ChatMessage | Mapping[str, Any]]


class SyncMesh:
    """A :class:`Mesh` driven from synchronous code; the same methods, without ``await``.

    Start it with ``with`` (or ``start()`` / ``close()``); ``backend`` is the anyio
    backend of the background loop (``"asyncio"`` or ``"trio"``).
    """

    def __init__(self, mesh: Mesh, *, backend: str = "asyncio") -> None:
        self.mesh = mesh
        self.backend = backend
        self._portal_cm: AbstractContextManager[BlockingPortal] | None = None
        self._portal: BlockingPortal | None = None
        self._running: AbstractContextManager[Mesh] | None = None

    @classmethod
    def from_config(
        cls,
        config: str | os.PathLike[str] | Mapping[str, Any] | MeshSettings,
        *,
        backend: str = "asyncio",
        **kwargs: Any,
    ) -> SyncMesh:
        """A sync mesh from a YAML file path or a dict; ConfigError before anything starts."""
        return cls(Mesh.from_config(config, **kwargs), backend=backend)

    @classmethod
    def from_env(cls, *, backend: str = "asyncio", **kwargs: Any) -> SyncMesh:
        """A sync mesh of the providers whose API keys are set (see ``Mesh.from_env``)."""
        return cls(Mesh.from_env(**kwargs), backend=backend)

    # --- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def started(self) -> bool:
        """True between ``start()`` and ``close()``."""
        return self._portal is not None

    def start(self) -> None:
        """Start the background loop, then the mesh on it (secrets, connectors, state)."""
        if self._portal is not None:
            return
        portal_cm = start_blocking_portal(self.backend, name="meshkit-sync-mesh")
        portal = portal_cm.__enter__()
        # One task enters and leaves the mesh, as its task groups and cancel scopes require.
        running = portal.wrap_async_context_manager(self.mesh)
        try:
            running.__enter__()
        except BaseException as exc:
            portal_cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._portal_cm, self._portal, self._running = portal_cm, portal, running

    def close(self) -> None:
        """Close the mesh (saving state as its sync policy says), then stop the loop. Idempotent."""
        portal_cm, running = self._portal_cm, self._running
        if portal_cm is None or running is None:
            return
        self._portal_cm = self._portal = self._running = None
        try:
            running.__exit__(None, None, None)
        finally:
            portal_cm.__exit__(None, None, None)

    def _require_portal(self) -> BlockingPortal:
        if self._portal is None:
            raise RuntimeError("the mesh is not running; use `with SyncMesh.from_config(...) as mesh:`")
        return self._portal

    # --- the application API ----------------------------------------------------------------

    @property
    def events(self) -> EventEmitter:
        """The mesh's EventEmitter: subscribe observability connectors here."""
        return self.mesh.events

    def complete(
        self,
        model: str,
        messages: Messages,
        *,
        deadline: float | timedelta | None = None,
        **params: Any,
    ) -> CompletionResponse:
        """Route one chat completion; ``model`` names a pool, a capability or a model id."""
        call = partial(self.mesh.complete, model, messages, deadline=deadline, **params)
        return self._require_portal().call(call)

    def embed(
        self,
        model: str,
        input: str | Sequence[str],
        *,
        dimensions: int | None = None,
        deadline: float | timedelta | None = None,
        **params: Any,
    ) -> EmbeddingResponse:
        """Embed ``input`` (a text or a list of texts); ``model`` names a pool, a capability or a model id."""
        call = partial(self.mesh.embed, model, input, dimensions=dimensions, deadline=deadline, **params)
        return self._require_portal().call(call)

    def stream(
        self,
        model: str,
        messages: Messages,
        *,
        deadline: float | timedelta | None = None,
        **params: Any,
    ) -> Iterator[CompletionChunk]:
        """Route one streamed completion: each chunk is yielded as soon as it arrives.

        Leaving the loop early (``break``, an exception) cancels the upstream call.
        """
        portal = self._require_portal()
        # No buffer: the loop reads the next chunk only when this thread asks for it.
        send, receive = anyio.create_memory_object_stream[CompletionChunk](0)
        pump = _Pump(self.mesh, send, model, messages, deadline, params)
        done = portal.start_task_soon(pump.run)
        try:
            while True:
                try:
                    chunk = portal.call(receive.receive)
                except anyio.EndOfStream:
                    break
                yield chunk
            done.result()  # the error that ended the stream, if any
        finally:
            try:
                if not done.done():
                    portal.call(pump.cancel)
                    done.result()
            finally:
                portal.call(receive.close)

    def select(
        self,
        model: str,
        messages: Messages = (),
        *,
        stream: bool = False,
        input: str | Sequence[str] | None = None,
        **params: Any,
    ) -> Selection:
        """Where a request would go now, without calling any provider (a dry run; see ``Mesh.select``)."""
        call = partial(self.mesh.select, model, messages, stream=stream, input=input, **params)
        return self._require_portal().call(call)

    def status(self) -> dict[str, Any]:
        """Pools → models → status, reason, counters, cooldown; and provider status."""
        return self._require_portal().call(self.mesh.status)

    def deactivate(
        self,
        model: str,
        reason: DeactivationReason = DeactivationReason.MANUAL,
        *,
        cooldown: float | timedelta | None = None,
        detail: str | None = None,
    ) -> bool:
        """Put a model in standby by hand; False when it already was."""
        call = partial(self.mesh.deactivate, model, reason, cooldown=cooldown, detail=detail)
        return self._require_portal().call(call)

    def activate(self, model: str) -> bool:
        """Bring a model back by hand (trigger MANUAL); False when it was active."""
        return self._require_portal().call(self.mesh.activate, model)

    def __repr__(self) -> str:
        return f"<SyncMesh of {self.mesh!r}>"


class _Pump:
    """Runs one ``mesh.stream`` on the loop and hands its chunks over one at a time."""

    def __init__(
        self,
        mesh: Mesh,
        send: MemoryObjectSendStream[CompletionChunk],
        model: str,
        messages: Messages,
        deadline: float | timedelta | None,
        params: Mapping[str, Any],
    ) -> None:
        self._mesh = mesh
        self._send = send
        self._args = (model, messages)
        self._deadline = deadline
        self._params = dict(params)
        self._scope: anyio.CancelScope | None = None
        self._cancelled = False

    async def run(self) -> None:
        with anyio.CancelScope() as self._scope:
            if self._cancelled:
                self._scope.cancel()
            async with self._send:
                chunks = cast(
                    AsyncGenerator[CompletionChunk, None],
                    self._mesh.stream(*self._args, deadline=self._deadline, **self._params),
                )
                async with aclosing(chunks):
                    async for chunk in chunks:
                        await self._send.send(chunk)

    def cancel(self) -> None:
        """Called on the loop when the reader stops early (before or after ``run`` began)."""
        self._cancelled = True
        if self._scope is not None:
            self._scope.cancel()
