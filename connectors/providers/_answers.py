"""Answer objects built from values the parser has already checked, without attrs' ``__init__``.

The answer types are public and their constructors convert what a user hands them (a list of
content parts, tool-call dicts). A parser's values are already in their final form: ``str``
text, a tuple of ``ToolCall``, ints. ``meshkit.interfaces.trusted_maker`` fills each in as its
``__init__`` would with those values, at about a fifth of the cost. Every field is given by
name: a field added to a type is a ``TypeError`` here (the fast-answer tests build each one).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from meshkit import ChatMessage, Choice, CompletionResponse, TokenUsage, ToolCall
from meshkit.interfaces import trusted_maker

__all__ = ["chat_message", "choice", "completion", "token_usage"]

_message = trusted_maker(ChatMessage)
_choice = trusted_maker(Choice)
_usage = trusted_maker(TokenUsage)
_completion = trusted_maker(CompletionResponse)


def chat_message(role: str, content: str | None, tool_calls: tuple[ToolCall, ...] | None) -> ChatMessage:
    """``ChatMessage(role=role, content=content, tool_calls=tool_calls)``: its converters keep
    a ``str`` (or None) and a tuple of ``ToolCall`` as they are."""
    return _message(role=role, content=content, name=None, tool_calls=tool_calls, tool_call_id=None)


def choice(index: int, message: ChatMessage, finish_reason: Any) -> Choice:
    """``Choice(index=index, message=message, finish_reason=finish_reason)``."""
    return _choice(index=index, message=message, finish_reason=finish_reason)


def token_usage(prompt: int, completion: int, total: int) -> TokenUsage:
    """``TokenUsage(prompt, completion, total)``."""
    return _usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


def completion(
    id: str,
    model: str,
    choices: tuple[Choice, ...],
    usage: TokenUsage,
    created: datetime | None,
    provider_id: str | None,
) -> CompletionResponse:
    """``CompletionResponse(...)`` with these fields and no cost."""
    return _completion(
        id=id, model=model, choices=choices, usage=usage, created=created, provider_id=provider_id, cost=None
    )
