"""Data exchanged between the router and its connectors.

Every class is an attrs class; the value objects are frozen so that a snapshot
handed to a rotation policy or an event handed to a sink cannot be changed under
the router's feet. One module per kind of data; every name is imported from here.
"""

from __future__ import annotations

from .catalogue import HealthReport, ModelChange, ModelInfo, ModelPricing, ProbeResult, SyncResult
from .chunks import ChunkChoice, CompletionChunk, Delta, FunctionCallDelta, ToolCallDelta
from .messages import ChatMessage, ContentPart, FunctionCall, ToolCall
from .observability import RequestLogEntry, TraceEntry
from .requests import CompletionRequest, EmbeddingRequest
from .responses import Choice, CompletionResponse, Embedding, EmbeddingResponse, TokenUsage
from .responses import EncodingFormat as EncodingFormat  # importable here, as it always was
from .secret import Secret
from .snapshot import ModelSnapshot
from .storage import EntryMetadata, Lock

__all__ = [
    "ChatMessage",
    "Choice",
    "ChunkChoice",
    "CompletionChunk",
    "CompletionRequest",
    "CompletionResponse",
    "ContentPart",
    "Delta",
    "Embedding",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "EntryMetadata",
    "FunctionCall",
    "FunctionCallDelta",
    "HealthReport",
    "Lock",
    "ModelChange",
    "ModelInfo",
    "ModelPricing",
    "ModelSnapshot",
    "ProbeResult",
    "RequestLogEntry",
    "Secret",
    "SyncResult",
    "TokenUsage",
    "ToolCall",
    "ToolCallDelta",
    "TraceEntry",
]
