"""What one request costs the client process, counted in instructions, beside the bare clients.

Run it with::

    .venv/bin/python bench/cost.py                                  # every contender
    .venv/bin/python bench/cost.py --contenders aiohttp meshkit --requests 300
    .venv/bin/python bench/cost.py --contenders "routed round-robin" --sizes 10 1000
    .venv/bin/python bench/cost.py --timer cpu                      # CPU time, where valgrind is missing
    .venv/bin/python bench/cost.py --timer cpu --rounds 7           # the least of seven rounds
    .venv/bin/python bench/cost.py --contenders "routed stick-until-failure" --sizes 10 --without select
    .venv/bin/python bench/cost.py --contenders meshkit --keep /tmp/cg  # keep the profile:
    callgrind_annotate --inclusive=yes /tmp/cg/meshkit.out | head -60

Each contender runs in its own process, sequentially (one request in flight), warms up, then
sends ``--requests`` requests. Under ``--timer callgrind`` (the default when valgrind and a C
compiler are there) the process runs under valgrind's callgrind with instrumentation switched on
only around those requests, so the figure is the instructions the client executed per request:
repeatable to about a percent on a busy machine, where wall-clock and CPU time are not.
Instructions are not time (a cache miss costs more than an add), so read the ratios.

Contenders against the minimal aiohttp upstream of ``bench/transport.py`` (its own process, not
counted): plain ``aiohttp``, plain ``httpx``, ``httpx`` over httpx-aiohttp's transport, the
openai-compatible ``provider``'s ``complete()``, and ``meshkit`` (``mesh.complete()`` routed
through a one-model pool over that provider; ``meshkit (httpx)`` with ``transport: httpx``).
Not run unless named, the provider's layers one on top of the other (each adds the difference
to the one before; ``provider`` adds ``parse_response``): ``provider: transport`` (the aiohttp
transport's ``fetch_whole`` of one built request), ``provider: fetch`` and
``provider: build + fetch``::

    .venv/bin/python bench/cost.py --contenders aiohttp "provider: transport" "provider: fetch" \
        "provider: build + fetch" provider

In process, with no network: ``mock provider`` (``MockProvider.complete`` called directly) and
``routed <policy>`` (``mesh.complete()`` over a pool of ``--sizes`` mock models with that
rotation policy, one request in eight without a session and the rest spread over 100 sessions).
``routed <policy>`` minus ``mock provider`` is the router's own cost.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from _load import sibling

HERE = Path(__file__).resolve().parent
MESSAGES = [{"role": "user", "content": "Say hello."}]
HTTP = ("aiohttp", "httpx", "httpx+aiohttp", "provider", "meshkit", "meshkit (httpx)")
#: The provider's layers, one on top of the other: what each adds is the difference to the last.
LAYERS = ("provider: transport", "provider: fetch", "provider: build + fetch")
POLICIES = (
    "stick-until-failure",
    "round-robin",
    "priority",
    "session-sticky",
    "cost-first",
    "latency-first",
    "weighted",
    "rate-limit-aware",
)
IN_PROCESS = ("mock provider", *(f"routed {p}" for p in POLICIES))
Send = Callable[[], Awaitable[Any]]

_MARKER_C = """
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_ZERO_STATS; }
void cg_stop(void) { CALLGRIND_DUMP_STATS_AT("measured"); CALLGRIND_STOP_INSTRUMENTATION; }
"""


# --- the contenders (in the measured process) ---------------------------------------------


def mock_config(size: int, policy: str) -> dict[str, Any]:
    """``size`` mock models in one pool under ``policy``, each with a price, limits and a weight."""
    names = [f"m{i}" for i in range(size)]
    return {
        "providers": {"fake": {"connector": "mock", "config": {"models": names}}},
        "models": {
            f"fake.{n}": {
                "provider": "fake",
                "priority": i % 5,
                "weight": 1 + i % 7,
                "pricing": {"input_per_1k": 0.001 * (1 + i % 11), "output_per_1k": 0.002 * (1 + i % 13)},
                "limits": {"requests_per_minute": 10_000_000, "tokens_per_minute": 100_000_000},
            }
            for i, n in enumerate(names)
        },
        "pools": {"chat": {"models": [f"fake.{n}" for n in names], "rotation": {"connector": policy}}},
        "storage": {"sync_policy": "in-memory"},
    }


@contextlib.asynccontextmanager
async def contender(name: str, url: str, size: int) -> AsyncIterator[Send]:
    """``send()`` for contender ``name``, open for the duration."""
    if name in ("aiohttp", "httpx", "httpx+aiohttp"):
        async with sibling("_peer_client").CONTENDERS[name](url, 1) as send:
            yield send
        return
    from meshkit import Mesh
    from meshkit.types import CompletionRequest

    if name in LAYERS:
        from meshkit.connectors.providers.openai_compatible import OpenAICompatibleProvider

        provider = OpenAICompatibleProvider({"base_url": url, "transport": "aiohttp"}, name="up")
        request = CompletionRequest(messages=MESSAGES, model="bench", max_tokens=16)
        async with provider:
            built = provider.build_request(request, stream=False)
            fetch_whole = provider.transport.fetch_whole  # type: ignore[attr-defined]

            async def layer() -> None:
                if name == "provider: transport":
                    await fetch_whole(built, 1 << 20, lambda status: None, 30.0)
                elif name == "provider: fetch":
                    await provider.fetch(built)
                else:
                    await provider.fetch(provider.build_request(request, stream=False))

            yield layer
        return
    if name == "provider":
        from meshkit.connectors.providers.openai_compatible import OpenAICompatibleProvider

        provider = OpenAICompatibleProvider({"base_url": url}, name="up")
        request = CompletionRequest(messages=MESSAGES, model="bench", max_tokens=16)
        async with provider:
            yield lambda: provider.complete(request)
        return
    if name == "mock provider":
        from meshkit.connectors.providers.mock import MockProvider

        mock = MockProvider({"models": ["m0"]}, name="fake")
        request = CompletionRequest(messages=MESSAGES, model="m0")

        async def direct() -> None:
            await mock.complete(request)
            mock.calls.clear()  # it records every call, by design: not what is measured

        async with mock:
            yield direct
        return
    if name.startswith("routed "):
        sessions = [None, *(f"s{i}" for i in range(100))]
        turn = iter(range(1 << 62))
        async with Mesh.from_config(mock_config(size, name.removeprefix("routed "))) as mesh:
            mocked = mesh.providers["fake"]

            async def routed() -> None:
                n = next(turn)
                session = None if n % 8 == 0 else sessions[1 + n % 100]
                await mesh.complete(model="chat", messages=MESSAGES, session_id=session)
                mocked.calls.clear()  # type: ignore[attr-defined]

            yield routed
        return
    transport = "httpx" if name == "meshkit (httpx)" else "auto"
    config = {
        "providers": {
            "up": {"connector": "openai-compatible", "config": {"base_url": url, "transport": transport}}
        },
        "models": {"up.bench": {"provider": "up"}},
        "pools": {"chat": {"models": ["up.bench"]}},
        "storage": {"sync_policy": "in-memory"},
    }
    async with Mesh.from_config(config) as mesh:
        yield lambda: mesh.complete(model="chat", messages=MESSAGES, max_tokens=16)


def run_client(
    name: str,
    url: str,
    size: int,
    requests: int,
    warmup: int,
    marker: str | None,
    without: list[str],
    rounds: int = 1,
) -> None:
    """Warm up, then send ``requests`` requests one after another; print the CPU time per request.

    With ``rounds`` (CPU time only), the least of that many rounds: what another process or the
    host takes from this one only ever adds to a round, so the least-disturbed is the closest.
    """
    import asyncio
    import ctypes
    import time

    sibling("_ablation").switch_off(without)

    marks = ctypes.CDLL(marker) if marker else None

    async def main() -> float:
        async with contender(name, url, size) as send:
            for _ in range(warmup):
                await send()
            least = float("inf")
            for _ in range(1 if marks is not None else rounds):
                cpu = time.process_time()
                if marks is not None:
                    marks.cg_start()
                for _ in range(requests):
                    await send()
                if marks is not None:
                    marks.cg_stop()
                least = min(least, time.process_time() - cpu)
            return least

    cpu = asyncio.run(main())
    print(json.dumps({"cpu_us": cpu / requests * 1e6}))


# --- the driver -----------------------------------------------------------------------------


def build_marker(directory: Path) -> str | None:
    """A tiny library whose two calls switch callgrind's counting on and off; None if it cannot be built."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or not shutil.which("valgrind"):
        return None
    source, library = directory / "cgmark.c", directory / "cgmark.so"
    source.write_text(_MARKER_C)
    done = subprocess.run(
        [compiler, "-O2", "-shared", "-fPIC", "-o", str(library), str(source)], capture_output=True
    )
    return str(library) if done.returncode == 0 else None


