"""A local OpenAI-compatible (and Anthropic Messages) server for tests, demos and benchmarks.

It runs on ``127.0.0.1`` at a free port, in a background thread with its own asyncio
event loop, so asyncio and trio tests can both talk to it over real HTTP::

    from meshkit.testing.mock_server import Fault, MockOpenAIServer, Reply

    with MockOpenAIServer(models=["small", "large"]) as server:     # or: async with
        server.base_url                     # "http://127.0.0.1:PORT/v1"
        server.script(
            "small",                        # consumed one step per request to that model
            Fault.rate_limit(retry_after=2),
            Fault.status(503),
            Reply("scripted answer"),
        )
        ...                                 # point a provider at server.base_url
        server.requests                     # [RecordedRequest(method, path, headers, json), ...]
        server.wait_for_requests(1)         # block until a request has arrived (e.g. one that hangs)
        server.reset()                      # forget scripts and recorded requests

Endpoints:

- ``POST /v1/chat/completions``: JSON, or ``stream: true`` server-sent events ending in
  ``data: [DONE]``, with a final usage chunk when ``stream_options.include_usage`` is set.
- ``POST /v1/messages``: the Anthropic Messages API (``max_tokens`` and the
  ``anthropic-version`` header required), JSON or its SSE event types.
- ``GET /v1/models``: the model list, in Anthropic's shape when the request carries an
  ``anthropic-version`` header, OpenAI's otherwise. ``server.script_listing(...)`` scripts it.

Steps (each request to a model takes the next one; with none left, the default reply):

- ``Reply(text=None, *, tool_calls=(), finish_reason=None, usage=None, latency=None)``;
  ``tool_calls`` items are ``{"name": ..., "arguments": {...}}``.
- ``Fault.rate_limit(retry_after=None)`` 429 with ``Retry-After`` (seconds or an HTTP date);
  ``Fault.quota()`` the quota-exhausted body; ``Fault.auth()`` 401; ``Fault.context_window()``
  the context-length body; ``Fault.overloaded()`` 503 (529 on the Anthropic endpoint);
  ``Fault.status(code, message=None, *, retry_after=None, body=None)`` any status;
  ``Fault.hang(after=None)`` never answers (or stalls a stream after ``after`` chunks) until
  the client gives up or the server stops; ``Fault.cut_stream(after=2)`` drops the connection
  after ``after`` chunks (a plain response is cut mid-body); ``Fault.garbage()`` a 200 that is
  not the protocol; ``Fault.disconnect()`` closes the connection without answering;
  ``Fault.stream_error(after=1, error="overloaded")`` sends the API's error event mid-stream.

Constructor options: ``models``, ``reply`` (``{model}`` is replaced; default
``"Hello from {model}."``), ``echo`` (answer with the last user message), ``latency``
(seconds, for every model or a ``{model: seconds}`` mapping; ``set_latency`` changes it)
and ``api_key`` (when set, a request without that key gets a 401).

``python -m meshkit.testing.mock_server --port 8000 --models small,large`` serves until
interrupted and prints its base URL first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Self

import anyio.to_thread
import attrs
from aiohttp import web

__all__ = ["Fault", "MockOpenAIServer", "RecordedRequest", "Reply"]

Flavour = Literal["openai", "anthropic"]

#: A hang lasts at most this long, so a forgotten client never pins a handler forever.
_MAX_HANG_SECONDS = 300.0


@attrs.frozen
class Reply:
    """A scripted answer: text and/or tool calls."""

    text: str | None = None
    tool_calls: Sequence[Mapping[str, Any]] = attrs.field(default=(), kw_only=True)
    finish_reason: str | None = attrs.field(default=None, kw_only=True)
    usage: Mapping[str, int] | None = attrs.field(default=None, kw_only=True)
    latency: float | None = attrs.field(default=None, kw_only=True)


FaultKind = Literal["status", "hang", "cut", "garbage", "disconnect", "stream_error"]


@attrs.frozen(kw_only=True)
class Fault:
    """A scripted failure; build one with the class methods."""

    kind: FaultKind
    http_status: int = 200
    error: str | None = None
    message: str | None = None
    retry_after: float | str | None = None
    after: int | None = None
    body: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)

    @classmethod
    def status(
        cls,
        code: int,
        message: str | None = None,
        *,
        retry_after: float | str | None = None,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Fault:
        """Answer with HTTP ``code`` and the API's error body (or ``body`` verbatim), plus ``headers``."""
        return cls(
            kind="status",
            http_status=code,
            message=message,
            retry_after=retry_after,
            body=body,
            headers=dict(headers or {}),
        )

    @classmethod
    def rate_limit(cls, retry_after: float | str | None = None) -> Fault:
        """429 rate limited, with ``Retry-After`` when given."""
        return cls(kind="status", http_status=429, error="rate_limit", retry_after=retry_after)

    @classmethod
    def quota(cls) -> Fault:
        """The quota for the period is spent (OpenAI: 429 insufficient_quota; Anthropic: 402)."""
        return cls(kind="status", http_status=429, error="quota")

    @classmethod
    def auth(cls) -> Fault:
        """401: the key is refused."""
        return cls(kind="status", http_status=401, error="auth")

    @classmethod
    def context_window(cls) -> Fault:
        """400: the prompt is longer than the model's context window."""
        return cls(kind="status", http_status=400, error="context_window")

    @classmethod
    def overloaded(cls, retry_after: float | str | None = None) -> Fault:
        """The service is overloaded (503; 529 on the Anthropic endpoint)."""
        return cls(kind="status", http_status=503, error="overloaded", retry_after=retry_after)

    @classmethod
    def hang(cls, after: int | None = None) -> Fault:
        """Never answer; with ``after``, stall a stream after that many chunks."""
        return cls(kind="hang", after=after)

    @classmethod
    def cut_stream(cls, after: int = 2) -> Fault:
        """Drop the connection after ``after`` chunks; a plain response is cut mid-body."""
        return cls(kind="cut", after=after)

    @classmethod
    def garbage(cls) -> Fault:
        """A 200 whose body is not the protocol."""
        return cls(kind="garbage")

    @classmethod
    def disconnect(cls) -> Fault:
        """Close the connection without sending a response."""
        return cls(kind="disconnect")

    @classmethod
    def stream_error(cls, after: int = 1, error: str = "overloaded") -> Fault:
        """A stream that sends an error event after ``after`` chunks (a plain request gets the status).

        ``error`` is one of rate_limit, quota, auth, context_window, overloaded.
        """
        status = {"rate_limit": 429, "quota": 429, "auth": 401, "context_window": 400}.get(error, 503)
        return cls(kind="stream_error", http_status=status, error=error, after=after)


