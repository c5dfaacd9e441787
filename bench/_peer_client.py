"""One contender of ``bench/peers.py``: sends chat completions to an upstream and measures them.

Run by ``bench/peers.py`` with the Python of the contender's own virtual environment, so it
imports nothing from this repository; prints one JSON object: requests/s, latency
percentiles, and CPU time per request (every thread of the process counted).

    python bench/_peer_client.py CONTENDER URL --requests N --concurrency C [--cpu K]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

MESSAGES = [{"role": "user", "content": "Say hello."}]
BODY = {"model": "bench", "messages": MESSAGES, "max_tokens": 16}

Send = Callable[[], Awaitable[None]]


@asynccontextmanager
async def plain_aiohttp(url: str, concurrency: int) -> AsyncIterator[Send]:
    import aiohttp

    payload = json.dumps(BODY).encode()
    headers = {"content-type": "application/json", "authorization": "Bearer unused"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def send() -> None:
            async with session.post(f"{url}/chat/completions", data=payload, headers=headers) as response:
                response.raise_for_status()
                await response.json()

        yield send


@asynccontextmanager
async def plain_httpx(url: str, concurrency: int, *, aiohttp_transport: bool = False) -> AsyncIterator[Send]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    transport: Any = None
    if aiohttp_transport:
        from httpx_aiohttp import AiohttpTransport

        transport = AiohttpTransport(limits=limits)
    async with httpx.AsyncClient(limits=limits, transport=transport, timeout=30) as client:

        async def send() -> None:
            response = await client.post(f"{url}/chat/completions", json=BODY)
            response.raise_for_status()
            response.json()

        yield send


@asynccontextmanager
async def meshkit(url: str, concurrency: int, *, transport: str) -> AsyncIterator[Send]:
    from meshkit import Mesh

    config = {
        "providers": {
            "up": {"connector": "openai-compatible", "config": {"base_url": url, "transport": transport}}
        },
        "models": {"up.bench": {"provider": "up"}},
        "pools": {"chat": {"models": ["up.bench"]}},
        "storage": {"connector": "memory", "sync_policy": "in-memory"},
    }
    async with Mesh.from_config(config) as mesh:

        async def send() -> None:
            await mesh.complete(model="chat", messages=MESSAGES, max_tokens=16)

        yield send


@asynccontextmanager
async def litellm_router(url: str, concurrency: int) -> AsyncIterator[Send]:
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    from litellm import Router

    router = Router(
        model_list=[
            {
                "model_name": "chat",
                "litellm_params": {"model": "openai/bench", "api_base": url, "api_key": "x"},
            }
        ]
    )

    async def send() -> None:
        await router.acompletion(model="chat", messages=MESSAGES, max_tokens=16)

    yield send


@asynccontextmanager
async def modelmesh_lite(url: str, concurrency: int) -> AsyncIterator[Send]:
    from modelmesh import MeshConfig, ModelMesh
    from modelmesh.cdk.specialized.openai_compatible import OpenAICompatibleConfig, OpenAICompatibleProvider
    from modelmesh.interfaces.provider import CompletionRequest

    provider = OpenAICompatibleProvider(
        OpenAICompatibleConfig(base_url=url.removesuffix("/v1"), api_key="x")  # it appends /v1 itself
    )
    config = MeshConfig(
        raw={
            "providers": {"up": {"connector": "up", "instance": provider}},
            "models": {
                "up.bench": {"provider": "up", "capabilities": ["generation.text-generation.chat-completion"]}
            },
            "pools": {"chat": {"models": ["up.bench"], "strategy": "stick-until-failure"}},
        }
    )
    mesh = ModelMesh()
    mesh.initialize(config)

    async def send() -> None:
        await mesh.route(CompletionRequest(model="chat", messages=MESSAGES, max_tokens=16))

    try:
        yield send
    finally:
        mesh.shutdown()


CONTENDERS: dict[str, Callable[[str, int], Any]] = {
    "aiohttp": plain_aiohttp,
    "httpx": plain_httpx,
    "httpx+aiohttp": lambda url, c: plain_httpx(url, c, aiohttp_transport=True),
    "meshkit": lambda url, c: meshkit(url, c, transport="auto"),
    "meshkit (httpx)": lambda url, c: meshkit(url, c, transport="httpx"),
    "litellm Router": litellm_router,
    "modelmesh-lite": modelmesh_lite,
}


async def measure(contender: str, url: str, requests: int, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    async with CONTENDERS[contender](url, concurrency) as send:
        # Warm caches and lazy imports, and open the connections the cell keeps busy: with as
        # many requests in flight as it measures, so no contender pays for connecting in it.
        warm = iter(range(max(50, 2 * concurrency)))

        async def warmer() -> None:
            for _ in warm:
                await send()

        await asyncio.gather(*(warmer() for _ in range(concurrency)))
        queue = iter(range(requests))

        async def worker() -> None:
            for _ in queue:
                started = time.perf_counter()
                await send()
                latencies.append(time.perf_counter() - started)

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    latencies.sort()
    return {
        "rps": requests / wall,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "cpu_us": cpu / requests * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("contender", choices=sorted(CONTENDERS))
    parser.add_argument("url")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one core")
    args = parser.parse_args()
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    print(json.dumps(asyncio.run(measure(args.contender, args.url, args.requests, args.concurrency))))


if __name__ == "__main__":
    main()
