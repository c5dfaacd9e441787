"""Routing benchmark: what the router costs on top of the HTTP call it makes.

Run it with::

    .venv/bin/python bench/routing.py                      # 2,000 requests per path, 3 rounds
    .venv/bin/python bench/routing.py --requests 500 --rounds 1 --json

The minimal OpenAI-compatible server of ``bench/transport.py`` runs in a separate process.
Against it, with 64 requests in flight, the same chat completion is sent by: a direct
``httpx.AsyncClient`` POST (the baseline); the openai-compatible provider's ``complete()``
with each transport; and ``mesh.complete()`` routed through a pool over that provider, with
each transport. The paths take turns within each round; the best round of each is reported as
requests/s and as ratios: to the direct httpx call, and routed vs the provider called directly
with the same transport (the router's own overhead).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from _load import sibling

from meshkit import Mesh
from meshkit.connectors.providers.openai_compatible import OpenAICompatibleProvider
from meshkit.types import CompletionRequest

MESSAGES = [{"role": "user", "content": "Say hello."}]


def _mesh_config(base_url: str, transport: str) -> dict[str, Any]:
    return {
        "providers": {
            "local": {
                "connector": "openai-compatible",
                "config": {"base_url": base_url, "transport": transport},
            }
        },
        "models": {"local.bench": {"provider": "local"}},
        "pools": {"chat": {"models": ["local.bench"]}},
        "storage": {"sync_policy": "in-memory"},
    }


async def bench(base_url: str, requests: int, rounds: int, concurrency: int) -> dict[str, list[float]]:
    """Requests per second of each path, one figure per round."""
    drive = sibling("transport").drive
    results: dict[str, list[float]] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits) as client:
        body = {"model": "bench", "messages": MESSAGES}

        async def direct() -> None:
            response = await client.post("/chat/completions", json=body)
            response.raise_for_status()

        paths: dict[str, Callable[[], Awaitable[Any]]] = {"direct httpx": direct}
        providers = []
        meshes = []
        for transport in ("httpx", "aiohttp"):
            provider = OpenAICompatibleProvider({"base_url": base_url, "transport": transport}, name="local")
            await provider.start()
            providers.append(provider)
            request = CompletionRequest(messages=MESSAGES, model="bench")
            paths[f"provider ({transport})"] = lambda p=provider, r=request: p.complete(r)
            mesh = Mesh.from_config(_mesh_config(base_url, transport))
            await mesh.start()
            meshes.append(mesh)
            paths[f"routed ({transport})"] = lambda m=mesh: m.complete(model="chat", messages=MESSAGES)
        try:
            for send in paths.values():  # warm up connections
                await drive(send, concurrency * 2, concurrency)
            for _ in range(rounds):
                for name, send in paths.items():
                    results.setdefault(name, []).append(await drive(send, requests, concurrency))
        finally:
            for mesh in reversed(meshes):  # each mesh's task group is left in the reverse order
                await mesh.aclose()
            for provider in providers:
                await provider.aclose()
    return results


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per path per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (each path runs once per round)")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = parser.parse_args(argv)
    transport = sibling("transport")
    process, base_url = transport.start_server("aiohttp")
    try:
        results = asyncio.run(bench(base_url, args.requests, args.rounds, args.concurrency))
    finally:
        process.terminate()
        process.wait(timeout=10)
    best = {name: max(values) for name, values in results.items()}
    baseline = best["direct httpx"]
    print(f"{args.requests} requests x {args.rounds} round(s), {args.concurrency} in flight; best round")
    print(f"{'PATH':<20} {'REQ/S':>8} {'VS DIRECT HTTPX':>16} {'ROUTED VS PROVIDER':>19}")
    for name, rate in best.items():
        versus = ""
        if name.startswith("routed"):
            kind = name.split("(")[1].rstrip(")")
            versus = f"{rate / best[f'provider ({kind})']:.2f}"
        print(f"{name:<20} {rate:>8.0f} {rate / baseline:>16.2f} {versus:>19}")
    if args.json:
        print(json.dumps({"best": best, "rounds": results}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
