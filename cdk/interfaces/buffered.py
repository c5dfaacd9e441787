"""Background delivery for observability sinks that do I/O.

:class:`BufferedObservability` turns every ``emit``/``log``/``trace``/``report`` into a
JSON-ready, secret-free record (see :mod:`meshkit.interfaces.redaction`) and appends it
to a bounded in-memory queue; that is all the router waits for. A background worker
hands the records to :meth:`BufferedObservability.deliver` in batches: as soon as a
batch is full, and every ``flush_interval`` (measured on the injected clock) for what
is left. When the queue is full a new record is dropped and counted in ``dropped``.

The worker runs as a background task of the event loop (an asyncio task, or a trio
system task), not in a task group of the caller, so ``start()`` and ``aclose()`` may be
called from any task and in any order, e.g. by a mesh that starts several connectors
in a loop. ``flush()`` delivers everything buffered from the calling task; ``aclose()``
flushes (within ``close_timeout``), stops the worker and releases the sink.
"""

from __future__ import annotations

import logging
import sys
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from datetime import timedelta
from typing import Any, ClassVar

import anyio
import attrs

from ..config import check
from ..enums import ObservabilityFeature
from ..events import RoutingEvent
from ..types import RequestLogEntry, TraceEntry
from .observability import Observability, ObservabilityConfig
from .redaction import (
    REDACTED,
    event_record,
    is_secret_key,
    log_record,
    redact,
    redact_entry,
    redact_text,
    report_record,
    trace_record,
)

if sys.version_info >= (3, 13):
    from typing import TypeVar
else:  # a TypeVar default (PEP 696) needs the backport before 3.13
    from typing_extensions import TypeVar

__all__ = [
    "REDACTED",
    "BufferedConfig",
    "BufferedObservability",
    "is_secret_key",
    "redact",
    "redact_entry",
    "redact_text",
]

logger = logging.getLogger("meshkit.observability")

Record = dict[str, Any]


def _positive(value: Any) -> bool:
    return bool(value > 0) if not isinstance(value, timedelta) else value.total_seconds() > 0


@attrs.frozen(kw_only=True)
class BufferedConfig(ObservabilityConfig):
    """Queue and batching settings shared by every buffered sink."""

    #: Records held in memory at most; beyond it new records are dropped and counted.
    queue_size: int = attrs.field(default=10_000, validator=check(_positive, "a positive whole number"))
    #: Records handed to one ``deliver`` call at most; a full batch wakes the worker.
    batch_size: int = attrs.field(default=100, validator=check(_positive, "a positive whole number"))
    #: How long a record waits at most before the worker delivers it.
    flush_interval: timedelta = attrs.field(
        default=timedelta(seconds=5), validator=check(_positive, "a positive duration")
    )
    #: How long ``aclose()`` keeps delivering before it gives up and counts the rest as dropped.
    close_timeout: timedelta = attrs.field(
        default=timedelta(seconds=10), validator=check(_positive, "a positive duration")
    )


#: The configuration of a buffered sink: BufferedConfig or a subclass of it.
BufferedConfigT = TypeVar("BufferedConfigT", bound=BufferedConfig, default=BufferedConfig)


