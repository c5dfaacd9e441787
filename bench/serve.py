"""`meshkit serve` against the upstream called directly, beside LiteLLM's proxy, in one run.

Run it with::

    .venv/bin/python bench/serve.py                        # 1,000 requests per target and level, 3 rounds
    .venv/bin/python bench/serve.py --requests 300 --rounds 1 --no-litellm --json

One minimal OpenAI-compatible upstream (the aiohttp server of ``bench/transport.py``) runs in
its own process. In front of it: ``meshkit serve`` (one worker) and, unless ``--no-litellm``,
LiteLLM's proxy (``litellm --config``, one worker, from the virtual environment
``<--venvs>/litellm-proxy``, which this script creates the first time with
``pip install 'litellm[proxy]'``). Both proxies require the same bearer token (LiteLLM's proxy
refuses to start without a master key; ``meshkit serve`` gets it as ``serve.auth.tokens`` so
that both do the same work), and neither has a database. One aiohttp client sends the same
chat completion to each target at each concurrency level; the targets take turns within each
round. Reported: requests/s and p50/p99 latency per target, and what each proxy adds over
calling the upstream directly (median of the rounds, with the spread), with the load average.
A proxy that exits at start-up is reported with the end of its stderr.
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
#: The bearer token both proxies require (LiteLLM's master keys start with ``sk-``).
TOKEN = "sk-meshkit-bench-0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(
    url: str, process: subprocess.Popen[bytes], what: str, stderr: Path, timeout: float = 300
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = stderr.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{what} exited with {process.returncode}; its stderr ended:\n{said}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
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
                "serve": {"auth": {"tokens": [TOKEN]}},
            }
        )
    )
    meshkit = Path(sys.executable).parent / "meshkit"
    stderr = work / "meshkit-serve.stderr"
    with stderr.open("wb") as sink:
        process = subprocess.Popen(
            [str(meshkit), "serve", "--config", str(config), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/health", process, "meshkit serve", stderr)
    return process, f"{base}/v1"


def litellm_venv(venvs: Path) -> Path:
    """The proxy's own venv: ``bench/peers.py``'s ``litellm`` venv has the library, not the proxy's extras."""
    venv = venvs / "litellm-proxy"
    litellm = venv / "bin" / "litellm"
    marker = venv / ".bench-ready"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "litellm[proxy]"], check=True)
        marker.touch()
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
                # Without a master key the proxy refuses to start (UnsafeMasterKeyError, uvicorn's
                # start-up failure, exit status 3).
                "general_settings": {"master_key": TOKEN},
            }
        )
    )
    env = {**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False"}
    env.pop("DATABASE_URL", None)  # no database: nothing but the routing is measured
    stderr = work / "litellm-proxy.stderr"
    with stderr.open("wb") as sink:
        process = subprocess.Popen(
            [str(litellm), "--config", str(config), "--port", str(port), "--num_workers", "1"],
            stdout=subprocess.DEVNULL,
            stderr=sink,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/health/liveliness", process, "litellm proxy", stderr)
    return process, f"{base}/v1", version


async def run_level(base: str, requests: int, concurrency: int) -> dict[str, float]:
    """``requests`` completions at ``concurrency`` in flight: requests/s and latency percentiles."""
    import aiohttp

    payload = json.dumps(REQUEST).encode()
    headers = {"content-type": "application/json", "authorization": f"Bearer {TOKEN}"}
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
            versions: dict[str, str] = {}
            if not args.no_litellm:
                args.venvs.mkdir(parents=True, exist_ok=True)
                try:
                    lite_process, lite_base, versions["litellm"] = start_litellm(upstream, work, args.venvs)
                except RuntimeError as error:  # meshkit serve is still measured against the upstream
                    print(f"LiteLLM's proxy left out: {error}", file=sys.stderr)
                    versions["litellm"] = f"did not start: {str(error).splitlines()[0]}"
                else:
                    processes.append(lite_process)
                    targets["litellm proxy"] = lite_base
            results: dict[str, dict[int, list[dict[str, float]]]] = {
                t: {c: [] for c in args.concurrency} for t in targets
            }
            load_before = os.getloadavg()
            for turn in range(args.rounds):
                for concurrency in args.concurrency:
                    order = list(targets) if turn % 2 == 0 else list(reversed(targets))
                    for name in order:
                        row = asyncio.run(run_level(targets[name], args.requests, concurrency))
                        results[name][concurrency].append(row)
            load = {"before": load_before, "after": os.getloadavg()}
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)
    report(results, args, versions, load)


def report(
    results: dict[str, dict[int, list[dict[str, float]]]],
    args: argparse.Namespace,
    versions: dict[str, str],
    load: dict[str, tuple[float, float, float]],
) -> None:
    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    summary: dict[str, Any] = {
        "rounds": args.rounds,
        "requests": args.requests,
        "versions": versions,
        "load_average": load,
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
    print(
        f"{args.requests} requests per target and level, median of {args.rounds} rounds (min-max); "
        f"{versions or ''}; load average {load['before'][0]:.2f} before, {load['after'][0]:.2f} after"
    )
    print(
        "| in flight | target | req/s (min-max) | vs direct | p50 ms | p99 ms | added p50 ms | added p99 ms |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for concurrency, level in summary["levels"].items():
        for name, row in level.items():
            low, high = row["rps_spread"]
            print(
                f"| {concurrency} | {name} | {row['rps']:,.0f} ({low:,.0f}-{high:,.0f}) "
                f"| {row['rps_vs_direct']:.2f}x | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} "
                f"| {row['added_p50_ms']:.2f} | {row['added_p99_ms']:.2f} |"
            )


if __name__ == "__main__":
    main()