Step = Reply | Fault


@attrs.frozen
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: Mapping[str, str]
    json: Any


class MockOpenAIServer:
    """A scriptable OpenAI-compatible server on 127.0.0.1, run in a background thread."""

    def __init__(
        self,
        models: Sequence[str] = ("small", "large"),
        *,
        reply: str = "Hello from {model}.",
        echo: bool = False,
        latency: float | Mapping[str, float] = 0.0,
        api_key: str | None = None,
        port: int = 0,
    ) -> None:
        self.models = list(models)
        self.reply = reply
        self.echo = echo
        self.api_key = api_key
        self._initial_latency = latency
        self._port = port
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._scripts: dict[str, deque[Step]] = {}
        self._listing_script: deque[Step] = deque()
        self._requests: list[RecordedRequest] = []
        self._latency: dict[str, float] = {}
        self._default_latency = 0.0
        self._apply_initial_latency()
        self._ids = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._bound_port: int | None = None

    # --- scripting (called from the test's thread) -----------------------------------

    def script(self, model: str, *steps: Step) -> None:
        """Queue steps for ``model``; each request to it takes the next one."""
        for step in steps:
            if not isinstance(step, Reply | Fault):
                raise TypeError(f"script({model!r}): expected Reply or Fault steps, got {step!r}")
        with self._lock:
            self._scripts.setdefault(model, deque()).extend(steps)

    def script_listing(self, *steps: Fault) -> None:
        """Queue faults for ``GET /v1/models``; each listing takes the next one."""
        with self._lock:
            self._listing_script.extend(steps)

    def set_latency(self, model: str | None, seconds: float) -> None:
        """Delay every answer for ``model`` (``None``: every model) by ``seconds``."""
        with self._lock:
            if model is None:
                self._default_latency = seconds
            else:
                self._latency[model] = seconds

    def pending(self, model: str) -> int:
        """How many scripted steps ``model`` has left."""
        with self._lock:
            return len(self._scripts.get(model, ()))

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> bool:
        """Block until ``count`` requests have arrived in total; False if ``timeout`` passes first."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self._requests) >= count, timeout)

    @property
    def requests(self) -> list[RecordedRequest]:
        """What the server received, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget scripts, recorded requests and latency changes."""
        with self._lock:
            self._scripts.clear()
            self._listing_script.clear()
            self._requests.clear()
            self._latency.clear()
            self._default_latency = 0.0
            self._apply_initial_latency()

    def _apply_initial_latency(self) -> None:
        if isinstance(self._initial_latency, Mapping):
            self._latency.update(self._initial_latency)
        else:
            self._default_latency = float(self._initial_latency)

    # --- lifecycle ------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._bound_port is None:
            raise RuntimeError("MockOpenAIServer is not running; use it as a context manager or call start()")
        return self._bound_port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        """Start serving in a background thread; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError("MockOpenAIServer is already running; stop() it before starting it again")
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # reported to start()'s caller below
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="meshkit-mock-openai-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            self._loop = None
            loop.close()
            raise RuntimeError(f"MockOpenAIServer could not start: {failure[0]}") from failure[0]

    def stop(self) -> None:
        """Stop serving, releasing hung requests first. Idempotent."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
            loop.close()
            self._thread = None
            self._loop = None
            self._bound_port = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await anyio.to_thread.run_sync(self.start)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await anyio.to_thread.run_sync(self.stop)

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_get("/v1/models", self._list_models)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        try:
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            self._runner = None
            raise
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self._bound_port = int(sockets[0].getsockname()[1])

    async def _shutdown(self) -> None:
        if self._stopping is not None:
            self._stopping.set()  # hung handlers return at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- request handling (server thread) -------------------------------------------

    def _record(self, request: web.Request, body: Any) -> None:
        with self._arrived:
            self._requests.append(
                RecordedRequest(
                    method=request.method, path=request.path, headers=dict(request.headers), json=body
                )
            )
            self._arrived.notify_all()

    def _next_step(self, model: str) -> Step | None:
        with self._lock:
            queue = self._scripts.get(model)
            return queue.popleft() if queue else None

    def _latency_for(self, model: str) -> float:
        with self._lock:
            return self._latency.get(model, self._default_latency)

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._ids += 1
            return f"{prefix}{self._ids}"

    def _presented_key(self, request: web.Request) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return request.headers.get("x-api-key")

    async def _read_json(
        self, request: web.Request, flavour: Flavour
    ) -> tuple[Any, web.StreamResponse | None]:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._record(request, raw.decode("utf-8", "replace"))
            return None, _error(flavour, 400, "invalid_request", "the request body is not valid JSON")
        self._record(request, body)
        if not isinstance(body, dict):
            return None, _error(flavour, 400, "invalid_request", "the request body must be a JSON object")
        return body, None

    def _check_key(self, request: web.Request, flavour: Flavour) -> web.StreamResponse | None:
        if self.api_key is None:
            return None
        presented = self._presented_key(request)
        if presented == self.api_key:
            return None
        return _fault_response(Fault.auth(), flavour, presented)

    async def _list_models(self, request: web.Request) -> web.StreamResponse:
        flavour: Flavour = "anthropic" if "anthropic-version" in request.headers else "openai"
        self._record(request, None)
        refused = self._check_key(request, flavour)
        if refused is not None:
            return refused
        with self._lock:
            step = self._listing_script.popleft() if self._listing_script else None
        if isinstance(step, Fault):
            return await self._fault(request, step, flavour, stream=False, model="models")
        if flavour == "anthropic":
            data = [
                {
                    "type": "model",
                    "id": m,
                    "display_name": m.replace("-", " ").title(),
                    "created_at": "2025-01-01T00:00:00Z",
                }
                for m in self.models
            ]
            return web.json_response(
                {
                    "data": data,
                    "has_more": False,
                    "first_id": data[0]["id"] if data else None,
                    "last_id": data[-1]["id"] if data else None,
                }
            )
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "meshkit"}
                    for m in self.models
                ],
            }
        )

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        return await self._complete(request, "openai")

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        return await self._complete(request, "anthropic")

    async def _complete(self, request: web.Request, flavour: Flavour) -> web.StreamResponse:
        body, bad = await self._read_json(request, flavour)
        if bad is not None:
            return bad
        refused = self._check_key(request, flavour)
        if refused is not None:
            return refused
        problem = _validate(body, flavour, request)
        if problem is not None:
            return _error(flavour, 400, "invalid_request", problem)
        model = str(body["model"])
        if model not in self.models:
            return _error(flavour, 404, "not_found", f"The model `{model}` does not exist")
        step = self._next_step(model)
        latency = step.latency if isinstance(step, Reply) and step.latency is not None else None
        delay = self._latency_for(model) if latency is None else latency
        if delay > 0 and await self._pause(delay):
            _abort(request)  # the server is stopping
            return web.Response(status=204)
        stream = bool(body.get("stream"))
        if isinstance(step, Fault):
            return await self._fault(request, step, flavour, stream=stream, model=model)
        answer = self._answer(step, model, body, flavour)
        if stream:
            events = _openai_events(answer, body) if flavour == "openai" else _anthropic_events(answer)
            return await self._send_events(request, events)
        payload = _openai_body(answer) if flavour == "openai" else _anthropic_body(answer)
        return web.json_response(payload)

    def _answer(self, step: Reply | None, model: str, body: dict[str, Any], flavour: Flavour) -> _Answer:
        messages = body.get("messages") or []
        if step is not None and (step.text is not None or step.tool_calls):
            text = step.text or ""
        elif self.echo:
            users = [
                _text_of(m.get("content"))
                for m in messages
                if isinstance(m, dict) and m.get("role") == "user"
            ]
            text = users[-1] if users else ""
        else:
            text = self.reply.replace("{model}", model)
            if _wants_json(body):
                text = json.dumps({"model": model, "reply": text})
        finish = "stop"
        stops = body.get("stop") if flavour == "openai" else body.get("stop_sequences")
        if isinstance(stops, str):
            stops = [stops]
        for stop in stops or []:
            if isinstance(stop, str) and stop and stop in text:
                text = text[: text.index(stop)]
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        words = text.split(" ") if text else []
        if isinstance(limit, int) and 0 < limit < len(words):
            text = " ".join(words[:limit])
            finish = "length"
        tool_calls = [
            {
                "id": self._next_id("call_" if flavour == "openai" else "toolu_"),
                "name": str(call["name"]),
                "arguments": call.get("arguments", {}),
            }
            for call in (step.tool_calls if step is not None else ())
        ]
        if tool_calls:
            finish = "tool_calls"
        if step is not None and step.finish_reason is not None:
            finish = step.finish_reason
        prompt = max(1, sum(len(_text_of(m.get("content"))) for m in messages if isinstance(m, dict)) // 4)
        completion = max(1, len(text.split())) if text or not tool_calls else len(tool_calls) * 8
        usage = {"prompt_tokens": prompt, "completion_tokens": completion}
        if step is not None and step.usage is not None:
            usage.update(step.usage)
        return _Answer(
            id=self._next_id("chatcmpl-" if flavour == "openai" else "msg_"),
            model=model,
            text=text,
            tool_calls=tool_calls,
            finish_reason=finish,
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
        )

    async def _send_events(
        self, request: web.Request, events: list[str], *, stop_after: int | None = None, hang: bool = False
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        for n, event in enumerate(events):
            if stop_after is not None and n >= stop_after:
                if hang:
                    await self._hang()
                _abort(request)
                return response
            await response.write(event.encode())
        await response.write_eof()
        return response

    async def _hang(self) -> None:
        await self._pause(_MAX_HANG_SECONDS)

    async def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``, or less if the server stops meanwhile; True when it is stopping."""
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _fault(
        self, request: web.Request, fault: Fault, flavour: Flavour, *, stream: bool, model: str
    ) -> web.StreamResponse:
        if fault.kind == "status" or (fault.kind == "stream_error" and not stream):
            return _fault_response(fault, flavour, self._presented_key(request))
        if fault.kind == "disconnect":
            _abort(request)
            return web.Response(status=204)
        answer = _Answer(
            id=self._next_id("chatcmpl-" if flavour == "openai" else "msg_"),
            model=model,
            text=" ".join(f"word{i}" for i in range(1, 9)),
            tool_calls=[],
            finish_reason="stop",
            prompt_tokens=1,
            completion_tokens=8,
        )
        if fault.kind == "garbage":
            if stream:
                return await self._send_events(
                    request, ['data: {"id": "x", "choices": [oops\n\n', "data: [DONE]\n\n"]
                )
            return web.Response(
                status=200, text="<html>502 Bad Gateway</html>", content_type="application/json"
            )
        if fault.kind == "hang" and (fault.after is None or not stream):
            await self._hang()
            _abort(request)
            return web.Response(status=204)
        if stream:
            events = _openai_events(answer, {}) if flavour == "openai" else _anthropic_events(answer)
            # The first event(s) carry the role; count content chunks from there.
            head = 1 if flavour == "openai" else 3
            if fault.kind == "stream_error":
                body = json.loads(_fault_response(fault, flavour, None).text or "{}")
                error_event = _sse(body) if flavour == "openai" else _sse(body, "error")
                return await self._send_events(request, [*events[: head + (fault.after or 0)], error_event])
            return await self._send_events(
                request, events, stop_after=head + (fault.after or 0), hang=fault.kind == "hang"
            )
        # A plain response cut mid-body: promise the full length, send half, drop the connection.
        payload = json.dumps(
            _openai_body(answer) if flavour == "openai" else _anthropic_body(answer)
        ).encode()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(payload)
        await response.prepare(request)
        await response.write(payload[: len(payload) // 2])
        _abort(request)
        return response


@attrs.frozen(kw_only=True)
class _Answer:
    id: str
    model: str
    text: str
    tool_calls: list[dict[str, Any]]
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


def _abort(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _wants_json(body: Mapping[str, Any]) -> bool:
    fmt = body.get("response_format")
    return isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")


def _validate(body: dict[str, Any], flavour: Flavour, request: web.Request) -> str | None:
    if not isinstance(body.get("model"), str):
        return "model: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: a non-empty list is required"
    if flavour == "anthropic":
        if "anthropic-version" not in request.headers:
            return "anthropic-version: header is required"
        if not isinstance(body.get("max_tokens"), int):
            return "max_tokens: Field required"
        if any(isinstance(m, dict) and m.get("role") == "system" for m in messages):
            return 'messages: Unexpected role "system". Use the top-level `system` parameter instead'
    return None


# --- OpenAI wire format ------------------------------------------------------------------


def _openai_tool_calls(answer: _Answer) -> list[dict[str, Any]]:
    return [
        {
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])},
        }
        for call in answer.tool_calls
    ]


