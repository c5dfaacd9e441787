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


async def test_the_promised_call_bound_is_the_latency_of_the_step_the_call_takes() -> None:
    provider = MockProvider({"models": ["m", "n"], "latency": "1s"})
    assert provider.call_bound(ASK) == 1.0  # no step: the configured latency
    provider.push({"model": "n", "latency": "30s"}, {"latency": "250ms"}, {"error": "timeout"})
    assert provider.call_bound(ASK) == 0.25  # the step for "n" is not the one this call takes
    async with provider:
        await provider.complete(ASK)
        assert provider.call_bound(ASK) == 1.0  # a step without a latency waits the configured one
        other = CompletionRequest(messages=ASK.messages, model="n")
        assert provider.call_bound(other) == 30.0


def test_a_mock_on_a_fake_clock_promises_no_bound() -> None:
    # Its latency runs out when the test moves the fake clock on, not within any real time.
    provider = MockProvider({"models": ["m"], "script": [{"latency": "2s"}]}, clock=FakeClock())
    assert provider.call_bound(ASK) is None
