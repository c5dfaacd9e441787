"""Embeddings benchmark: what routing an embeddings call costs over calling the upstream directly.

Run it with::

    .venv/bin/python bench/embeddings.py                   # 1,000 requests per path, 5 rounds
    .venv/bin/python bench/embeddings.py --requests 200 --rounds 2

``MockOpenAIServer`` runs in a separate process and answers ``POST /v1/embeddings`` (three
inputs, 256-dimension vectors). Against it the same request is sent by: plain ``aiohttp``
(the baseline), plain ``httpx.AsyncClient``, the openai-compatible provider's ``embed()``, and
``mesh.embed()`` routed through a pool over that provider. The paths take turns within each
round, with ``--concurrency`` requests in flight. Reported per path: the median round's
requests/s, and the client process's CPU time per request (user + system), each as a ratio to
plain aiohttp; the last column is routed vs the provider called directly (the router's share).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
from _load import sibling

from meshkit import Mesh
from meshkit.connectors.providers.openai_compatible import OpenAICompatibleProvider
from meshkit.types import EmbeddingRequest

INPUTS = ["the first text to embed", "a second, somewhat longer text to embed", "third"]
DIMENSIONS = 256


def _mesh_config(base_url: str) -> dict[str, Any]:
    return {
        "providers": {"local": {"connector": "openai-compatible", "config": {"base_url": base_url}}},
        "models": {"local.bench": {"provider": "local", "capabilities": ["text-embeddings"]}},
        "pools": {"embed": {"models": ["local.bench"]}},
        "storage": {"sync_policy": "in-memory"},
    }


async def _drive(send: Callable[[], Awaitable[Any]], requests: int, concurrency: int) -> tuple[float, float]:
    """Requests/s (bench/transport.py's loop) and client CPU seconds per request."""
    cpu = time.process_time()
    rate = await sibling("transport").drive(send, requests, concurrency)
    return rate, (time.process_time() - cpu) / requests


async def bench(
    base_url: str, requests: int, rounds: int, concurrency: int
) -> dict[str, list[tuple[float, float]]]:
    """(requests/s, CPU per request) of each path, one pair per round."""
    body = {"model": "bench", "input": INPUTS, "encoding_format": "float", "dimensions": DIMENSIONS}
    payload = json.dumps(body).encode()
    url = f"{base_url}/embeddings"
    connector = aiohttp.TCPConnector(limit=concurrency)
    session = aiohttp.ClientSession(connector=connector)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    client = httpx.AsyncClient(limits=limits)
    provider = OpenAICompatibleProvider({"base_url": base_url}, name="local")
    mesh = Mesh.from_config(_mesh_config(base_url))
    await provider.start()
    await mesh.start()
    request = EmbeddingRequest(input=INPUTS, model="bench", dimensions=DIMENSIONS)

    async def plain_aiohttp() -> None:
        async with session.post(url, data=payload, headers={"Content-Type": "application/json"}) as r:
            r.raise_for_status()
            await r.json()

    async def plain_httpx() -> None:
        r = await client.post(url, content=payload, headers={"Content-Type": "application/json"})
        r.raise_for_status()
        r.json()

    paths: dict[str, Callable[[], Awaitable[Any]]] = {
        "plain aiohttp": plain_aiohttp,
        "plain httpx": plain_httpx,
        "provider embed()": lambda: provider.embed(request),
        "routed mesh.embed()": lambda: mesh.embed(model="embed", input=INPUTS, dimensions=DIMENSIONS),
    }
    results: dict[str, list[tuple[float, float]]] = {}
    try:
        for send in paths.values():  # warm the connection pools
            await _drive(send, concurrency * 2, concurrency)
        for _ in range(rounds):
            for name, send in paths.items():
                results.setdefault(name, []).append(await _drive(send, requests, concurrency))
    finally:
        await mesh.aclose()
        await provider.aclose()
        await client.aclose()
        await session.close()
    return results


def report(results: dict[str, list[tuple[float, float]]]) -> str:
    """The table: median round of each path, ratios to plain aiohttp, routed vs provider."""
    rate = {name: statistics.median(r for r, _ in rounds) for name, rounds in results.items()}
    cpu = {name: statistics.median(c for _, c in rounds) for name, rounds in results.items()}
    spread = {
        name: (min(r for r, _ in rounds), max(r for r, _ in rounds)) for name, rounds in results.items()
    }
    base_rate, base_cpu = rate["plain aiohttp"], cpu["plain aiohttp"]
    lines = [
        "| path | requests/s (median; min to max) | vs plain aiohttp | CPU per request | vs plain aiohttp |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in results:
        low, high = spread[name]
        lines.append(
            f"| {name} | {rate[name]:,.0f} ({low:,.0f} to {high:,.0f}) | {rate[name] / base_rate:.2f}x | "
            f"{cpu[name] * 1e6:,.0f} µs | {cpu[name] / base_cpu:.2f}x |"
        )
    routed, direct = cpu["routed mesh.embed()"], cpu["provider embed()"]
    lines.append("")
    lines.append(
        f"routed vs provider: {rate['routed mesh.embed()'] / rate['provider embed()']:.2f}x the requests/s, "
        f"{routed / direct:.2f}x the CPU ({(routed - direct) * 1e6:,.0f} µs more per request)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per path per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (each path runs once per round)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    args = parser.parse_args(argv)
    process, base_url = sibling("transport").start_server("mock")
    try:
        results = asyncio.run(bench(base_url, args.requests, args.rounds, args.concurrency))
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"{args.requests} requests x {args.rounds} rounds, {args.concurrency} in flight")
    print(report(results))


if __name__ == "__main__":
    main()
