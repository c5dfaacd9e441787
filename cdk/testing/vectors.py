"""Deterministic fake embedding vectors, shared by the mock provider and the mock server.

The same text and model always give the same unit-length vector, and different texts give
different vectors, so a test can tell which input a vector belongs to and that order is kept.
"""

from __future__ import annotations

import hashlib
import math

__all__ = ["DEFAULT_DIMENSIONS", "fake_embedding"]

#: The length of a vector when the request asks for none.
DEFAULT_DIMENSIONS = 8


def fake_embedding(text: str, *, model: str, dimensions: int | None = None) -> list[float]:
    """A unit vector of ``dimensions`` floats derived from ``model`` and ``text``."""
    size = dimensions or DEFAULT_DIMENSIONS
    if size < 1:
        raise ValueError(f"dimensions must be at least 1, got {size}")
    values: list[float] = []
    counter = 0
    while len(values) < size:
        digest = hashlib.blake2b(f"{model}\0{counter}\0{text}".encode(), digest_size=64).digest()
        values += [(byte - 127.5) / 127.5 for byte in digest]
        counter += 1
    vector = values[:size]
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]
