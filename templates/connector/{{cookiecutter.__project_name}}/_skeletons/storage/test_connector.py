"""Tests of what is particular to this connector; the conformance suite covers the contract."""

from __future__ import annotations

from datetime import timedelta

import pytest
from meshkit.testing import FakeClock

from {{ cookiecutter.__package_name }} import {{ cookiecutter.__class_name }}


@pytest.mark.anyio
async def test_stat_reports_the_size_and_the_time_of_the_last_save(clock: FakeClock) -> None:
    async with {{ cookiecutter.__class_name }}(clock=clock) as store:
        await store.save("state/a", b"12345")
        first = await store.stat("state/a")
        await clock.advance(timedelta(seconds=30))
        await store.save("state/a", b"12")
        second = await store.stat("state/a")
    assert first is not None and second is not None
    assert (first.size, second.size) == (5, 2)
    assert first.modified_at is not None and second.modified_at is not None
    assert second.modified_at - first.modified_at == timedelta(seconds=30)


@pytest.mark.anyio
async def test_a_rejected_save_keeps_the_old_value() -> None:
    async with {{ cookiecutter.__class_name }}() as store:
        await store.save("k", b"old")
        with pytest.raises(TypeError):
            await store.save("k", "text")  # type: ignore[arg-type]
        assert await store.load("k") == b"old"


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when the test says so."""
    return FakeClock()