def _openai_usage(answer: _Answer) -> dict[str, int]:
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    }


def _openai_body(answer: _Answer) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": answer.text if answer.text or not answer.tool_calls else None,
    }
    if answer.tool_calls:
        message["tool_calls"] = _openai_tool_calls(answer)
    return {
        "id": answer.id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": answer.model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": answer.finish_reason, "logprobs": None}
        ],
        "usage": _openai_usage(answer),
    }


def _sse(data: Any, event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n"


def _openai_events(answer: _Answer, body: Mapping[str, Any]) -> list[str]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return _sse(
            {
                "id": answer.id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": answer.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    events = [chunk({"role": "assistant", "content": ""})]
    words = answer.text.split(" ") if answer.text else []
    events += [chunk({"content": w + (" " if i < len(words) - 1 else "")}) for i, w in enumerate(words)]
    for index, call in enumerate(_openai_tool_calls(answer)):
        events.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["function"]["name"], "arguments": ""},
                        }
                    ]
                }
            )
        )
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        for part in (arguments[:half], arguments[half:]):
            events.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]}))
    events.append(chunk({}, answer.finish_reason))
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage"):
        events.append(
            _sse(
                {
                    "id": answer.id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": answer.model,
                    "choices": [],
                    "usage": _openai_usage(answer),
                }
            )
        )
    events.append("data: [DONE]\n\n")
    return events