class BufferedObservability(Observability[BufferedConfigT]):
    """An observability sink that buffers records and delivers them in the background.

    Subclasses implement :meth:`deliver` (and :meth:`close_sink` when they hold a
    resource). ``dropped`` counts records that were never delivered because the queue
    was full or ``aclose()`` ran out of time; ``failed`` counts records whose
    delivery raised; ``delivered`` those handed over. After drops, the next batch
    starts with a ``{"kind": "dropped", "count": n, "total": m}`` record so that the
    loss is visible where the records go.
    """

    features: ClassVar[frozenset[ObservabilityFeature]] = frozenset(  # type: ignore[assignment]
        {ObservabilityFeature.RECORDS, ObservabilityFeature.BUFFERED}
    )
    Config: ClassVar[type] = BufferedConfig

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.dropped = 0
        self.failed = 0
        self.delivered = 0
        self._unreported_drops = 0
        self._queue: deque[Record] = deque()
        self._delivery_lock = anyio.Lock()
        self._wakeup: anyio.Event | None = None
        self._worker_scope: anyio.CancelScope | None = None
        self._worker_done: anyio.Event | None = None
        self._ticking = anyio.Event()

    # --- what subclasses provide ------------------------------------------------

    async def deliver(self, batch: list[Record]) -> None:
        """Write or send one batch of records; raise if it could not be delivered."""
        raise NotImplementedError(f"{type(self).__name__} must implement deliver()")

    async def close_sink(self) -> None:
        """Release the sink's resources (a file, an HTTP client); called once by ``aclose``."""

    # --- the synchronous side: never blocks, never raises ---------------------

    def handle_event(self, event: RoutingEvent) -> None:
        self._enqueue(event_record, event)

    def handle_log(self, entry: RequestLogEntry) -> None:
        self._enqueue(log_record, entry)

    def handle_trace(self, entry: TraceEntry) -> None:
        self._enqueue(trace_record, entry)

    def handle_report(self, stats: Mapping[str, Any]) -> None:
        self._enqueue(lambda s: report_record(s, self.clock.now()), stats)

    @property
    def queued(self) -> int:
        """Records waiting for delivery."""
        return len(self._queue)

    def stats(self) -> dict[str, int]:
        """Counters of this sink: queued, delivered, dropped, failed."""
        return {
            "queued": self.queued,
            "delivered": self.delivered,
            "dropped": self.dropped,
            "failed": self.failed,
        }

    def _enqueue(self, to_record: Callable[[Any], Record], item: Any) -> None:
        if self.closed or len(self._queue) >= self.config.queue_size:
            self._count_drop()
            return
        try:
            # Converted now, not at delivery: the event's metadata may change after emit.
            record = to_record(item)
        except Exception:
            logger.exception("%s: could not turn a %s into a record", self.name, type(item).__name__)
            return
        self._queue.append(record)
        if self._wakeup is not None and len(self._queue) >= self.config.batch_size:
            self._wakeup.set()

    def _count_drop(self) -> None:
        if self._unreported_drops == 0:
            reason = "it is closed" if self.closed else f"its queue is full ({self.config.queue_size})"
            logger.warning("%s: dropping records because %s", self.name, reason)
        self.dropped += 1
        self._unreported_drops += 1

    # --- delivery ---------------------------------------------------------------

    async def flush(self) -> None:
        """Deliver every buffered record (waits for a delivery already under way)."""
        async with self._delivery_lock:
            while self._queue:
                size = min(self.config.batch_size, len(self._queue))
                batch = [self._queue.popleft() for _ in range(size)]
                if self._unreported_drops:
                    batch.insert(0, self._drop_record())
                await self._deliver_batch(batch)

    def _drop_record(self) -> Record:
        record = {
            "kind": "dropped",
            "timestamp": self.clock.now().isoformat(),
            "count": self._unreported_drops,
            "total": self.dropped,
        }
        self._unreported_drops = 0
        return record

    async def _deliver_batch(self, batch: list[Record]) -> None:
        try:
            await self.deliver(batch)
        except Exception as exc:
            self.failed += len(batch)
            logger.warning(
                "%s: %d records not delivered: %s: %s",
                self.name,
                len(batch),
                type(exc).__name__,
                redact_text(str(exc)),
            )
        except BaseException:
            # Cancelled mid-delivery: keep the batch for the next flush, in order.
            self._queue.extendleft(reversed(batch))
            raise
        else:
            self.delivered += len(batch)

    # --- lifecycle ----------------------------------------------------------------

    async def _start(self) -> None:
        self._wakeup = anyio.Event()
        self._worker_scope = anyio.CancelScope()
        self._worker_done = anyio.Event()
        self._ticking = anyio.Event()
        _spawn_background(self._run_worker)
        # Return once the interval timer runs, so that time advanced after start() counts.
        await self._ticking.wait()

    async def _run_worker(self) -> None:
        assert self._worker_scope is not None and self._worker_done is not None
        try:
            with self._worker_scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._tick)
                    await self._work()
        except Exception:
            # A background task has nobody to raise to; the loop must not crash either.
            logger.exception("%s: the delivery worker stopped", self.name)
        finally:
            self._worker_done.set()

    async def _work(self) -> None:
        while True:
            assert self._wakeup is not None
            await self._wakeup.wait()
            self._wakeup = anyio.Event()
            await self.flush()

    async def _tick(self) -> None:
        interval = self.config.flush_interval.total_seconds()
        self._ticking.set()
        while True:
            await self.clock.sleep(interval)
            if self._queue and self._wakeup is not None:
                self._wakeup.set()

    async def aclose(self) -> None:
        """Deliver what is buffered, stop the worker and release the sink. Idempotent."""
        never_started = not self.started and not self.closed
        await super().aclose()
        if never_started:
            # ``Connector.aclose`` skips ``_aclose`` when not started; records still count.
            await self._shutdown()

    async def _aclose(self) -> None:
        await self._shutdown()

    async def _shutdown(self) -> None:
        try:
            finished = await self._flush_within(self.config.close_timeout.total_seconds())
            if not finished:
                logger.warning(
                    "%s: delivery did not finish within %ss of closing", self.name, self.config.close_timeout
                )
            if self._worker_scope is not None and self._worker_done is not None:
                self._worker_scope.cancel()
                await self._worker_done.wait()
        finally:
            if self._queue:
                self.dropped += len(self._queue)
                self._queue.clear()
            await self.close_sink()

    async def _flush_within(self, seconds: float) -> bool:
        finished = False
        async with anyio.create_task_group() as tg:

            async def expire() -> None:
                await self.clock.sleep(seconds)
                tg.cancel_scope.cancel()

            tg.start_soon(expire)
            await self.flush()
            finished = True
            tg.cancel_scope.cancel()
        return finished


_BACKGROUND_TASKS: set[Any] = set()


def _spawn_background(run: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``run()`` as a task of the event loop itself, outliving the caller's task."""
    if _running_under_trio():
        import trio

        trio.lowlevel.spawn_system_task(run)
        return
    import asyncio

    task = asyncio.get_running_loop().create_task(run())
    _BACKGROUND_TASKS.add(task)  # asyncio keeps only weak references to tasks
    task.add_done_callback(_BACKGROUND_TASKS.discard)


def _running_under_trio() -> bool:
    try:
        import sniffio  # trio depends on it, so it is there whenever trio runs
    except ImportError:
        return False
    try:
        return sniffio.current_async_library() == "trio"
    except sniffio.AsyncLibraryNotFoundError:
        return False
