"""A loopback HTTP server that misbehaves on purpose, one behaviour per model name.

It speaks just enough HTTP/1.1 for httpx and aiohttp, on its own event loop in a thread.
The request's ``model`` picks what happens:

- ``healthy``: a proper chat-completions answer (JSON, or SSE when ``stream`` is set);
- ``gzipped``: the same JSON answer, sent with ``Content-Encoding: gzip``;
- ``trickle``: a 200 whose body arrives one byte per ``tick``, until the client goes away;
- ``trickle-declared``: the same, with a ``Content-Length`` it never reaches;
- ``huge``: a 200 whose body never ends, written as fast as the client reads it;
- ``stall-first``: a 200 stream that sends nothing, until released;
- ``stall-mid``: a 200 stream that sends two chunks, then nothing, until released;
- ``endless-line``: a 200 stream whose first line never ends;
- ``ping-forever``: a 200 stream of keep-alive comments and no chunk, one per ``tick``;
- ``echo-<form>``: a 500 whose body echoes the presented credentials (the ``Authorization``
  header after its scheme) in one form: ``raw``, ``url``, ``url-lower``, ``json`` (escaped, in a
  plain-text body so that the escapes survive), ``b64``, or ``header`` (the whole header).

The server counts the bytes it wrote per model and records when a client hung up, so a test
can tell that the client stopped reading and gave the connection back.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import re
import threading
import urllib.parse
from collections import Counter
from typing import Any, Self

_HEAD = "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nConnection: close\r\n{extra}\r\n"


class HostileServer:
    """Start with ``with HostileServer() as server:``; point a provider at ``server.base_url``."""

    def __init__(self, *, tick: float = 0.005) -> None:
        self.tick = tick
        self.sent: Counter[str] = Counter()
        self.hung_up: Counter[str] = Counter()
        self._loop = asyncio.new_event_loop()
        self._release: asyncio.Event | None = None
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._port = 0
        self._changed = threading.Condition()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def release(self) -> None:
        """Let every stalled response finish."""
        release = self._release
        if release is not None:
            self._loop.call_soon_threadsafe(release.set)

    def wait_for_hang_up(self, model: str, count: int = 1, timeout: float = 10.0) -> bool:
        """Whether ``count`` clients of ``model`` hung up within ``timeout`` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self.hung_up[model] >= count, timeout=timeout)

    async def _start(self) -> None:
        self._release = asyncio.Event()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self._port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._release is not None and self._server is not None
        self._release.set()
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        model = "?"
        try:
            body, headers = await _read_request(reader)
            model = str(body.get("model", "?"))
            if model.startswith("echo-"):
                await self._write(model, writer, _echo(model.removeprefix("echo-"), headers))
            else:
                await self._answer(model, bool(body.get("stream")), reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            with self._changed:
                self.hung_up[model] += 1
                self._changed.notify_all()
        finally:
            writer.close()

    async def _write(self, model: str, writer: asyncio.StreamWriter, data: bytes) -> None:
        if writer.is_closing():
            raise ConnectionResetError("the client went away")
        writer.write(data)
        await writer.drain()
        self.sent[model] += len(data)

    async def _answer(
        self, model: str, stream: bool, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if model == "healthy":
            await self._write(model, writer, _healthy(stream))
        elif model == "gzipped":
            head, _, raw = _healthy(False).partition(b"\r\n\r\n")
            packed = gzip.compress(raw)
            head = head.replace(
                f"Content-Length: {len(raw)}".encode(), f"Content-Length: {len(packed)}".encode()
            )
            await self._write(model, writer, head + b"\r\nContent-Encoding: gzip\r\n\r\n" + packed)
        elif model in ("trickle", "trickle-declared"):
            extra = "Content-Length: 100000\r\n" if model == "trickle-declared" else ""
            await self._write(model, writer, _HEAD.format(kind="application/json", extra=extra).encode())
            while True:
                await self._write(model, writer, b" ")
                await self._wait_or_hang_up(reader, self.tick)
        elif model == "huge":
            await self._write(model, writer, _HEAD.format(kind="application/json", extra="").encode())
            block = b'{"pad": "' + b"x" * 65_000 + b'"}\n'
            while True:
                await self._write(model, writer, block)
        elif model in ("stall-first", "stall-mid"):
            await self._write(model, writer, _HEAD.format(kind="text/event-stream", extra="").encode())
            if model == "stall-mid":
                await self._write(model, writer, _sse_chunk("Hello") + _sse_chunk(" there"))
            await self._wait_or_hang_up(reader, None)
        elif model == "endless-line":
            await self._write(model, writer, _HEAD.format(kind="text/event-stream", extra="").encode())
            await self._write(model, writer, b'data: {"choices": [{"delta": {"content": "')
            while True:
                await self._write(model, writer, b"x" * 4096)
        elif model == "ping-forever":
            await self._write(model, writer, _HEAD.format(kind="text/event-stream", extra="").encode())
            while True:
                await self._write(model, writer, b": ping\n\n")
                await self._wait_or_hang_up(reader, self.tick)

    async def _wait_or_hang_up(self, reader: asyncio.StreamReader, seconds: float | None) -> None:
        # Returns after ``seconds`` (or on release when None); raises once the client hangs up.
        assert self._release is not None
        hang_up = asyncio.ensure_future(reader.read(1))
        waits = [hang_up, asyncio.ensure_future(self._release.wait())]
        if seconds is not None:
            waits.append(asyncio.ensure_future(asyncio.sleep(seconds)))
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if hang_up in done:
            raise ConnectionResetError("the client went away")


async def _read_request(reader: asyncio.StreamReader) -> tuple[dict[str, Any], dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip():
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    raw = await reader.readexactly(length) if length else b"{}"
    data = json.loads(raw)
    return (data if isinstance(data, dict) else {}), headers


def _echo(form: str, headers: dict[str, str]) -> bytes:
    header = headers.get("authorization", "")
    key = header.partition(" ")[2]
    spelled = {
        "raw": key,
        "url": urllib.parse.quote(key, safe=""),
        "url-lower": re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), urllib.parse.quote(key, safe="")),
        "json": json.dumps(key)[1:-1],
        "b64": base64.b64encode(key.encode()).decode(),
        "header": header,
    }[form]
    message = f"upstream trouble with key {spelled} (form {form})"
    if form == "json":
        raw, kind = f'proxy said: {{"key": "{spelled}"}}'.encode(), "text/plain"
    else:
        raw, kind = (
            json.dumps({"error": {"message": message, "type": "server_error"}}).encode(),
            "application/json",
        )
    head = f"HTTP/1.1 500 Internal Server Error\r\nContent-Type: {kind}\r\nConnection: close\r\n"
    return f"{head}Content-Length: {len(raw)}\r\n\r\n".encode() + raw


def _sse_chunk(text: str) -> bytes:
    chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
    return f"data: {json.dumps(chunk)}\n\n".encode()


def _healthy(stream: bool) -> bytes:
    if stream:
        done = {
            "id": "c1",
            "object": "chat.completion.chunk",
            "model": "healthy",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
        body = _sse_chunk("Fine") + _sse_chunk(" here.") + f"data: {json.dumps(done)}\n\n".encode()
        body += b"data: [DONE]\n\n"
        return _HEAD.format(kind="text/event-stream", extra="").encode() + body
    answer = {
        "id": "r1",
        "object": "chat.completion",
        "created": 0,
        "model": "healthy",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Fine here."}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4},
    }
    raw = json.dumps(answer).encode()
    extra = f"Content-Length: {len(raw)}\r\n"
    return _HEAD.format(kind="application/json", extra=extra).encode() + raw
