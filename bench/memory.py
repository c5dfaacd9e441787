"""Memory benchmark: what a mesh holds per model, and what routing retains per request.

Run it with::

    .venv/bin/python bench/memory.py                     # pools of 10, 100 and 1,000 models
    .venv/bin/python bench/memory.py --sizes 10 100 --requests 2000

Measured with ``tracemalloc`` in one process, each figure beside its baseline:

* footprint: a started mesh over N in-process mock models (state, snapshots, policy, catalogue)
  against the baseline of the same configuration as plain Python dicts — what the mesh adds on top
  of merely holding its configuration;
* per request: bytes allocated at peak and bytes still held after N routed requests against the
  same requests sent straight to the provider. "Still held" is the leak check: it must stay flat as
  the number of requests grows.
"""

from __future__ import annotations

import argparse
import copy
import gc
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from meshkit import Mesh
from meshkit.connectors.providers.mock import MockProvider
from meshkit.types import CompletionRequest

MESSAGES = [{"role": "user", "content": "Say hello."}]


def mesh_config(size: int) -> dict[str, Any]:
    """A mesh of ``size`` mock models in one pool, state kept in memory."""
    names = [f"m{i}" for i in range(size)]
    return {
        "providers": {"fake": {"connector": "mock", "config": {"models": names}}},
        "models": {f"fake.{n}": {"provider": "fake"} for n in names},
        "pools": {"chat": {"models": [f"fake.{n}" for n in names]}},
        "storage": {"sync_policy": "in-memory"},
    }


def _measure(build: Callable[[], Any]) -> tuple[int, Any]:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    held = build()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before, held


async def footprint(size: int) -> tuple[int, int]:
    """Bytes held by a started mesh of ``size`` models, and by its configuration as dicts."""
    config = mesh_config(size)
    warm = Mesh.from_config(mesh_config(2))  # first use imports and caches; not the mesh's own cost
    await warm.start()
    await warm.aclose()
    baseline, _ = _measure(lambda: copy.deepcopy(config))
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    mesh = Mesh.from_config(copy.deepcopy(config))
    await mesh.start()
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    await mesh.aclose()
    return held, baseline


async def per_request(requests: int) -> dict[str, tuple[float, float]]:
    """Peak and retained bytes per request, routed and direct."""
    out: dict[str, tuple[float, float]] = {}
    provider = MockProvider({"models": ["m0"]}, name="fake")
    request = CompletionRequest(messages=MESSAGES, model="m0")
    mesh = Mesh.from_config(mesh_config(1))
    await mesh.start()
    paths: dict[str, Callable[[], Awaitable[Any]]] = {
        "direct provider call": lambda: provider.complete(request),
        "routed mesh.complete": lambda: mesh.complete(model="chat", messages=MESSAGES),
    }
    try:
        for name, send in paths.items():
            for _ in range(50):  # warm caches and lazy structures first
                await send()
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(requests):
                await send()
            # A request that never waits on I/O (the mock answers at once) never lets the event
            # loop run, so asyncio has not yet dropped the deadline timers it cancelled: let it.
            await anyio.sleep(0.01)
            # The mock provider records every request it gets, by design; that is not routing state.
            provider.calls.clear()
            mocked = mesh.providers["fake"]
            assert isinstance(mocked, MockProvider)
            mocked.calls.clear()
            gc.collect()
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            out[name] = ((peak - before) / requests, (current - before) / requests)
    finally:
        await mesh.aclose()
    return out


async def run(sizes: list[int], requests: list[int]) -> None:
    print("footprint of a started mesh (tracemalloc, bytes held)")
    print(f"{'MODELS':>7} {'MESH':>12} {'CONFIG DICTS':>13} {'RATIO':>7} {'PER MODEL':>10}")
    for size in sizes:
        held, baseline = await footprint(size)
        print(f"{size:>7} {held:>12,} {baseline:>13,} {held / baseline:>7.1f} {held / size:>10,.0f}")
    print()
    print("per request (tracemalloc): peak bytes and bytes still held afterwards, per request")
    print(f"{'REQUESTS':>8} {'PATH':<22} {'PEAK/REQ':>10} {'HELD/REQ':>10}")
    for count in requests:
        for name, (peak, held) in (await per_request(count)).items():
            print(f"{count:>8} {name:<22} {peak:>10,.0f} {held:>10,.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000], help="models per mesh")
    parser.add_argument("--requests", type=int, nargs="+", default=[1000, 4000], help="requests per path")
    args = parser.parse_args(argv)
    anyio.run(run, args.sizes, args.requests)


if __name__ == "__main__":
    main()
