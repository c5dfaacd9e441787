"""Transport benchmark: how fast each HTTP client path talks to one local server.

Run it with::

    .venv/bin/python bench/transport.py                 # 2,000 requests per client, 3 rounds
    .venv/bin/python bench/transport.py --requests 500 --rounds 1 --json

A minimal OpenAI-compatible aiohttp.web server runs in a separate process (``--server mock``
uses meshkit's MockOpenAIServer instead). Against it, with 64 requests in flight, the same
chat-completion POST is sent by: plain ``httpx.AsyncClient``; httpx with
``httpx_aiohttp.AiohttpTransport``; plain ``aiohttp``; and the openai-compatible provider's
``complete()`` with ``transport: httpx`` and ``transport: aiohttp``. The clients take turns
within each round, so they share the machine's conditions; each one's best and median
rounds are reported, as requests/s and as ratios to plain httpx measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

BODY = {"model": "bench", "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 16}

REPLY = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": "bench",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hello there."}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6},
}

Send = Callable[[], Awaitable[None]]


# --- the server (separate process) ----------------------------------------------------------


def serve(port: int, latency: float = 0.0) -> None:
    """A minimal OpenAI-compatible server: one canned chat completion, after ``latency`` seconds."""
    from aiohttp import web

    payload = json.dumps(REPLY).encode()

    async def completions(request: web.Request) -> web.Response:
        await request.read()
        if latency:
            await asyncio.sleep(latency)  # the upstream's own think time
        return web.Response(body=payload, content_type="application/json")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        sockets = getattr(getattr(site, "_server", None), "sockets", None) or []
        print(f"http://127.0.0.1:{sockets[0].getsockname()[1]}/v1", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def start_server(kind: str) -> tuple[subprocess.Popen[str], str]:
    """Start the server process; return it and its base URL."""
    if kind == "mock":
        argv = [
            sys.executable,
            "-m",
            "meshkit.testing.mock_server",
            "--models",
            "bench",
            "--reply",
            "Hello there.",
        ]
    else:
        argv = [sys.executable, os.path.abspath(__file__), "--serve", "0"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    base_url = process.stdout.readline().strip()
    if not base_url.startswith("http://"):
        process.kill()
        raise RuntimeError(f"the benchmark server did not start (said {base_url!r})")
    return process, base_url


# --- the clients ------------------------------------------------------------------------------


@asynccontextmanager
async def plain_httpx(base_url: str, concurrency: int) -> Any:
    """A sender over ``httpx.AsyncClient`` with its own transport (the baseline)."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url + "/", limits=limits, timeout=30) as client:

        async def send() -> None:
            response = await client.post("chat/completions", json=BODY)
            response.raise_for_status()
            response.json()

        yield send


@asynccontextmanager
async def httpx_with_aiohttp_transport(base_url: str, concurrency: int) -> Any:
    """A sender over ``httpx.AsyncClient`` with httpx-aiohttp's transport."""
    import httpx
    from httpx_aiohttp import AiohttpTransport

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    transport = AiohttpTransport(limits=limits)
    async with httpx.AsyncClient(base_url=base_url + "/", transport=transport, timeout=30) as client:

        async def send() -> None:
            response = await client.post("chat/completions", json=BODY)
            response.raise_for_status()
            response.json()

        yield send


@asynccontextmanager
async def plain_aiohttp(base_url: str, concurrency: int) -> Any:
    """A sender over a plain ``aiohttp.ClientSession``."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        url = base_url + "/chat/completions"

        async def send() -> None:
            async with session.post(url, json=BODY) as response:
                response.raise_for_status()
                await response.json()

        yield send


def provider_client(transport: str) -> Callable[[str, int], AbstractAsyncContextManager[Send]]:
    """A sender factory calling the openai-compatible provider's ``complete()`` over ``transport``."""

    @asynccontextmanager
    async def client(base_url: str, concurrency: int) -> Any:
        from meshkit.connectors.providers import OpenAICompatibleProvider
        from meshkit.types import CompletionRequest

        request = CompletionRequest(model="bench", messages=BODY["messages"], max_tokens=16)
        config = {"base_url": base_url, "transport": transport, "max_connections": concurrency}
        async with OpenAICompatibleProvider(config) as provider:
            assert provider.transport_name == transport

            async def send() -> None:
                await provider.complete(request)

            yield send

    return client


CLIENTS: dict[str, Callable[[str, int], AbstractAsyncContextManager[Send]]] = {
    "httpx.AsyncClient": plain_httpx,
    "httpx + AiohttpTransport": httpx_with_aiohttp_transport,
    "aiohttp.ClientSession": plain_aiohttp,
    "provider complete(), transport: httpx": provider_client("httpx"),
    "provider complete(), transport: aiohttp": provider_client("aiohttp"),
}


async def drive(send: Send, requests: int, concurrency: int) -> float:
    """Send ``requests`` requests with ``concurrency`` in flight; return requests per second."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await send()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started)


async def run(base_url: str, requests: int, rounds: int, concurrency: int) -> dict[str, list[float]]:
    """Requests per second of each client, one figure per round, the clients taking turns."""
    results: dict[str, list[float]] = {name: [] for name in CLIENTS}
    for _ in range(rounds):
        for name, make in CLIENTS.items():
            async with make(base_url, concurrency) as send:
                await drive(send, concurrency * 2, concurrency)  # warm the connection pool
                results[name].append(await drive(send, requests, concurrency))
    return results


def report(results: dict[str, list[float]], args: argparse.Namespace) -> str:
    """The best round of each client as a table, with its ratio to plain httpx."""
    best_base = max(results["httpx.AsyncClient"])
    median_base = statistics.median(results["httpx.AsyncClient"])
    lines = [
        f"{args.requests} requests per client per round, {args.concurrency} in flight, "
        f"{args.rounds} round(s), server: {args.server}",
        "",
        "| client | best round, requests/s | vs plain httpx | median round, requests/s | vs plain httpx |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, rates in results.items():
        best, median = max(rates), statistics.median(rates)
        ratios = f"{best / best_base:.2f}x | {median:,.0f} | {median / median_base:.2f}x"
        lines.append(f"| {name} | {best:,.0f} | {ratios} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Start the server in another process, run the clients against it, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="requests per client per round")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds; each client's best and median are reported"
    )
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight")
    parser.add_argument(
        "--server", choices=["aiohttp", "mock"], default="aiohttp", help="which server to run"
    )
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve(args.serve)
        return
    process, base_url = start_server(args.server)
    try:
        results = asyncio.run(run(base_url, args.requests, args.rounds, args.concurrency))
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
    print(report(results, args))
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
