"""A router process for the shared-state tests, run as ``python state_child.py <state-dir>``.

It serves a mesh over the file storage (sync policy ``immediate``) and answers one line per
command read from stdin: ``complete`` (the model that answered), ``deactivate <model>`` and
``activate <model>`` (``True``/``False``), ``status <model>`` (status and reason, as this
process sees it now), ``requests <model>`` (the model's request count, likewise), ``quit``.
"""

from __future__ import annotations

import sys
from typing import Any

import anyio
from runtime_helpers import USER, two_provider_config

from meshkit.runtime.mesh import Mesh


def config(directory: str) -> dict[str, Any]:
    cfg = two_provider_config()
    cfg["storage"] = {"connector": "file", "config": {"path": directory}, "sync_policy": "immediate"}
    return cfg


async def serve(directory: str) -> None:
    async with Mesh.from_config(config(directory)) as mesh:
        print("ready", flush=True)
        while True:
            line = await anyio.to_thread.run_sync(sys.stdin.readline)
            command, _, arg = line.strip().partition(" ")
            if command in ("", "quit"):
                return
            if command == "complete":
                answer = (await mesh.complete(model="chat", messages=USER)).model
            elif command == "deactivate":
                answer = str(await mesh.deactivate(arg))
            elif command == "activate":
                answer = str(await mesh.activate(arg))
            elif command == "status":
                model = mesh.status()["models"][arg]
                answer = f"{model['status']} {model['reason']}"
            elif command == "requests":
                answer = str(mesh.status()["models"][arg]["counters"]["requests"])
            else:
                answer = f"unknown command {command!r}"
            print(answer, flush=True)


if __name__ == "__main__":
    anyio.run(serve, sys.argv[1])
