"""What ``Mesh.complete``, ``stream`` and ``select`` accept, checked before anything is routed.

A misspelt keyword (``temprature=``) is a TypeError that suggests the name meant, instead of a
field sent to the provider to be ignored or refused far from the mistake; ``messages="hi"``
says what messages are. Fields OpenAI defines but the mesh has no name for (``seed``,
``presence_penalty``, …) pass to the provider as they are, and so does anything given in
``extra={...}`` (a provider's own fields).

The checks run on every request, so they cost one dictionary lookup per keyword and one
``isinstance`` per value; the messages themselves are checked as ``CompletionRequest`` takes
them in.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import attrs

from ..trusted import maker
from ..types import ChatMessage, CompletionRequest, EmbeddingRequest
from ..types.messages import as_messages

__all__ = [
    "OPENAI_PASSED",
    "REQUEST_FIELDS",
    "check_call",
    "completion_request",
    "embedding_request",
    "seconds",
]

_SEQUENCE = (list, tuple)


def _wrong(name: str, expected: str, value: object) -> TypeError:
    return TypeError(f"{name} must be {expected}, got {_kind(value)}")


def _number(name: str, value: Any) -> float:
    # bool is an int in Python, but True is not a temperature.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise _wrong(name, "a number", value)


def _max_tokens(name: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise _wrong(name, "a positive integer", value)


def _string(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    raise _wrong(name, "a string", value)


def _stop(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, _SEQUENCE) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise _wrong(name, "a string or a list of strings", value)


def _tools(name: str, value: Any) -> tuple[Mapping[str, Any], ...]:
    if isinstance(value, _SEQUENCE) and all(isinstance(tool, Mapping) for tool in value):
        return tuple(value)
    raise _wrong(name, "a list of tool definitions (dicts)", value)


def _tool_choice(name: str, value: Any) -> str | Mapping[str, Any]:
    if isinstance(value, str | Mapping):
        return value
    raise _wrong(name, "a string ('auto', 'none', 'required') or a dict", value)


def _response_format(name: str, value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    raise _wrong(name, "a dict such as {'type': 'json_object'}", value)


def _timeout(name: str, value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return value
    raise _wrong(name, "a positive number of seconds", value)


#: The request fields the mesh reads itself, each with its check (which may normalise the value).
REQUEST_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    "max_tokens": _max_tokens,
    "temperature": _number,
    "top_p": _number,
    "stop": _stop,
    "tools": _tools,
    "tool_choice": _tool_choice,
    "response_format": _response_format,
    "session_id": _string,
    "timeout": _timeout,
}

#: Fields of OpenAI's chat API that the mesh passes to the provider as they are.
OPENAI_PASSED = frozenset(
    {
        "audio",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "metadata",
        "modalities",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "reasoning_effort",
        "seed",
        "service_tier",
        "store",
        "top_logprobs",
        "user",
        "web_search_options",
    }
)

#: Another name OpenAI has for a request field.
_ALIASES = {"max_completion_tokens": "max_tokens"}
_KNOWN = sorted({*REQUEST_FIELDS, *OPENAI_PASSED, *_ALIASES, "deadline", "extra"})


def check_call(
    messages: object, deadline: object, params: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The request fields and the provider's extra fields of one call; TypeError when wrong.

    ``messages`` must be a list (or tuple) of messages; each is checked as the request takes
    it in. ``params`` are the call's other keywords.
    """
    if not isinstance(messages, _SEQUENCE) and (
        isinstance(messages, str | bytes | Mapping) or not isinstance(messages, Sequence)
    ):
        raise TypeError(_messages_error(messages))
    if deadline is not None and not isinstance(deadline, timedelta):
        _timeout("deadline", deadline)
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for name, value in params.items():
        check = REQUEST_FIELDS.get(name)
        if check is not None:
            if value is not None:
                fields[name] = check(name, value)
        elif name in OPENAI_PASSED:
            extra[name] = value
        elif name == "extra":
            if not isinstance(value, Mapping):
                raise TypeError(f"extra must be a dict of fields for the provider, got {_kind(value)}")
            extra.update(value)
        elif name in _ALIASES:
            if value is not None:
                fields[_ALIASES[name]] = REQUEST_FIELDS[_ALIASES[name]](name, value)
        else:
            raise TypeError(_unknown(name))
    return fields, extra


def completion_request(
    messages: Sequence[ChatMessage | Mapping[str, Any]],
    deadline: float | timedelta | None,
    params: Mapping[str, Any],
) -> CompletionRequest:
    """The request ``complete``/``stream``/``select`` describe, once ``check_call`` accepts it."""
    known, extra = check_call(messages, deadline, params)
    if not messages:
        raise ValueError("a request needs at least one message")
    # Every field is checked by now; the messages are converted as the request's own
    # converter would, so ``__init__`` would only repeat the work.
    fields = {**_REQUEST_DEFAULTS, **known} if known else _REQUEST_DEFAULTS
    return _new_request(messages=as_messages(messages), extra=extra, **fields)


#: The request's fields besides the messages and ``extra``, at their defaults.
_REQUEST_DEFAULTS = {
    field.name: field.default
    for field in attrs.fields(CompletionRequest)
    if field.name not in ("messages", "extra")
}
_new_request = maker(CompletionRequest)


#: The keyword arguments of ``embed`` that are request fields (the rest go in ``extra``).
_EMBEDDING_FIELDS = frozenset(a.name for a in attrs.fields(EmbeddingRequest)) - {"input", "model", "extra"}


def embedding_request(
    input: str | Sequence[str], dimensions: int | None, params: Mapping[str, Any]
) -> EmbeddingRequest:
    """The request ``embed`` describes: its fields by name, anything else in ``extra``."""
    known = {k: v for k, v in params.items() if k in _EMBEDDING_FIELDS}
    extra = {k: v for k, v in params.items() if k not in _EMBEDDING_FIELDS}
    return EmbeddingRequest(input=input, dimensions=dimensions, extra=extra, **known)


def seconds(deadline: float | timedelta | None) -> float | None:
    """A deadline as seconds, as the router takes it."""
    return deadline.total_seconds() if isinstance(deadline, timedelta) else deadline


def _unknown(name: str) -> str:
    close = difflib.get_close_matches(name, _KNOWN, n=1)
    if close:
        return f"unexpected keyword argument {name!r}; did you mean {close[0]!r}?"
    return f"unexpected keyword argument {name!r} (a provider's own fields go in extra={{{name!r}: ...}})"


def _messages_error(messages: object) -> str:
    example = "[{'role': 'user', 'content': 'hi'}]"
    if isinstance(messages, str) and len(messages) <= 40:
        example = repr([{"role": "user", "content": messages}])
    elif isinstance(messages, Mapping):
        example = f"[{{{', '.join(f'{k!r}: ...' for k in messages)}}}]"
    return (
        f"messages must be a list of {{'role': ..., 'content': ...}} dicts, got {_kind(messages)}; "
        f"for example messages={example}"
    )


def _kind(value: object) -> str:
    if value is None or isinstance(value, str | bytes | int | float):
        text = repr(value)
        return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"
    return type(value).__name__
