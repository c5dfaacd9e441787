"""BufferedObservability: bounded queue, background batches, flush and close semantics."""

from __future__ import annotations

import anyio
import pytest
from observability_helpers import PLAIN_SECRET, ListSink, WatchedClock, event, log_entry, trace_entry

from meshkit.enums import EventType, LogLevel, ObservabilityFeature
from meshkit.errors import ConfigError
from meshkit.testing import FakeClock


def sink(clock: FakeClock, **config: object) -> ListSink:
    return ListSink({"batch_size": 3, "flush_interval": "10s", **config}, clock=clock)


def numbers(records: list[dict[str, object]]) -> list[object]:
    return [r["metadata"]["n"] for r in records if r["kind"] == "event"]  # type: ignore[index]


def test_buffered_sinks_declare_the_buffered_feature() -> None:
    assert ListSink.supports(ObservabilityFeature.BUFFERED)


@pytest.mark.anyio
async def test_a_full_batch_wakes_the_worker(clock: FakeClock) -> None:
    async with sink(clock) as s:
        for n in range(3):
            s.emit(event(n=n))
        assert s.batches == []  # emit only queues; delivery happens in the background
        await clock.advance(0)
        assert [numbers(b) for b in s.batches] == [[0, 1, 2]]
        assert s.delivered == 3 and s.queued == 0


@pytest.mark.anyio
async def test_a_partial_batch_waits_for_the_flush_interval(clock: FakeClock) -> None:
    async with sink(clock) as s:
        s.emit(event(n=7))
        await clock.advance(9.9)
        assert s.batches == []
        await clock.advance(0.1)
        assert [numbers(b) for b in s.batches] == [[7]]


@pytest.mark.anyio
async def test_flush_delivers_everything_in_batches_in_order(clock: FakeClock) -> None:
    s = sink(clock)
    for n in range(7):
        s.emit(event(n=n))
    await s.flush()  # works without a worker, from the calling task
    assert [numbers(b) for b in s.batches] == [[0, 1, 2], [3, 4, 5], [6]]
    await s.aclose()


@pytest.mark.anyio
async def test_every_kind_becomes_a_tagged_json_ready_record(clock: FakeClock) -> None:
    s = ListSink({"log_level": "full", "min_severity": "debug"}, clock=clock)
    s.emit(event(EventType.MODEL_ROTATED, n=1, reason=EventType.MODEL_ROTATED))
    s.log(log_entry())
    s.trace(trace_entry())
    s.report({"pools": {"chat": {"active": 2}}})
    await s.flush()
    kinds = [r["kind"] for r in s.records]
    assert kinds == ["event", "log", "trace", "report"]
    ev, log, trace, report = s.records
    assert ev["event_type"] == "model_rotated" and ev["metadata"]["reason"] == "model_rotated"
    assert log["request_id"] == "req-1" and log["usage"] == {
        "prompt_tokens": 12,
        "completion_tokens": 30,
        "total_tokens": 42,
    }
    assert trace["severity"] == "warning" and trace["message"] == "slow answer"
    assert report["stats"] == {"pools": {"chat": {"active": 2}}}
    assert report["timestamp"] == clock.now().isoformat()
    assert PLAIN_SECRET not in repr(s.records)
    await s.aclose()