def measure(
    name: str, url: str, size: int, args: argparse.Namespace, marker: str | None, work: Path
) -> float:
    """Instructions (callgrind) or CPU µs (cpu) per request of contender ``name``."""
    client = [__file__, "--client", name, "--url", url, "--size", str(size)]
    client += ["--requests", str(args.requests), "--warmup", str(args.warmup), "--rounds", str(args.rounds)]
    if args.without:
        client += ["--without", *args.without]
    if marker is None:
        done = subprocess.run([sys.executable, *client], capture_output=True, text=True, check=True)
        return float(json.loads(done.stdout.splitlines()[-1])["cpu_us"])
    out = work / f"{name.replace(' ', '_').replace('(', '').replace(')', '')}-{size}.out"
    argv = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        sys.executable,
        *client,
        "--marker",
        marker,
    ]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    dumps = sorted(work.glob(out.name + ".*"), key=lambda p: p.stat().st_mtime)
    if not dumps:
        raise RuntimeError(f"{name}: callgrind wrote no dump:\n{done.stderr[-3000:]}")
    dump = dumps[-1]
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            instructions = int(line.split()[1])
            break
    else:
        raise RuntimeError(f"{name}: no totals in {dump}")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(dump, args.keep / f"{out.stem}.out")
    for leftover in work.glob(out.name + "*"):
        leftover.unlink()
    return instructions / args.requests


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contenders", nargs="+", default=[*HTTP, *IN_PROCESS])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1000], help="models per routed pool")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--timer", choices=["callgrind", "cpu"], default=None)
    parser.add_argument(
        "--rounds", type=int, default=1, help="CPU time only: report the least of this many rounds"
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep each callgrind profile here")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--without",
        nargs="+",
        default=[],
        choices=sorted(sibling("_ablation").PARTS),
        help="switch these parts of a routed request off, to see what each costs",
    )
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=10, help=argparse.SUPPRESS)
    parser.add_argument("--marker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        run_client(
            args.client,
            args.url,
            args.size,
            args.requests,
            args.warmup,
            args.marker,
            args.without,
            args.rounds,
        )
        return
    unknown = [c for c in args.contenders if c not in (*HTTP, *LAYERS, *IN_PROCESS)]
    if unknown:
        parser.error(f"unknown contenders {unknown}; choose from {[*HTTP, *LAYERS, *IN_PROCESS]}")
    with tempfile.TemporaryDirectory(prefix="meshkit-cost-") as tmp:
        work = Path(tmp)
        marker = None if args.timer == "cpu" else build_marker(work)
        if args.timer == "callgrind" and marker is None:
            parser.error("--timer callgrind needs valgrind, its callgrind.h and a C compiler")
        unit = "instructions" if marker else "CPU µs"
        upstream = url = None
        if any(c in (*HTTP, *LAYERS) for c in args.contenders):
            upstream, url = sibling("transport").start_server("aiohttp")
        results: dict[str, dict[str, float]] = {}
        try:
            for name in args.contenders:
                sizes = args.sizes if name.startswith("routed ") else [0]
                for size in sizes:
                    value = measure(name, url or "", size, args, marker, work)
                    results.setdefault(name, {})[str(size)] = value
                    label = f"{name} @ {size}" if size else name
                    print(f"{label:<34} {value:>12,.0f} {unit} per request", file=sys.stderr, flush=True)
        finally:
            if upstream is not None:
                upstream.terminate()
                upstream.wait(30)
    report(results, unit, args.json)


