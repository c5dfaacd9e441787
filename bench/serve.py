"""`meshkit serve` against the upstream called directly, beside LiteLLM's proxy, in one run.

Run it with::

    .venv/bin/python bench/serve.py                        # 1,000 requests per target and level, 3 rounds
    .venv/bin/python bench/serve.py --requests 300 --rounds 1 --no-litellm --json

One minimal OpenAI-compatible upstream (the aiohttp server of ``bench/transport.py``) runs in
its own process. In front of it: ``meshkit serve`` (one worker) and, unless ``--no-litellm``,
LiteLLM's proxy (``litellm --config``, from a virtual environment this script creates under
``--venvs`` the first time, with ``pip install 'litellm[proxy]'``). One aiohttp client sends the
same chat completion to each target at each concurrency level; the targets take turns within
each round. Reported: requests/s and p50/p99 latency per target, and what each proxy adds over
calling the upstream directly (median of the rounds, with the spread).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from transport import BODY, start_server

REQUEST = {**BODY, "model": "chat"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(url: str, process: subprocess.Popen[bytes], what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not come up at {url}")


def start_meshkit(upstream: str, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = work / "mesh.yaml"
    config.write_text(
        json.dumps(
            {
                "providers": {"up": {"connector": "openai-compatible", "config": {"base_url": upstream}}},
                "models": {"up.bench": {"provider": "up"}},
                "pools": {"chat": {"models": ["up.bench"]}},
                "storage": {"connector": "memory", "sync_policy": "in-memory"},
            }
        )
    )
    meshkit = Path(sys.executable).parent / "meshkit"
    process = subprocess.Popen(
        [str(meshkit), "serve", "--config", str(config), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/health", process, "meshkit serve")
    return process, f"{base}/v1"


def litellm_venv(venvs: Path) -> Path:
    venv = venvs / "litellm"
    litellm = venv / "bin" / "litellm"
    if not litellm.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "litellm[proxy]"], check=True)
    return litellm


def start_litellm(upstream: str, work: Path, venvs: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    litellm = litellm_venv(venvs)
    version = subprocess.run(
        [str(litellm.parent / "python"), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    port = free_port()
    config = work / "litellm.yaml"
    config.write_text(
        json.dumps(
            {
                "model_list": [
                    {
                        "model_name": "chat",
                        "litellm_params": {
                            "model": "openai/bench",
                            "api_base": upstream,
                            "api_key": "unused",
                        },
                    }
                ],
                "litellm_settings": {"telemetry": False},
            }
        )
    )
    env = {**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False"}
    process = subprocess.Popen(
        [str(litellm), "--config", str(config), "--port", str(port), "--num_workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/health/liveliness", process, "litellm proxy")
    return process, f"{base}/v1", version


async def run_level(base: str, requests: int, concurrency: int) -> dict[str, float]:
    """``requests`` completions at ``concurrency`` in flight: requests/s and latency percentiles."""
    import aiohttp

    payload = json.dumps(REQUEST).encode()
    headers = {"content-type": "application/json", "authorization": "Bearer unused"}
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        url = f"{base}/chat/completions"

        async def one() -> None:
            started = time.perf_counter()
            async with session.post(url, data=payload, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url} answered {response.status}")
            latencies.append(time.perf_counter() - started)

        for _ in range(min(concurrency * 2, 50)):  # warm the connections
            await one()
        latencies.clear()
        queue = iter(range(requests))

        async def worker() -> None:
            for _ in queue:
                await one()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": requests / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--no-litellm", action="store_true", help="skip LiteLLM's proxy")
    parser.add_argument("--venvs", type=Path, default=Path(tempfile.gettempdir()) / "meshkit-bench-venvs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    server, upstream = start_server("plain")
    processes: list[subprocess.Popen[Any]] = [server]
    try:
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            mesh_process, mesh_base = start_meshkit(upstream, work)
            processes.append(mesh_process)
            targets = {"direct": upstream, "meshkit serve": mesh_base}
            versions = {}
            if not args.no_litellm:
                args.venvs.mkdir(parents=True, exist_ok=True)
                lite_process, lite_base, versions["litellm"] = start_litellm(upstream, work, args.venvs)
                processes.append(lite_process)
                targets["litellm proxy"] = lite_base
            results: dict[str, dict[int, list[dict[str, float]]]] = {
                t: {c: [] for c in args.concurrency} for t in targets
            }
            for _ in range(args.rounds):
                for concurrency in args.concurrency:
                    for name, base in targets.items():
                        row = asyncio.run(run_level(base, args.requests, concurrency))
                        results[name][concurrency].append(row)
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)
    report(results, args, versions)


def report(
    results: dict[str, dict[int, list[dict[str, float]]]], args: argparse.Namespace, versions: dict[str, str]
) -> None:
    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    summary: dict[str, Any] = {
        "rounds": args.rounds,
        "requests": args.requests,
        "versions": versions,
        "levels": {},
    }
    for concurrency in args.concurrency:
        direct = results["direct"][concurrency]
        level = {}
        for name, by_level in results.items():
            rows = by_level[concurrency]
            level[name] = {
                "rps": med(rows, "rps"),
                "rps_spread": [min(r["rps"] for r in rows), max(r["rps"] for r in rows)],
                "p50_ms": med(rows, "p50_ms"),
                "p99_ms": med(rows, "p99_ms"),
                "rps_vs_direct": med(rows, "rps") / med(direct, "rps"),
                "added_p50_ms": med(rows, "p50_ms") - med(direct, "p50_ms"),
                "added_p99_ms": med(rows, "p99_ms") - med(direct, "p99_ms"),
            }
        summary["levels"][concurrency] = level
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{args.requests} requests per target and level, median of {args.rounds} rounds {versions or ''}")
    columns = ("req/s", "vs direct", "p50 ms", "p99 ms", "+p50", "+p99")
    print(f"{'in flight':>9}  {'target':<14} " + " ".join(f"{c:>9}" for c in columns))
    for concurrency, level in summary["levels"].items():
        for name, row in level.items():
            keys = ("rps_vs_direct", "p50_ms", "p99_ms", "added_p50_ms", "added_p99_ms")
            print(
                f"{concurrency:>9}  {name:<14} {row['rps']:>9.0f} "
                + " ".join(f"{row[k]:>9.2f}" for k in keys)
            )


if __name__ == "__main__":
    main()
