"""What a routed request costs by pool size, for every built-in rotation policy.

Run it with (``nox -s bench`` runs it too)::

    .venv/bin/python bench/pool_size.py                       # 10, 100, 1,000 models; 5 rounds
    .venv/bin/python bench/pool_size.py --sizes 10 1000 --policies round-robin --rounds 3 --json
    .venv/bin/python bench/pool_size.py --without-limits      # the same models with no usage caps

One process, no network. For every policy and pool size a started mesh routes ``mesh.complete()``
over a pool of in-process mock models (``bench/cost.py``'s configuration: each model with a
priority, a weight, a price and limits), one request in eight without a session and the rest
spread over 100 sessions; ``--without-limits`` drops every model's request and token limits,
which time could otherwise bring into or out of force. The baseline is ``MockProvider.complete``
called directly. Every (policy, size) cell, and the baseline, runs ``--requests`` requests once
per round, the cells in a new order each round, so that they share the machine's conditions; the
figure is CPU time per request (``time.process_time``), the median of the rounds with the
spread. The meshes are all built before the first round and the garbage collector's long-lived
objects frozen, so that one mesh's allocations do not show up in another's collections.

This measures the whole routed request (selection, snapshots, deadline, counters, request
log), not only the policy's ``select()``: ``bench/rotation.py`` measures that.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from _load import sibling

HERE = Path(__file__).resolve().parent
MESSAGES = [{"role": "user", "content": "Say hello."}]
Send = Callable[[], Awaitable[Any]]


async def bench(
    policies: list[str], sizes: list[int], requests: int, rounds: int, *, limits: bool = True
) -> dict[str, list[float]]:
    """CPU µs per request of every cell, one figure per round."""
    from meshkit import Mesh
    from meshkit.connectors.providers.mock import MockProvider
    from meshkit.types import CompletionRequest

    cost = sibling("cost")
    sends: dict[str, Send] = {}
    async with AsyncExitStack() as stack:
        mock = await stack.enter_async_context(MockProvider({"models": ["m0"]}, name="fake"))
        request = CompletionRequest(messages=MESSAGES, model="m0")

        async def direct() -> None:
            await mock.complete(request)
            mock.calls.clear()  # it records every call, by design: not what is measured

        sends["mock provider"] = direct
        sessions = [None, *(f"s{i}" for i in range(100))]
        for policy in policies:
            for size in sizes:
                config = cost.mock_config(size, policy)
                if not limits:
                    for model in config["models"].values():
                        del model["limits"]
                mesh = await stack.enter_async_context(Mesh.from_config(config))
                sends[f"{policy}@{size}"] = _routed(mesh, sessions)
        for send in sends.values():  # warm caches, lazy imports and the sessions' first choices
            for _ in range(150):
                await send()
        gc.collect()
        gc.freeze()
        results: dict[str, list[float]] = {name: [] for name in sends}
        order = list(sends)
        shuffle = random.Random(0).shuffle
        for _ in range(rounds):
            shuffle(order)
            for name in order:
                send = sends[name]
                cpu = time.process_time()
                for _ in range(requests):
                    await send()
                results[name].append((time.process_time() - cpu) / requests * 1e6)
        gc.unfreeze()
    return results


def _routed(mesh: Any, sessions: list[str | None]) -> Send:
    mocked = mesh.providers["fake"]
    turn = iter(range(1 << 62))

    async def routed() -> None:
        n = next(turn)
        session = None if n % 8 == 0 else sessions[1 + n % 100]
        await mesh.complete(model="chat", messages=MESSAGES, session_id=session)
        mocked.calls.clear()

    return routed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    policies = list(sibling("cost").POLICIES)
    parser.add_argument("--policies", nargs="+", default=policies, choices=policies)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--requests", type=int, default=200, help="requests per cell per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--without-limits", action="store_true", help="models with no usage caps")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()
    results = asyncio.run(
        bench(args.policies, args.sizes, args.requests, args.rounds, limits=not args.without_limits)
    )
    summary = {
        "requests": args.requests,
        "rounds": args.rounds,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "cells": {
            name: {"median": statistics.median(v), "min": min(v), "max": max(v)}
            for name, v in results.items()
        },
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        report(summary, args.policies, args.sizes)


def report(summary: dict[str, Any], policies: list[str], sizes: list[int]) -> None:
    cells = summary["cells"]
    mock = cells["mock provider"]
    print(
        f"CPU µs per request, median of {summary['rounds']} rounds of {summary['requests']} (min-max); "
        f"load average {summary['load_before'][0]:.2f} before, {summary['load_after'][0]:.2f} after"
    )
    print(
        "baseline, MockProvider.complete called directly: "
        f"{mock['median']:.1f} ({mock['min']:.1f}-{mock['max']:.1f})"
    )
    low, high = min(sizes), max(sizes)
    print(
        "| policy | "
        + " | ".join(f"{s:,} models" for s in sizes)
        + f" | {high:,} vs {low:,} | above the mock at {low} |"
    )
    print("|---|" + "---:|" * (len(sizes) + 2))
    for policy in policies:
        row = [cells[f"{policy}@{s}"] for s in sizes]
        text = [f"{c['median']:,.0f} ({c['min']:,.0f}-{c['max']:,.0f})" for c in row]
        ratio = cells[f"{policy}@{high}"]["median"] / cells[f"{policy}@{low}"]["median"]
        above = cells[f"{policy}@{low}"]["median"] - mock["median"]
        print(f"| {policy} | " + " | ".join(text) + f" | {ratio:.1f}x | {above:,.0f} |")


if __name__ == "__main__":
    sys.exit(main())