def report(results: dict[str, dict[str, float]], unit: str, as_json: bool) -> None:
    """Per-request figures, with ratios to plain aiohttp and, in process, to the bare mock provider."""
    if as_json:
        print(json.dumps({"unit": unit, "results": results}, indent=2))
        return
    aiohttp = results.get("aiohttp", {}).get("0")
    mock = results.get("mock provider", {}).get("0")
    print(f"| contender | models | {unit} per request | vs aiohttp | above the bare mock provider |")
    print("|---|---:|---:|---:|---:|")
    for name, by_size in results.items():
        for size, value in by_size.items():
            vs_aiohttp = f"{value / aiohttp:.2f}x" if aiohttp and name in (*HTTP, *LAYERS) else ""
            above = f"{value - mock:,.0f}" if mock and name.startswith("routed ") else ""
            print(f"| {name} | {size if size != '0' else ''} | {value:,.0f} | {vs_aiohttp} | {above} |")
    sizes = sorted({int(s) for n, b in results.items() if n.startswith("routed ") for s in b})
    if len(sizes) >= 2:
        low, high = str(sizes[0]), str(sizes[-1])
        print(f"\npool-size scaling: per request at {high} models / at {low} models")
        for name, by_size in results.items():
            if name.startswith("routed ") and low in by_size and high in by_size:
                print(f"| {name.removeprefix('routed ')} | {by_size[high] / by_size[low]:.2f}x |")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")  # dict and set layouts, hence counts, repeat
    main()
