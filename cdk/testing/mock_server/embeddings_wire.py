"""OpenAI's embeddings wire format: the request's checks and the answer's body.

The vectors are :func:`meshkit.testing.vectors.fake_embedding`'s, so the same text and
model always give the same vector and a test can tell which input a vector belongs to.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping
from typing import Any

from ..vectors import fake_embedding

__all__ = ["embedding_body", "inputs_of", "validate_embedding_request"]

_ENCODINGS = ("float", "base64")


def validate_embedding_request(body: Mapping[str, Any]) -> str | None:
    """What is wrong with an embeddings request, as the API words it, or None."""
    if not isinstance(body.get("model"), str):
        return "model: Field required"
    texts = body.get("input")
    if isinstance(texts, list):
        if not texts:
            return "input: must not be an empty list"
        if not all(isinstance(t, str) and t for t in texts):
            return "input: each item must be a non-empty string"
    elif not isinstance(texts, str) or not texts:
        return "input: a string or a list of strings is required"
    dimensions = body.get("dimensions")
    if dimensions is not None and (
        not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1
    ):
        return "dimensions: must be a positive integer"
    if body.get("encoding_format", "float") not in _ENCODINGS:
        return "encoding_format: must be 'float' or 'base64'"
    return None


def inputs_of(body: Mapping[str, Any]) -> list[str]:
    """The request's texts, in order (a single string is one input)."""
    texts = body["input"]
    return [texts] if isinstance(texts, str) else list(texts)


def embedding_body(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The answer: one vector per input, in input order, and the prompt tokens counted."""
    texts = inputs_of(body)
    encoding = body.get("encoding_format", "float")
    data = []
    for index, text in enumerate(texts):
        vector: Any = fake_embedding(text, model=model, dimensions=body.get("dimensions"))
        if encoding == "base64":
            vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": vector})
    tokens = max(1, sum(len(text) for text in texts) // 4)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
