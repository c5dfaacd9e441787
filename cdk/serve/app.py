"""The ASGI application of ``meshkit serve``: OpenAI's HTTP API in front of one mesh.

``build_app(config)`` returns a Starlette app whose lifespan starts the mesh and closes it
(saving state) on shutdown. Every route answers in OpenAI's shapes, errors included.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing, asynccontextmanager
from typing import Any, cast

import attrs
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..config import resolve_secret_refs
from ..runtime.mesh import Mesh
from ..runtime.settings import ServeSettings
from ..types import CompletionChunk, Secret
from .attempts import AttemptTracker, counting_attempts
from .http_errors import ErrorAnswer, answer_for, error_answer
from .streaming import EventStreamResponse
from .wire import ChatCall, RequestBodyError, parse_chat, parse_embeddings

__all__ = ["ServeState", "build_app"]

logger = logging.getLogger("meshkit.serve")

#: Routes a load balancer calls without a token.
_OPEN_PATHS = frozenset({"/health", "/ready"})


@attrs.define
class ServeState:
    """What the routes share: the running mesh and the accepted tokens."""

    mesh: Mesh
    settings: ServeSettings
    tokens: list[bytes] = attrs.field(factory=list)


def _json(answer: ErrorAnswer) -> JSONResponse:
    return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)


def _state(request: Request) -> ServeState:
    state: ServeState = request.app.state.serve
    return state


async def _read_json(request: Request, limit: int) -> Any:
    """The body as JSON, refusing more than ``limit`` bytes before reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge(limit)
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            raise _TooLarge(limit)
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestBodyError(f"the request body is not valid JSON: {exc}") from None


class _TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than the {limit} bytes this server accepts")


def _headers(model: str, attempts: int) -> dict[str, str]:
    return {"x-meshkit-model": model, "x-meshkit-attempts": str(attempts)}


Handler = Callable[[Request], Awaitable[Response]]


def _guarded(handler: Handler) -> Handler:
    """Authentication, the body limit and the error shapes, around one route."""

    async def route(request: Request) -> Response:
        state = _state(request)
        if state.tokens and request.url.path not in _OPEN_PATHS:
            denied = _check_token(request, state.tokens)
            if denied is not None:
                return _json(denied)
        try:
            return await handler(request)
        except _TooLarge as exc:
            return _json(error_answer(413, str(exc), "invalid_request_error", "request_too_large"))
        except Exception as exc:
            answer = answer_for(exc)
            if answer is None:
                logger.exception("meshkit serve: %s %s failed", request.method, request.url.path)
                answer = error_answer(
                    500, "internal error; see the server log", "server_error", "internal_error"
                )
            return _json(answer)

    return route


def _check_token(request: Request, tokens: list[bytes]) -> ErrorAnswer | None:
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    given = presented.strip().encode()
    # compare_digest against every token, without stopping early, so timing tells nothing.
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(given, token)
    if scheme.lower() == "bearer" and given and matched:
        return None
    return error_answer(
        401,
        "a valid bearer token is required (Authorization: Bearer <token>)",
        "invalid_request_error",
        "invalid_api_key",
    )


# --- routes ----------------------------------------------------------------------------------


async def chat_completions(request: Request) -> Response:
    state = _state(request)
    call = parse_chat(await _read_json(request, state.settings.max_body_bytes))
    if call.stream:
        return await _stream(state.mesh, call)
    tally = counting_attempts()
    reply = await state.mesh.complete(call.model, call.messages, **call.params)
    return JSONResponse(reply.to_dict(), headers=_headers(reply.model, tally.attempts(answered=True)))


async def _stream(mesh: Mesh, call: ChatCall) -> Response:
    tally = counting_attempts()
    chunks = cast(
        AsyncGenerator[CompletionChunk, None], mesh.stream(call.model, call.messages, **call.params)
    )
    # The first chunk is awaited before any header goes out: failover happens before it, and a
    # request that fails everywhere still gets its proper status instead of a broken stream.
    try:
        first = await chunks.__anext__()
    except StopAsyncIteration:
        await chunks.aclose()
        raise RequestBodyError("the model sent an empty stream") from None
    except BaseException:
        await chunks.aclose()
        raise
    headers = _headers(first.model, tally.attempts(answered=True))
    return EventStreamResponse(_events(first, chunks, call.include_usage), headers)


def _sse(data: Any) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def _chunk_event(chunk: CompletionChunk, created: int, include_usage: bool) -> bytes:
    body = chunk.to_dict(created=created)
    # With include_usage OpenAI puts `usage: null` on every chunk and the usage on a last one.
    if include_usage:
        body["usage"] = None
    else:
        body.pop("usage", None)
    return _sse(body)


