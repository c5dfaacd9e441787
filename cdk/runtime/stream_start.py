"""A provider's stream as the router reads it: held back until it commits, closed quietly."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..types import CompletionChunk

__all__ = ["close_quietly", "first_meaningful"]


async def first_meaningful(chunks: AsyncIterator[CompletionChunk]) -> list[CompletionChunk]:
    """Chunks up to the first that carries something (text, tool calls, an end, usage).

    A role-only opening chunk commits nothing, so a stream cut right after it still fails over.
    """
    held: list[CompletionChunk] = []
    while True:
        chunk = await chunks.__anext__()
        held.append(chunk)
        if chunk.usage is not None or any(
            c.delta.content or c.delta.tool_calls or c.finish_reason for c in chunk.choices
        ):
            return held


async def close_quietly(chunks: AsyncIterator[CompletionChunk] | None) -> None:
    """Close a provider's stream, if it can be closed, without raising."""
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception:  # closing a failed stream must not hide the original error
            pass