# --- Anthropic wire format ---------------------------------------------------------------

_ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


def _anthropic_stop(answer: _Answer) -> str:
    return _ANTHROPIC_STOP.get(answer.finish_reason, answer.finish_reason)


def _anthropic_body(answer: _Answer) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if answer.text or not answer.tool_calls:
        content.append({"type": "text", "text": answer.text})
    content += [
        {"type": "tool_use", "id": c["id"], "name": c["name"], "input": c["arguments"]}
        for c in answer.tool_calls
    ]
    return {
        "id": answer.id,
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": content,
        "stop_reason": _anthropic_stop(answer),
        "stop_sequence": None,
        "usage": {"input_tokens": answer.prompt_tokens, "output_tokens": answer.completion_tokens},
    }


def _anthropic_events(answer: _Answer) -> list[str]:
    start: dict[str, Any] = {
        "id": answer.id,
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": answer.prompt_tokens, "output_tokens": 1},
    }
    events = [
        _sse({"type": "message_start", "message": start}, "message_start"),
        _sse(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start",
        ),
        _sse({"type": "ping"}, "ping"),
    ]
    words = answer.text.split(" ") if answer.text else []
    for i, word in enumerate(words):
        text = word + (" " if i < len(words) - 1 else "")
        events.append(
            _sse(
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
                "content_block_delta",
            )
        )
    events.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    for offset, call in enumerate(answer.tool_calls, start=1):
        block = {"type": "tool_use", "id": call["id"], "name": call["name"], "input": {}}
        events.append(
            _sse(
                {"type": "content_block_start", "index": offset, "content_block": block},
                "content_block_start",
            )
        )
        arguments = json.dumps(call["arguments"])
        half = len(arguments) // 2
        for part in (arguments[:half], arguments[half:]):
            delta = {"type": "input_json_delta", "partial_json": part}
            events.append(
                _sse({"type": "content_block_delta", "index": offset, "delta": delta}, "content_block_delta")
            )
        events.append(_sse({"type": "content_block_stop", "index": offset}, "content_block_stop"))
    events.append(
        _sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": _anthropic_stop(answer), "stop_sequence": None},
                "usage": {"output_tokens": answer.completion_tokens},
            },
            "message_delta",
        )
    )
    events.append(_sse({"type": "message_stop"}, "message_stop"))
    return events