@pytest.mark.anyio
async def test_a_full_queue_drops_new_records_counts_them_and_says_so(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    s = sink(clock, queue_size=4)
    for n in range(10):
        s.emit(event(n=n))
    assert s.dropped == 6 and s.queued == 4
    assert sum("queue is full" in r.getMessage() for r in caplog.records) == 1  # once per episode
    await s.flush()
    marker = s.records[0]
    assert marker["kind"] == "dropped" and marker["count"] == 6 and marker["total"] == 6
    assert numbers(s.records) == [0, 1, 2, 3]
    assert s.stats() == {"queued": 0, "delivered": 5, "dropped": 6, "failed": 0}
    await s.aclose()


@pytest.mark.anyio
async def test_emit_returns_at_once_while_delivery_is_stuck(clock: FakeClock) -> None:
    s = sink(clock, queue_size=5, batch_size=1)
    s.gate = anyio.Event()
    async with s:
        s.emit(event(n=0))
        await s.entered.wait()  # the worker holds batch [0] and is stuck
        for n in range(1, 20):
            s.emit(event(n=n))
        assert s.queued == 5 and s.dropped == 14
        s.gate.set()
        await s.flush()
    assert numbers(s.records) == [0, 1, 2, 3, 4, 5]
    assert s.records[1] == {**s.records[1], "kind": "dropped", "count": 14}


@pytest.mark.anyio
async def test_a_failing_delivery_is_counted_and_logged_not_raised(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    s = sink(clock)
    s.fail_with = RuntimeError(f"refused: Authorization: Bearer {PLAIN_SECRET}")
    for n in range(4):
        s.emit(event(n=n))
    await s.flush()
    assert s.failed == 4 and s.delivered == 0 and s.queued == 0
    assert "2 records" not in caplog.text and "3 records not delivered" in caplog.text
    assert PLAIN_SECRET not in caplog.text
    await s.aclose()


@pytest.mark.anyio
async def test_aclose_delivers_what_is_buffered_and_closes_the_sink(clock: FakeClock) -> None:
    async with sink(clock, batch_size=100) as s:
        for n in range(5):
            s.emit(event(n=n))
    assert numbers(s.records) == [0, 1, 2, 3, 4]
    assert s.sink_closed == 1
    await s.aclose()
    assert s.sink_closed == 1  # idempotent


@pytest.mark.anyio
async def test_aclose_of_a_never_started_sink_still_delivers(clock: FakeClock) -> None:
    s = sink(clock)
    s.emit(event(n=1))
    await s.aclose()
    assert numbers(s.records) == [1] and s.sink_closed == 1


@pytest.mark.anyio
async def test_aclose_gives_up_after_close_timeout_and_counts_the_rest(watched_clock: WatchedClock) -> None:
    s = sink(watched_clock, batch_size=1, close_timeout="3s")
    s.gate = anyio.Event()  # never opened: the target is stuck for good
    await s.start()
    for n in range(4):
        s.emit(event(n=n))
    async with anyio.create_task_group() as tg:
        tg.start_soon(s.aclose)
        await watched_clock.wait_for_sleep(3.0)
        await watched_clock.advance(3)
    assert s.closed and s.delivered == 0
    assert s.dropped == 4  # the batch in flight went back to the queue, then counted
    assert s.sink_closed == 1


@pytest.mark.anyio
async def test_records_after_close_are_counted_as_dropped(clock: FakeClock) -> None:
    async with sink(clock) as s:
        pass
    s.emit(event())
    s.log(log_entry())
    assert s.dropped == 2 and s.queued == 0


@pytest.mark.anyio
async def test_start_and_aclose_may_come_from_other_tasks_in_any_order(clock: FakeClock) -> None:
    first, second = sink(clock), sink(clock)
    async with anyio.create_task_group() as tg:
        tg.start_soon(first.start)
        tg.start_soon(second.start)
    first.emit(event(n=1))
    second.emit(event(n=2))
    await first.aclose()  # not the reverse order of start, not the starting task
    await second.aclose()
    assert numbers(first.records) == [1] and numbers(second.records) == [2]


@pytest.mark.anyio
async def test_a_record_that_cannot_be_converted_is_skipped(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    class Unreadable(dict[str, object]):
        def items(self) -> object:  # type: ignore[override]
            raise RuntimeError("cannot be read")

    s = sink(clock)
    s.report(Unreadable())
    s.emit(event(n=1))
    await s.flush()
    assert numbers(s.records) == [1]
    assert "could not turn a Unreadable into a record" in caplog.text
    await s.aclose()


@pytest.mark.anyio
async def test_log_level_is_applied_before_buffering(clock: FakeClock) -> None:
    s = ListSink({"log_level": LogLevel.METADATA.value}, clock=clock)
    s.log(log_entry())
    await s.flush()
    (record,) = s.records
    assert record["request"] is None and record["usage"] is None and record["cost"] is None
    await s.aclose()


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"queue_size": 0}, "config.queue_size"),
        ({"batch_size": -1}, "config.batch_size"),
        ({"flush_interval": "0s"}, "config.flush_interval"),
        ({"flush_interval": "soon"}, "config.flush_interval"),
        ({"batchsize": 3}, "config.batchsize"),
    ],
)
def test_bad_settings_are_reported_by_path(config: dict[str, object], path: str) -> None:
    with pytest.raises(ConfigError, match=path.replace(".", r"\.")):
        ListSink(config)


@pytest.mark.anyio
async def test_the_worker_keeps_running_after_a_failed_batch(clock: FakeClock) -> None:
    async with sink(clock, batch_size=2) as s:
        s.fail_with = ValueError("boom")
        s.emit(event(n=1))
        s.emit(event(n=2))
        await clock.advance(0)
        assert s.failed == 2
        s.fail_with = None
        s.emit(event(n=3))
        s.emit(event(n=4))
        await clock.advance(0)
        assert numbers(s.records) == [3, 4]  # the worker kept running after a failed batch
