"""OpenAI's HTTP request bodies, checked and turned into mesh calls.

The answers' shapes belong to the answers themselves (``to_dict()`` on ``CompletionResponse``,
``CompletionChunk`` and ``EmbeddingResponse``), so the library and the server send the same.
Only what a client sent is passed on. A field OpenAI defines but the mesh has no name for
travels in ``extra`` to the provider unchanged; a field OpenAI does not define is refused,
named, so a typo never disappears silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import attrs

from ..runtime.request_checks import OPENAI_PASSED

__all__ = [
    "ChatCall",
    "EmbeddingCall",
    "RequestBodyError",
    "parse_chat",
    "parse_embeddings",
]


class RequestBodyError(ValueError):
    """A request body that is not what the endpoint takes; ``param`` names the field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


#: Chat fields the mesh reads itself, with the JSON types they may have.
_CHAT_TYPED: dict[str, tuple[type, ...]] = {
    "max_tokens": (int,),
    "max_completion_tokens": (int,),
    "temperature": (int, float),
    "top_p": (int, float),
    "stop": (str, list),
    "tools": (list,),
    "tool_choice": (str, dict),
    "response_format": (dict,),
    "user": (str,),
    "stream": (bool,),
    "stream_options": (dict,),
}
#: Chat fields OpenAI defines that go to the provider as they are (``user`` is the session id).
_CHAT_PASSED = OPENAI_PASSED - {"user"}
_EMBEDDINGS_FIELDS = frozenset({"model", "input", "dimensions", "encoding_format", "user"})


@attrs.frozen
class ChatCall:
    """One chat request, as ``Mesh.complete`` / ``Mesh.stream`` take it."""

    model: str
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    stream: bool = False
    include_usage: bool = False


@attrs.frozen
class EmbeddingCall:
    """One embeddings request, as ``Mesh.embed`` takes it."""

    model: str
    input: str | list[str]
    dimensions: int | None
    base64: bool
    extra: dict[str, Any]


def _model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise RequestBodyError(
            "`model` must be a non-empty string: a pool, a capability or a model id", "model"
        )
    return model


def _unknown(body: Mapping[str, Any], known: frozenset[str] | set[str]) -> None:
    unknown = sorted(set(body) - set(known))
    if unknown:
        names = ", ".join(f"`{name}`" for name in unknown)
        raise RequestBodyError(f"unknown field{'s' if len(unknown) > 1 else ''} {names}", unknown[0])


def _messages(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise RequestBodyError("`messages` must be a non-empty array of message objects", "messages")
    for index, message in enumerate(value):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise RequestBodyError(f"`{where}` must be an object with `role` and `content`", where)
        if not isinstance(message.get("role"), str):
            raise RequestBodyError(f"`{where}.role` must be a string", f"{where}.role")
        content = message.get("content")
        if content is not None and not isinstance(content, str | list):
            raise RequestBodyError(
                f"`{where}.content` must be a string, an array of content parts or null", f"{where}.content"
            )
    return value


def parse_chat(body: Any) -> ChatCall:
    """A ``POST /v1/chat/completions`` body, checked field by field."""
    if not isinstance(body, dict):
        raise RequestBodyError("the request body must be a JSON object")
    _unknown(body, {"model", "messages", *_CHAT_TYPED, *_CHAT_PASSED})
    model = _model(body)
    messages = _messages(body.get("messages"))
    for name, types in _CHAT_TYPED.items():
        value = body.get(name)
        # bool is an int in Python; a JSON true is not a number of tokens.
        wrong = value is not None and (
            not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        )
        if wrong:
            kinds = " or ".join(_JSON_NAMES[t] for t in types)
            raise RequestBodyError(f"`{name}` must be {kinds}, got {_json_name(value)}", name)
    params: dict[str, Any] = {k: body[k] for k in _CHAT_PASSED if k in body}
    for name in ("temperature", "top_p", "tools", "tool_choice", "response_format"):
        if body.get(name) is not None:
            params[name] = body[name]
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    stop = body.get("stop")
    if stop is not None:
        if isinstance(stop, list) and not all(isinstance(s, str) for s in stop):
            raise RequestBodyError("`stop` must be a string or an array of strings", "stop")
        params["stop"] = [stop] if isinstance(stop, str) else stop
    if body.get("user") is not None:
        params["session_id"] = body["user"]  # what session-sticky rotation keys on
    options = body.get("stream_options") or {}
    return ChatCall(
        model=model,
        messages=messages,
        params=params,
        stream=bool(body.get("stream")),
        include_usage=bool(options.get("include_usage")),
    )


def parse_embeddings(body: Any) -> EmbeddingCall:
    """A ``POST /v1/embeddings`` body, checked field by field."""
    if not isinstance(body, dict):
        raise RequestBodyError("the request body must be a JSON object")
    _unknown(body, _EMBEDDINGS_FIELDS)
    model = _model(body)
    text = body.get("input")
    is_list = isinstance(text, list) and bool(text) and all(isinstance(t, str) for t in text)
    if not (isinstance(text, str) or is_list):
        raise RequestBodyError("`input` must be a string or a non-empty array of strings", "input")
    dimensions = body.get("dimensions")
    if dimensions is not None and (
        isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1
    ):
        raise RequestBodyError("`dimensions` must be a positive integer", "dimensions")
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise RequestBodyError("`encoding_format` must be 'float' or 'base64'", "encoding_format")
    extra = {"user": body["user"]} if body.get("user") is not None else {}
    return EmbeddingCall(
        model=model,
        input=cast("str | list[str]", text),
        dimensions=dimensions,
        base64=encoding == "base64",
        extra=extra,
    )


_JSON_NAMES: dict[type, str] = {
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
    bool: "a boolean",
}


def _json_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return _JSON_NAMES.get(type(value), type(value).__name__)
