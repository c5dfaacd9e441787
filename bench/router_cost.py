"""The router's own CPU time per request: a routed call minus the provider's call, in one process.

Run it with::

    .venv/bin/python bench/router_cost.py                        # every policy, 10 models
    .venv/bin/python bench/router_cost.py --policies weighted --sizes 10 1000 --rounds 9

For each rotation policy, one process builds the pool of ``bench/cost.py`` (``--sizes`` mock
models, one request in eight without a session, the rest over 100 sessions) and measures, in
rounds that alternate, ``mesh.complete()`` through the pool and ``complete()`` called directly
on that pool's own mock provider with the request the router would send it. Each figure is the
least of its rounds: what the host takes from the process only ever adds to a round, so the
least-disturbed round is the closest to what the code costs, and both sides of the difference
are measured in the same minutes on the same warm interpreter. ``bench/cost.py --timer cpu``
runs each contender in a process of its own, minutes apart, which a noisy host can skew.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cost  # bench/ is not a package: found through the path above


async def measure(policy: str, size: int, requests: int, rounds: int) -> dict[str, float]:
    """The least CPU µs per request of the direct call and of the routed one, over ``rounds``."""
    from meshkit import Mesh
    from meshkit.types import CompletionRequest

    sessions = [None, *(f"s{i}" for i in range(100))]
    async with Mesh.from_config(cost.mock_config(size, policy)) as mesh:
        mocked: Any = mesh.providers["fake"]
        request = CompletionRequest(messages=cost.MESSAGES, model="m0")

        async def routed(n: int) -> None:
            session = None if n % 8 == 0 else sessions[1 + n % 100]
            await mesh.complete(model="chat", messages=cost.MESSAGES, session_id=session)
            mocked.calls.clear()  # it records every call, by design: not what is measured

        async def direct(n: int) -> None:
            await mocked.complete(request)
            mocked.calls.clear()

        for n in range(max(200, requests // 10)):  # warm up both
            await routed(n)
            await direct(n)
        least = {"direct": float("inf"), "routed": float("inf")}
        for _ in range(rounds):
            for name, send in (("direct", direct), ("routed", routed)):
                started = time.process_time()
                for n in range(requests):
                    await send(n)
                least[name] = min(least[name], (time.process_time() - started) / requests * 1e6)
        return least


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--policies", nargs="+", default=list(cost.POLICIES))
    parser.add_argument("--sizes", type=int, nargs="+", default=[10])
    parser.add_argument("--requests", type=int, default=5000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for policy in args.policies:
        for size in args.sizes:
            least = asyncio.run(measure(policy, size, args.requests, args.rounds))
            least["above"] = least["routed"] - least["direct"]
            results.setdefault(policy, {})[str(size)] = least
            print(
                f"{policy} @ {size}: {least['above']:.1f} µs above the provider", file=sys.stderr, flush=True
            )
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print("| policy | models | provider called directly, CPU µs | routed, CPU µs | the router's own |")
    print("|---|---:|---:|---:|---:|")
    for policy, by_size in results.items():
        for size, least in by_size.items():
            figures = " | ".join(f"{least[k]:.1f}" for k in ("direct", "routed", "above"))
            print(f"| {policy} | {size} | {figures} |")


if __name__ == "__main__":
    main()
