"""Server-sent events that stop the upstream call the moment the client goes away.

Starlette's ``StreamingResponse`` listens for ``http.disconnect`` only under servers that speak
ASGI spec versions before 2.4; under newer ones it notices a disconnect when its next write
fails, so a stream waiting on a slow upstream would keep that upstream call open. This
response always listens beside the writer and cancels it, and with it the routed stream, which
the request log then records as cancelled.
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

__all__ = ["EventStreamResponse"]


class EventStreamResponse(StreamingResponse):
    """``text/event-stream`` from an async generator of encoded events, cancelled on disconnect."""

    media_type = "text/event-stream"

    def __init__(self, content: Any, headers: dict[str, str]) -> None:
        # Proxies such as nginx must not hold the stream back.
        super().__init__(content, headers={"cache-control": "no-cache", "x-accel-buffering": "no", **headers})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as group:

            async def write() -> None:
                try:
                    await send(
                        {
                            "type": "http.response.start",
                            "status": self.status_code,
                            "headers": self.raw_headers,
                        }
                    )
                    async with aclosing(self.body_iterator) as events:  # type: ignore[type-var]
                        async for event in events:
                            await send({"type": "http.response.body", "body": event, "more_body": True})
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                except OSError:
                    pass  # the client is gone
                finally:
                    group.cancel_scope.cancel()

            async def listen() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()

            group.start_soon(write)
            group.start_soon(listen)
