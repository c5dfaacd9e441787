"""What the conformance suite needs to test the provider without the real service.

The suite plugs a fault-injecting transport into the provider: good requests get the
canned answers below, and the suite queues faults (429 with Retry-After, 5xx,
timeouts, cut and malformed streams...) to check that each maps to the right error.
REPLACE the payloads with real answers of your service, in its own wire format (copy
them from its API reference or a recorded session, with any keys removed).
"""

from __future__ import annotations

import json
from typing import Any

from meshkit.testing import ConformanceSpec, HTTPPayloads

MODEL = "{{ cookiecutter.name }}-small"

#: A successful, non-streaming completion.
COMPLETION: dict[str, Any] = {
    "id": "cmpl-0001",
    "object": "chat.completion",
    "created": 1767225600,
    "model": MODEL,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello there, friend."},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
}


def _event(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> str:
    chunk: dict[str, Any] = {
        "id": "cmpl-0001",
        "object": "chat.completion.chunk",
        "created": 1767225600,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        chunk["usage"] = usage
    return "data: " + json.dumps(chunk)


#: A successful stream, line by line, end marker included.
STREAM_LINES = (
    _event({"role": "assistant", "content": ""}),
    _event({"content": "Hello "}),
    _event({"content": "there, "}),
    _event({"content": "friend."}),
    _event({}, finish="stop", usage={"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}),
    "data: [DONE]",
)

#: A successful model listing.
MODELS: dict[str, Any] = {
    "object": "list",
    "data": [
        {
            "id": MODEL,
            "object": "model",
            "owned_by": "{{ cookiecutter.vendor }}",
        },
        {
            "id": "{{ cookiecutter.name }}-large",
            "object": "model",
            "owned_by": "{{ cookiecutter.vendor }}",
        },
    ],
}


def conformance_spec() -> ConformanceSpec:
    """The provider's config in tests, the model to ask for, and the canned answers."""
    return ConformanceSpec(
        # Never contacted: the suite's transport answers every request.
        config={"base_url": "http://127.0.0.1:8000/v1"},
        model=MODEL,
        http=HTTPPayloads(
            completion_body=COMPLETION,
            stream_lines=STREAM_LINES,
            models_body=MODELS,
            # REPLACE with your service's paths (suffixes of the request URL).
            completion_path="/chat/completions",
            models_path="/models",
            # The config key holding the API key: the suite sets a fake key there and
            # checks that it never shows in an error, a repr or a log line.
            api_key_field="api_key",
        ),
    )