async def _events(
    first: CompletionChunk, rest: AsyncIterator[CompletionChunk], include_usage: bool
) -> AsyncGenerator[bytes, None]:
    created = int(time.time())
    last = first
    usage = first.usage
    try:
        yield _chunk_event(first, created, include_usage)
        async with aclosing(rest) as chunks:  # type: ignore[type-var]
            async for chunk in chunks:
                last = chunk
                usage = chunk.usage or usage
                if chunk.choices:
                    yield _chunk_event(chunk, created, include_usage)
    except Exception as exc:
        # Chunks are out, so no failover: tell the client in-band, as OpenAI does, and stop.
        answer = answer_for(exc) or error_answer(500, "internal error", "server_error", "internal_error")
        yield _sse(answer.body)
        return
    if include_usage and usage is not None:
        yield _sse(CompletionChunk(id=last.id, model=last.model, usage=usage).to_dict(created=created))
    yield b"data: [DONE]\n\n"


async def embeddings(request: Request) -> Response:
    state = _state(request)
    call = parse_embeddings(await _read_json(request, state.settings.max_body_bytes))
    tally = counting_attempts()
    reply = await state.mesh.embed(call.model, call.input, dimensions=call.dimensions, **call.extra)
    body = reply.to_dict(encoding_format="base64" if call.base64 else "float")
    return JSONResponse(body, headers=_headers(reply.model, tally.attempts(answered=True)))


async def list_models(request: Request) -> Response:
    mesh = _state(request).mesh
    created = int(time.time())

    def item(name: str, kind: str, owner: str) -> dict[str, Any]:
        return {
            "id": name,
            "object": "model",
            "created": created,
            "owned_by": owner,
            "meshkit": {"kind": kind},
        }

    data = [item(pool, "pool", "meshkit") for pool in mesh.pools]
    used = [c for entry in mesh.entries.values() if not entry.deprecated for c in entry.capabilities]
    data += [
        item(node, "capability", "meshkit")
        for node in mesh.tree
        if any(mesh.tree.covers(node, c) for c in used)
    ]
    data += [
        item(mid, "model", entry.provider_id) for mid, entry in mesh.entries.items() if not entry.deprecated
    ]
    return JSONResponse({"object": "list", "data": data})


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    status = _state(request).mesh.status()
    waiting = sorted(name for name, pool in status["pools"].items() if pool["active"] == 0)
    if waiting:
        return JSONResponse({"status": "not ready", "pools_without_active_models": waiting}, status_code=503)
    return JSONResponse({"status": "ready"})


async def metrics(request: Request) -> Response:
    for sink in _state(request).mesh.observability:
        text = getattr(sink, "metrics_text", None)
        if callable(text):
            return PlainTextResponse(text(), media_type="text/plain; version=0.0.4; charset=utf-8")
    message = "no metrics: add the prometheus connector under observability.connectors"
    return _json(error_answer(404, message, "invalid_request_error", "not_found"))


# --- the application -----------------------------------------------------------------------


async def _tokens(mesh: Mesh, settings: ServeSettings) -> list[bytes]:
    store = mesh.secret_store
    resolved = (
        await resolve_secret_refs(list(settings.auth.tokens), store.get, path="serve.auth.tokens")
        if store
        else settings.auth.tokens
    )
    return [(t.reveal() if isinstance(t, Secret) else str(t)).encode() for t in resolved]


def build_app(
    config: str | os.PathLike[str] | Mapping[str, Any],
    *,
    settings: ServeSettings | None = None,
    mesh_factory: Callable[[], Mesh] | None = None,
) -> Starlette:
    """The app for one mesh built from ``config``; ``settings`` overrides its ``serve:`` section."""
    # Built now, so a bad config fails before the server binds its port; started by the lifespan.
    probe = mesh_factory() if mesh_factory else Mesh.from_config(config)
    serve_settings = settings or probe.settings.serve

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        mesh = probe
        async with mesh:
            tracker = AttemptTracker()
            await tracker.start()
            mesh.events.subscribe(tracker)
            app.state.serve = ServeState(mesh, serve_settings, await _tokens(mesh, serve_settings))
            yield
        # Leaving `async with mesh` saved the state (every sync policy but in-memory).

    middleware = []
    if serve_settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=serve_settings.cors_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["authorization", "content-type"],
                expose_headers=["x-meshkit-model", "x-meshkit-attempts"],
            )
        )
    routes = [
        Route("/v1/chat/completions", _guarded(chat_completions), methods=["POST"]),
        Route("/v1/embeddings", _guarded(embeddings), methods=["POST"]),
        Route("/v1/models", _guarded(list_models), methods=["GET"]),
        Route("/health", _guarded(health), methods=["GET"]),
        Route("/ready", _guarded(ready), methods=["GET"]),
        Route("/metrics", _guarded(metrics), methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _not_allowed},
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    message = f"no route {request.url.path}; meshkit serves /v1/chat/completions, /v1/embeddings, /v1/models"
    return _json(error_answer(404, message, "invalid_request_error", "not_found"))


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return _json(
        error_answer(405, f"{request.method} is not allowed on {request.url.path}", "invalid_request_error")
    )