# --- errors ----------------------------------------------------------------------------

_OPENAI_ERRORS: dict[str, tuple[int, str, str | None, str]] = {
    "rate_limit": (
        429,
        "requests",
        "rate_limit_exceeded",
        "Rate limit reached for requests. Please try again later.",
    ),
    "quota": (
        429,
        "insufficient_quota",
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details.",
    ),
    "auth": (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided: {key}."),
    "context_window": (
        400,
        "invalid_request_error",
        "context_length_exceeded",
        "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
    ),
    "overloaded": (503, "server_error", None, "The server is overloaded. Please try again later."),
    "invalid_request": (400, "invalid_request_error", None, "{message}"),
    "not_found": (404, "invalid_request_error", "model_not_found", "{message}"),
}

_ANTHROPIC_ERRORS: dict[str, tuple[int, str, str]] = {
    "rate_limit": (429, "rate_limit_error", "Number of requests has exceeded your per-minute rate limit."),
    "quota": (402, "billing_error", "Your credit balance is too low to access the Anthropic API."),
    "auth": (401, "authentication_error", "invalid x-api-key: {key}"),
    "context_window": (400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "invalid_request": (400, "invalid_request_error", "{message}"),
    "not_found": (404, "not_found_error", "{message}"),
}

_ANTHROPIC_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _error(flavour: Flavour, status: int, kind: str, message: str) -> web.Response:
    return _fault_response(
        Fault(kind="status", http_status=status, error=kind, message=message), flavour, None
    )


def _fault_response(fault: Fault, flavour: Flavour, presented_key: str | None) -> web.Response:
    headers: dict[str, str] = dict(fault.headers)
    if fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    if fault.body is not None:
        return web.Response(status=fault.http_status, text=fault.body, headers=headers)
    fill = {"key": presented_key or "", "message": fault.message or ""}
    if flavour == "openai":
        if fault.error in _OPENAI_ERRORS:
            status, kind, code, template = _OPENAI_ERRORS[fault.error]
        else:
            status = fault.http_status
            kind = "server_error" if status >= 500 else "invalid_request_error"
            code, template = None, fault.message or _reason(status)
        body: dict[str, Any] = {
            "error": {"message": template.format(**fill), "type": kind, "param": None, "code": code}
        }
    else:
        if fault.error in _ANTHROPIC_ERRORS:
            status, kind, template = _ANTHROPIC_ERRORS[fault.error]
        else:
            status = fault.http_status
            kind = _ANTHROPIC_TYPE_BY_STATUS.get(status, "api_error")
            template = fault.message or _reason(status)
        body = {"type": "error", "error": {"type": kind, "message": template.format(**fill)}}
    return web.json_response(body, status=status, headers=headers)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until interrupted; print the base URL first (for benchmarks and demos)."""
    parser = argparse.ArgumentParser(prog="python -m meshkit.testing.mock_server")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--models", default="small,large", help="comma-separated model names")
    parser.add_argument("--reply", default="Hello from {model}.", help="the default reply")
    args = parser.parse_args(argv)
    server = MockOpenAIServer(
        models=[m for m in args.models.split(",") if m], reply=args.reply, port=args.port
    )
    with server:
        print(server.base_url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
