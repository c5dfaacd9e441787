"""`meshkit serve` on loopback for the tests: uvicorn in a thread, or the real command in a process."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from aiohttp import web

from meshkit.config import structure
from meshkit.runtime.settings import ServeSettings
from meshkit.serve import build_app
from meshkit.testing.mock_server import MockOpenAIServer

USER = [{"role": "user", "content": "hi"}]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Server(uvicorn.Server):
    """A uvicorn server that says when it is listening and installs no signal handlers."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.listening.set()

    def install_signal_handlers(self) -> None:  # the test's thread is not the main thread
        return None


@contextmanager
def serving(config: Mapping[str, Any], **settings: Any) -> Iterator[str]:
    """The app for ``config`` on a free loopback port; yields its base URL (``…/v1``)."""
    port = free_port()
    serve = structure({**settings, "port": port}, ServeSettings)
    app = build_app(dict(config), settings=serve)
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    failed: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve())
        except BaseException as exc:  # a startup failure ends uvicorn with SystemExit
            failed.append(exc)
        finally:
            server.listening.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        server.listening.wait(60)
        if failed or not server.started:
            raise RuntimeError(f"meshkit serve did not start: {failed!r}")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(30)


def write_config(path: Path, config: Mapping[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(dict(config)), encoding="utf-8")
    return path


class ServeProcess:
    """The real `meshkit serve` command in a process, its output collected as it comes."""

    def __init__(self, command: list[str], env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(env)
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, text: str, count: int = 1, timeout: float = 60.0) -> None:
        """Block until ``text`` has appeared in ``count`` output lines (or the process ended)."""

        def seen() -> bool:
            return sum(text in line for line in self.lines) >= count or self.process.poll() is not None

        with self._changed:
            self._changed.wait_for(seen, timeout)
            if sum(text in line for line in self.lines) < count:
                raise RuntimeError(f"meshkit serve never printed {text!r}:\n" + "\n".join(self.lines))

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)


@contextmanager
def serve_process(
    config: Path, port: int, *extra: str, workers: int = 1, env: Mapping[str, str] | None = None
) -> Iterator[ServeProcess]:
    """`meshkit serve` on ``port``; yields once every worker has finished starting its mesh."""
    command = [
        str(Path(sys.executable).parent / "meshkit"),
        "serve",
        "--config",
        str(config),
        "--port",
        str(port),
    ]
    if workers > 1:
        command += ["--workers", str(workers)]
    served = ServeProcess([*command, *extra], {**os.environ, **(env or {})})
    try:
        served.wait_for("Application startup complete", count=workers)
        yield served
    finally:
        if served.process.poll() is None:
            served.process.terminate()
            try:
                served.process.wait(30)
            except subprocess.TimeoutExpired:
                served.process.kill()


def mesh_config(upstream: MockOpenAIServer, **extra: Any) -> dict[str, Any]:
    """Two models on the mock server, in a pool `chat` that prefers `local.small`."""
    config: dict[str, Any] = {
        "providers": {
            "local": {
                "connector": "openai-compatible",
                "config": {"base_url": upstream.base_url, "timeout": "10s"},
            }
        },
        "models": {"local.small": {"provider": "local"}, "local.large": {"provider": "local"}},
        "pools": {
            "chat": {
                "models": ["local.small", "local.large"],
                "rotation": {"connector": "stick-until-failure", "config": {"failure_threshold": 1}},
                "retry": {"max_attempts": 2, "initial_delay": "1ms"},
            }
        },
    }
    config.update(extra)
    return config


def called(upstream: MockOpenAIServer, path: str = "/chat/completions") -> list[str]:
    return [r.json["model"] for r in upstream.requests if r.path.endswith(path)]


class HeldStream:
    """An OpenAI-compatible upstream that holds its answers until the test releases them.

    A stream sends one chunk, then waits; a plain completion waits, then answers. It records
    when a client's connection to it closes (the upstream call being cancelled, as a real
    provider sees it) and when a request has arrived, so tests wait on events, not on time.
    """

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.first_chunk_sent = threading.Event()
        self.connection_closed = threading.Event()
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.arrived.set()
        if not body.get("stream"):
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            return web.json_response(
                {
                    "id": "c1",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "held"},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            )
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        chunk = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "model": "small",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}],
        }
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.first_chunk_sent.set()
        try:
            await asyncio.Event().wait()  # never finishes on its own
        except asyncio.CancelledError:
            self.connection_closed.set()
            raise
        return response

    def __enter__(self) -> HeldStream:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        runner = web.AppRunner(app, handler_cancellation=True)  # a closed connection cancels the handler
        self._thread.start()
        asyncio.run_coroutine_threadsafe(runner.setup(), self._loop).result(30)
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        asyncio.run_coroutine_threadsafe(site.start(), self._loop).result(30)
        self._runner = runner
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
