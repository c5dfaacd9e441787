"""Ready-made upstream payloads for providers that speak a well-known wire format."""

from __future__ import annotations

import json

from .spec import HTTPPayloads

__all__ = ["openai_payloads"]


def openai_payloads(model: str = "conformance-model", text: str = "Hello there, friend.") -> HTTPPayloads:
    """Good answers of an OpenAI-compatible ``/chat/completions``, ``/embeddings`` and ``/models`` API."""
    words = text.split(" ")
    pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]

    def chunk(delta: dict[str, object], finish: str | None = None, usage: object = None) -> str:
        body: dict[str, object] = {
            "id": "chatcmpl-conformance",
            "object": "chat.completion.chunk",
            "created": 1767225600,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if usage is not None:
            body["usage"] = usage
        return "data: " + json.dumps(body)

    usage = {"prompt_tokens": 9, "completion_tokens": len(words), "total_tokens": 9 + len(words)}
    lines = [chunk({"role": "assistant", "content": ""})]
    lines += [chunk({"content": piece}) for piece in pieces]
    # As OpenAI sends it: usage on a last chunk of its own, with no choices.
    usage_line = json.loads(chunk({}, usage=usage)[len("data: ") :])
    usage_line["choices"] = []
    lines += [chunk({}, finish="stop"), "data: " + json.dumps(usage_line), "data: [DONE]"]
    # Listed out of order on purpose: a provider must put them back by their index.
    vectors = ((0.25, -0.5, 0.75), (1.0, 0.0, -1.0))
    embedding_body = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 1, "embedding": list(vectors[1])},
            {"object": "embedding", "index": 0, "embedding": list(vectors[0])},
        ],
        "model": model,
        "usage": {"prompt_tokens": 6, "total_tokens": 6},
    }
    return HTTPPayloads(
        embedding_body=embedding_body,
        embedding_vectors=vectors,
        completion_body={
            "id": "chatcmpl-conformance",
            "object": "chat.completion",
            "created": 1767225600,
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": usage,
        },
        stream_lines=tuple(lines),
        models_body={
            "object": "list",
            "data": [
                {"id": model, "object": "model", "created": 1767225600, "owned_by": "conformance"},
                {"id": f"{model}-large", "object": "model", "created": 1767225600, "owned_by": "conformance"},
            ],
        },
    )
