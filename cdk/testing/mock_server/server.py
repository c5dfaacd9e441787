"""The mock server itself: an aiohttp app on 127.0.0.1 in a background thread with its own loop."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import anyio.to_thread
from aiohttp import web

from ..faults import Fault
from .anthropic_wire import ANTHROPIC
from .embeddings_wire import embedding_body, validate_embedding_request
from .openai_wire import OPENAI
from .scripting import RecordedRequest, Reply, Script, compact_events, without, without_in_events
from .wire import WireFormat

__all__ = ["MockOpenAIServer"]

#: A hang lasts at most this long, so a forgotten client never pins a handler forever.
_MAX_HANG_SECONDS = 300.0


class MockOpenAIServer(Script):
    """A scriptable OpenAI-compatible (and Anthropic Messages) server on 127.0.0.1."""

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
        super().__init__(models, reply=reply, echo=echo, latency=latency)
        self.api_key = api_key
        self._port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._released: asyncio.Event | None = None
        self._bound_port: int | None = None
        self._connections = threading.Condition()
        self._open_connections = 0
        self._opened_connections = 0

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

    # --- connections, as the server sees them (called from the test's thread) ----------

    @property
    def open_connections(self) -> int:
        """Client connections open right now."""
        with self._connections:
            return self._open_connections

    @property
    def opened_connections(self) -> int:
        """Client connections accepted since the server started."""
        with self._connections:
            return self._opened_connections

    def wait_for_open_connections(self, at_most: int, timeout: float = 10.0) -> bool:
        """Block until at most ``at_most`` connections are open; False if ``timeout`` passes first."""
        with self._connections:
            return self._connections.wait_for(lambda: self._open_connections <= at_most, timeout)

    def _connection_made(self, opened: bool) -> None:
        with self._connections:
            if opened:
                self._open_connections += 1
                self._opened_connections += 1
            else:
                self._open_connections -= 1
            self._connections.notify_all()

    def release(self) -> None:
        """Let every stream held by ``Reply(hold_after=...)`` go on; later ones pass until ``reset()``."""
        loop, released = self._loop, self._released
        if loop is None or released is None:
            raise RuntimeError("MockOpenAIServer is not running")
        loop.call_soon_threadsafe(released.set)

    def reset(self) -> None:
        """Forget scripts, recorded requests, latency changes and an earlier ``release()``."""
        super().reset()
        loop, released = self._loop, self._released
        if loop is not None and released is not None:
            loop.call_soon_threadsafe(released.clear)

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
        self._released = asyncio.Event()
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/v1/models", self._list_models)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        self._count_connections(self._runner.server)
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

    def _count_connections(self, server: web.Server | None) -> None:
        # aiohttp's Server is told of each connection made and lost: count them on the way.
        if server is None:
            return
        made, lost = server.connection_made, server.connection_lost

        def connection_made(handler: Any, transport: Any) -> None:
            self._connection_made(True)
            made(handler, transport)

        def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
            self._connection_made(False)
            lost(handler, exc)

        server.connection_made = connection_made  # type: ignore[method-assign]
        server.connection_lost = connection_lost  # type: ignore[method-assign]

    async def _shutdown(self) -> None:
        if self._stopping is not None:
            self._stopping.set()  # hung handlers return at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- request handling (server thread) -------------------------------------------

    def _record_request(self, request: web.Request, body: Any) -> None:
        self.record(
            RecordedRequest(
                method=request.method, path=request.path, headers=dict(request.headers), json=body
            )
        )

    def _presented_key(self, request: web.Request) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return request.headers.get("x-api-key")

    async def _read_json(
        self, request: web.Request, wire: WireFormat
    ) -> tuple[Any, web.StreamResponse | None]:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._record_request(request, raw.decode("utf-8", "replace"))
            return None, _error(wire, 400, "invalid_request", "the request body is not valid JSON")
        self._record_request(request, body)
        if not isinstance(body, dict):
            return None, _error(wire, 400, "invalid_request", "the request body must be a JSON object")
        return body, None

    def _check_key(self, request: web.Request, wire: WireFormat) -> web.StreamResponse | None:
        if self.api_key is None:
            return None
        presented = self._presented_key(request)
        if presented == self.api_key:
            return None
        return _fault_response(Fault.auth(), wire, presented)

    async def _list_models(self, request: web.Request) -> web.StreamResponse:
        wire = ANTHROPIC if "anthropic-version" in request.headers else OPENAI
        self._record_request(request, None)
        refused = self._check_key(request, wire)
        if refused is not None:
            return refused
        step = self.next_listing_step()
        if step is not None:
            return await self._fault(request, step, wire, stream=False, model="models")
        return web.json_response(wire.listing(self.models))

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        return await self._complete(request, OPENAI)

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        return await self._complete(request, ANTHROPIC)

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        body, bad = await self._read_json(request, OPENAI)
        if bad is not None:
            return bad
        refused = self._check_key(request, OPENAI)
        if refused is not None:
            return refused
        problem = validate_embedding_request(body)
        if problem is not None:
            return _error(OPENAI, 400, "invalid_request", problem)
        model = str(body["model"])
        if model not in self.models:
            return _error(OPENAI, 404, "not_found", f"The model `{model}` does not exist")
        step = self.next_step(model)
        latency = step.latency if isinstance(step, Reply) and step.latency is not None else None
        delay = self.latency_for(model) if latency is None else latency
        if delay > 0 and await self._pause(delay):
            _abort(request)
            return web.Response(status=204)
        if isinstance(step, Fault):
            return await self._fault(request, step, OPENAI, stream=False, model=model)
        omit = step.omit if isinstance(step, Reply) else ()
        return web.json_response(without(embedding_body(body, model), omit))

    async def _complete(self, request: web.Request, wire: WireFormat) -> web.StreamResponse:
        body, bad = await self._read_json(request, wire)
        if bad is not None:
            return bad
        refused = self._check_key(request, wire)
        if refused is not None:
            return refused
        problem = wire.validate(body, request.headers)
        if problem is not None:
            return _error(wire, 400, "invalid_request", problem)
        model = str(body["model"])
        if model not in self.models:
            return _error(wire, 404, "not_found", f"The model `{model}` does not exist")
        step = self.next_step(model)
        latency = step.latency if isinstance(step, Reply) and step.latency is not None else None
        delay = self.latency_for(model) if latency is None else latency
        if delay > 0 and await self._pause(delay):
            _abort(request)  # the server is stopping
            return web.Response(status=204)
        stream = bool(body.get("stream"))
        if isinstance(step, Fault):
            return await self._fault(request, step, wire, stream=stream, model=model)
        answer = self.answer(step, model, body, wire)
        omit = step.omit if isinstance(step, Reply) else ()
        if stream:
            hold = None
            if isinstance(step, Reply) and step.hold_after is not None:
                hold = wire.head_events + step.hold_after  # the role event(s) come first
            events = without_in_events(wire.events(answer, body), omit)
            if isinstance(step, Reply) and step.compact_sse:
                events = compact_events(events)
                hold = None if hold is None else hold + 1
            return await self._send_events(request, events, hold_at=hold)
        return web.json_response(without(wire.body(answer), omit))

    async def _send_events(
        self,
        request: web.Request,
        events: list[str],
        *,
        stop_after: int | None = None,
        hang: bool = False,
        hold_at: int | None = None,
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        holding = hold_at is not None and hold_at < len(events)
        if holding:
            self.count_held(+1)  # from the start, so a client that got a chunk sees the stream held
        try:
            await response.prepare(request)
            for n, event in enumerate(events):
                if n == hold_at:
                    stopping = await self._wait_for_release()
                    self.count_held(-1)
                    holding = False
                    if stopping:
                        _abort(request)
                        return response
                if stop_after is not None and n >= stop_after:
                    if hang:
                        await self._hang()
                    _abort(request)
                    return response
                await response.write(event.encode())
            await response.write_eof()
            return response
        finally:
            if holding:
                self.count_held(-1)

    async def _wait_for_release(self) -> bool:
        """Wait for ``release()``; True when the server stops (or the hang limit passes) first."""
        assert self._released is not None and self._stopping is not None
        released = asyncio.ensure_future(self._released.wait())
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            done, _ = await asyncio.wait(
                {released, stopping}, timeout=_MAX_HANG_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            released.cancel()
            stopping.cancel()
        return released not in done

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
        self, request: web.Request, fault: Fault, wire: WireFormat, *, stream: bool, model: str
    ) -> web.StreamResponse:
        if fault.kind == "status" or (fault.kind == "stream_error" and not stream):
            return _fault_response(fault, wire, self._presented_key(request))
        if fault.kind in ("disconnect", "connect_error"):
            _abort(request)
            return web.Response(status=204)
        if fault.kind == "malformed":
            if stream:
                return await self._send_events(
                    request, ['data: {"id": "x", "choices": [oops\n\n', "data: [DONE]\n\n"]
                )
            return web.Response(
                status=200, text="<html>502 Bad Gateway</html>", content_type="application/json"
            )
        if fault.kind == "read_timeout" or (fault.kind == "hang" and (fault.after is None or not stream)):
            await self._hang()
            _abort(request)
            return web.Response(status=204)
        answer = self.fault_answer(model, wire)
        if stream:
            events = wire.events(answer, {})
            # The first event(s) carry the role; count content chunks from there.
            cut = wire.head_events + (fault.after or 0)
            if fault.kind == "stream_error":
                # A verbatim ``body`` is the event's JSON as some services spell it (a numeric code).
                error_body = json.loads(fault.body) if fault.body else wire.error_body(fault, None)[1]
                return await self._send_events(request, [*events[:cut], wire.error_event(error_body)])
            return await self._send_events(request, events, stop_after=cut, hang=fault.kind == "hang")
        # A plain response cut mid-body: promise the full length, send half, drop the connection.
        payload = json.dumps(wire.body(answer)).encode()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = len(payload)
        await response.prepare(request)
        await response.write(payload[: len(payload) // 2])
        _abort(request)
        return response


def _abort(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


def _error(wire: WireFormat, status: int, kind: str, message: str) -> web.Response:
    return _fault_response(Fault(kind="status", http_status=status, error=kind, message=message), wire, None)


def _fault_response(fault: Fault, wire: WireFormat, presented_key: str | None) -> web.Response:
    headers: dict[str, str] = dict(fault.headers)
    if fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    if fault.body is not None:
        return web.Response(status=fault.http_status, text=fault.body, headers=headers)
    status, body = wire.error_body(fault, presented_key)
    return web.json_response(body, status=status, headers=headers)
