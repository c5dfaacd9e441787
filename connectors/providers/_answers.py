"""Answer objects built from values the parser has already checked, without attrs' ``__init__``.

The answer types are public and their constructors convert what a user hands them (a list of
content parts, tool-call dicts). A parser's values are already in their final form: ``str``
text, a tuple of ``ToolCall``, ints. Each field's slot is set directly, which costs about half
of the generated ``__init__``. Every field must be given: a field added to a type fails here at
import, not as an unset slot later.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from meshkit import ChatMessage, Choice, CompletionResponse, TokenUsage, ToolCall

__all__ = ["chat_message", "choice", "completion", "token_usage"]

_new = object.__new__


def _setters(cls: type, *names: str) -> tuple[Callable[[object, Any], None], ...]:
    # The slot setters of ``cls``, which must be exactly its attrs fields in this order.
    fields = tuple(field.name for field in attrs.fields(cls))
    if fields != names:
        raise RuntimeError(f"{cls.__name__} has fields {fields}, not {names}: update {__name__}")
    return tuple(cls.__dict__[name].__set__ for name in names)


_ROLE, _CONTENT, _NAME, _CALLS, _CALL_ID = _setters(
    ChatMessage, "role", "content", "name", "tool_calls", "tool_call_id"
)
_INDEX, _MESSAGE, _FINISH = _setters(Choice, "index", "message", "finish_reason")
_PROMPT, _COMPLETION, _TOTAL = _setters(TokenUsage, "prompt_tokens", "completion_tokens", "total_tokens")
_ID, _MODEL, _CHOICES, _USAGE, _CREATED, _PROVIDER, _COST = _setters(
    CompletionResponse, "id", "model", "choices", "usage", "created", "provider_id", "cost"
)


def chat_message(role: str, content: str | None, tool_calls: tuple[ToolCall, ...] | None) -> ChatMessage:
    """``ChatMessage(role=role, content=content, tool_calls=tool_calls)``: its converters keep
    a ``str`` (or None) and a tuple of ``ToolCall`` as they are."""
    message = _new(ChatMessage)
    _ROLE(message, role)
    _CONTENT(message, content)
    _NAME(message, None)
    _CALLS(message, tool_calls)
    _CALL_ID(message, None)
    return message


def choice(index: int, message: ChatMessage, finish_reason: Any) -> Choice:
    """``Choice(index=index, message=message, finish_reason=finish_reason)``."""
    made = _new(Choice)
    _INDEX(made, index)
    _MESSAGE(made, message)
    _FINISH(made, finish_reason)
    return made


def token_usage(prompt: int, completion: int, total: int) -> TokenUsage:
    """``TokenUsage(prompt, completion, total)``."""
    usage = _new(TokenUsage)
    _PROMPT(usage, prompt)
    _COMPLETION(usage, completion)
    _TOTAL(usage, total)
    return usage


def completion(
    id: str,
    model: str,
    choices: tuple[Choice, ...],
    usage: TokenUsage,
    created: datetime | None,
    provider_id: str | None,
) -> CompletionResponse:
    """``CompletionResponse(...)`` with these fields and no cost."""
    response = _new(CompletionResponse)
    _ID(response, id)
    _MODEL(response, model)
    _CHOICES(response, choices)
    _USAGE(response, usage)
    _CREATED(response, created)
    _PROVIDER(response, provider_id)
    _COST(response, None)
    return response
