"""The mock provider's script: a pushed dict reads as a ``script:`` entry of the YAML does."""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest

from meshkit.connectors.providers.mock import MockProvider, MockStep
from meshkit.errors import ConfigError
from meshkit.testing import FakeClock
from meshkit.types import CompletionRequest

pytestmark = pytest.mark.anyio

ASK = CompletionRequest(messages=[{"role": "user", "content": "hi"}], model="m")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_a_pushed_dict_takes_durations_as_the_yaml_does() -> None:
    provider = MockProvider({"models": ["m"], "script": [{"latency": "250ms"}]})
    provider.push(
        {"latency": "10s"}, {"latency": 2}, MockStep(latency=timedelta(minutes=1)), {"error": "timeout"}
    )
    assert [step.latency for step in provider._script] == [
        timedelta(milliseconds=250),
        timedelta(seconds=10),
        timedelta(seconds=2),
        timedelta(minutes=1),
        None,
    ]


def test_a_bad_pushed_step_names_its_key() -> None:
    provider = MockProvider({"models": ["m"]})
    with pytest.raises(ConfigError, match=r"push\[1\]\.script\[0\]\.latency") as raised:
        provider.push({"latency": "1s"}, {"latency": "soon"})
    assert "500ms" in str(raised.value)  # the durations it takes
    with pytest.raises(
        ConfigError, match=r"push\[0\]\.script\[0\]\.lateny: unknown key; did you mean .latency."
    ):
        provider.push({"lateny": "1s"})


async def test_a_pushed_latency_is_waited_on_the_providers_clock() -> None:
    clock = FakeClock()
    started = clock.monotonic()
    async with MockProvider({"models": ["m"]}, clock=clock) as provider:
        provider.push({"latency": "10s"})
        assert clock.next_wakeup is None
        async with anyio.create_task_group() as group:
            group.start_soon(provider.complete, ASK)
            while not clock.sleepers:
                await anyio.lowlevel.checkpoint()
            assert clock.next_wakeup == started + 10.0  # the pushed "10s", not a string
            group.cancel_scope.cancel()
