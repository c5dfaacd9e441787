"""``meshkit demo``: route a few requests through a local server, with a failover on the way."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

import anyio

from ..clock import Clock
from ..enums import EventType
from ..events import RoutingEvent
from ..interfaces.observability import Observability
from ._common import Subparsers
from .status import Printer, print_status

__all__ = ["add_parser", "demo_config", "in_process_demo_config", "run", "run_demo"]


def add_parser(sub: Subparsers) -> None:
    """Add ``demo`` to the ``meshkit`` subcommands."""
    p = sub.add_parser("demo", help="route a few requests through a local server, with a failover")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the router on an embedded default: no keys, no services to start."""
    return run_demo(_print_now)


def _print_now(line: str) -> None:
    print(line, flush=True)  # each line as it happens, also through a pipe


_TRIGGERS = {
    "cooldown_expired": "its cooldown is over",
    "probe_success": "its cooldown is over and a health probe passed",
    "quota_reset": "a new quota period began",
    "manual": "activated by hand",
    "startup_probe": "a probe at start passed",
}


class _EventPrinter(Observability):
    """Prints each routing event as one line a newcomer can read."""

    connector_id = "meshkit.demo-printer.v1"

    def __init__(self, out: Printer, clock: Clock) -> None:
        super().__init__()
        self._out = out
        self._clock = clock

    def handle_event(self, event: RoutingEvent) -> None:
        meta = event.metadata
        subject = event.model_id or event.provider_id or event.pool_id or "-"
        kind = event.event_type.value
        if event.event_type is EventType.MODEL_ROTATED:
            line = (
                f"{meta.get('from')} -> {meta.get('to')} after {meta.get('error_type')}: {meta.get('error')}"
            )
        elif event.event_type is EventType.MODEL_DEACTIVATED:
            line = f"{subject} set aside ({meta.get('reason')})"
            until = meta.get("cooldown_until")
            if until:
                wait = datetime.fromisoformat(str(until)) - self._clock.now()
                line += (
                    f"; cooldown {wait.total_seconds():.0f}s: the pool skips it until then, "
                    "and then it is active again"
                )
        elif event.event_type is EventType.MODEL_ACTIVATED:
            trigger = str(meta.get("trigger"))
            line = f"{subject} is back ({trigger}: {_TRIGGERS.get(trigger, 'recovered')})"
        else:
            details = ", ".join(f"{k}={v}" for k, v in meta.items() if v not in (None, [], {}))
            line = f"{subject}  {details}"
        self._out(f"    event  {kind:<18} {line}")


def demo_config(base_url: str) -> dict[str, Any]:
    """Two providers on the local server and one in-process, all in one chat pool."""
    return {
        "providers": {
            "primary": {"connector": "openai-compatible", "config": {"base_url": base_url, "timeout": "2s"}},
            "backup": {"connector": "openai-compatible", "config": {"base_url": base_url, "timeout": "2s"}},
            "local": {
                "connector": "mock",
                "config": {"models": ["tiny"], "reply": "Hello from the in-process model."},
            },
        },
        "models": {
            "primary.fast": {
                "provider": "primary",
                "name": "fast",
                "pricing": {"input_per_1k": 0.5, "output_per_1k": 1.5},
            },
            "backup.steady": {"provider": "backup", "name": "steady", "priority": 1},
            "local.tiny": {"provider": "local", "priority": 2},
        },
        "pools": {
            "chat": {
                "capability": "chat-completion",
                "rotation": {"connector": "priority", "config": {"failure_threshold": 2, "cooldown": "60s"}},
                "retry": {"max_attempts": 4, "same_model_retries": 0, "deadline": "10s"},
            }
        },
    }


def in_process_demo_config() -> dict[str, Any]:
    """The demo mesh on in-process mock providers, with the same scripted failures."""
    config = demo_config("http://127.0.0.1:1/v1")
    script = [{"error": "unavailable"}, {"error": "rate_limit", "retry_after": 30}]
    config["providers"]["primary"] = {"connector": "mock", "config": {"models": ["fast"], "script": script}}
    config["providers"]["backup"] = {"connector": "mock", "config": {"models": ["steady"]}}
    return config


def run_demo(out: Printer = print) -> int:
    """Route a handful of requests through a local server where one model is scripted to fail.

    Without aiohttp (which the local server needs) the same mesh runs on in-process mock
    providers instead, so the demo works with only meshkit's own dependencies.
    """
    try:
        from ..testing.mock_server import Fault, MockOpenAIServer
    except ImportError as exc:
        missing = exc.name or "aiohttp"
        out(
            f"meshkit demo: {missing} is not installed, so the providers are in-process mock ones instead "
            "of a local OpenAI-compatible server (pip install 'meshkit[fast]' for the HTTP version)."
        )
        _route_demo(in_process_demo_config(), out)
        return 0

    with MockOpenAIServer(models=["fast", "steady"]) as server:
        server.script("fast", Fault.status(503), Fault.rate_limit(retry_after=30))
        out(f"meshkit demo: a local OpenAI-compatible server at {server.base_url}")
        _route_demo(demo_config(server.base_url), out)
    return 0


def _route_demo(config: dict[str, Any], out: Printer) -> None:
    from ..runtime.mesh import Mesh
    from ..testing.fake_clock import FakeClock

    # A simulated clock: the cooldown passes at once instead of after a minute of waiting.
    clock = FakeClock()

    async def request(mesh: Mesh, n: int) -> None:
        pick = mesh.select("chat")
        out(f"request {n}: the policy picks {pick.model_id}")
        reply = await mesh.complete(model="chat", messages=[{"role": "user", "content": f"hi #{n}"}])
        out(f"  -> answered by {reply.model}: {reply.text!r} ({reply.usage.total_tokens} tokens)")

    async def main() -> None:
        printer = _EventPrinter(out, clock)
        mesh = Mesh.from_config(config, observability=[printer], clock=clock)
        out("pool 'chat' (rotation: priority) holds primary.fast, backup.steady and local.tiny;")
        out("primary.fast is scripted to answer 503, then 429 with Retry-After: 30.")
        out("The demo runs on a simulated clock, so its cooldowns pass without waiting.\n")
        async with mesh:
            for n in range(1, 6):
                await request(mesh, n)
            cooldown = 60
            out(f"\n{cooldown} seconds later (on the simulated clock), primary.fast's cooldown is over:")
            await clock.advance(cooldown)
            await mesh.check()
            await request(mesh, 6)
            out("\nfinal status:")
            print_status(mesh.status(), out)

    anyio.run(main)
