"""The provider's fast paths give what the slow ones gave: the same answers, the same errors.

``parse_response`` reads the body with ``json_body`` (held to ``json.loads`` here and in
tests/core/test_json_wire.py) and builds its answer without attrs'
converters; each is held here against the code it replaced, on ordinary and hostile answers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshkit.connectors.providers import OpenAICompatibleProvider, _answers
from meshkit.errors import ProviderProtocolError
from meshkit.interfaces import json_body
from meshkit.types import ChatMessage, Choice, CompletionRequest, CompletionResponse, TokenUsage, ToolCall

# --- the code the fast paths replaced, kept as the reference ------------------------------------


def _text(content: Any) -> str | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    raise TypeError(f"message content is a {type(content).__name__}")


def _tool_calls(value: Any) -> tuple[ToolCall, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise TypeError(f"tool_calls is a {type(value).__name__}, not a list")
    return tuple(ToolCall.coerce(call) for call in value)


def _choice(position: int, item: Mapping[str, Any]) -> Choice:
    message = item["message"]
    return Choice(
        index=int(item.get("index", position)),
        message=ChatMessage(
            role=str(message.get("role") or "assistant"),
            content=_text(message.get("content")),
            tool_calls=_tool_calls(message.get("tool_calls")),
        ),
        finish_reason=item.get("finish_reason"),
    )


def _usage(value: Any) -> TokenUsage | None:
    if not isinstance(value, Mapping):
        return None
    prompt = int(value.get("prompt_tokens") or 0)
    completion = int(value.get("completion_tokens") or 0)
    total = value.get("total_tokens")
    return TokenUsage(prompt, completion, int(total) if total is not None else prompt + completion)


def _created(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return None


def reference_parse(
    provider: OpenAICompatibleProvider, response: httpx.Response, request: CompletionRequest
) -> CompletionResponse:
    data = response.json()
    if not isinstance(data, dict):
        raise ProviderProtocolError(
            f"expected a JSON object, got {type(data).__name__}", provider_id=provider.name
        )
    if data.get("error"):
        raise provider.error_from_body(data["error"], response.status_code, response.headers)
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise ProviderProtocolError("the response has no 'choices' list", provider_id=provider.name)
    return CompletionResponse(
        id=str(data.get("id") or ""),
        model=str(data.get("model") or request.model or ""),
        choices=tuple(_choice(i, c) for i, c in enumerate(choices)),
        usage=_usage(data.get("usage")) or TokenUsage(),
        created=_created(data.get("created")),
        provider_id=provider.name,
    )


# --- helpers ----------------------------------------------------------------------------------

PROVIDER = OpenAICompatibleProvider({"base_url": "http://127.0.0.1:9/v1"}, name="up")
REQUEST = CompletionRequest(messages=[{"role": "user", "content": "hi"}], model="asked")


def outcome(call: Any) -> tuple[str, Any]:
    """What a call gave: its value, or its error's type, message and cause's type."""
    try:
        return "value", call()
    except Exception as exc:  # the errors are what is compared
        cause = type(exc.__cause__).__name__ if exc.__cause__ is not None else None
        return "error", (type(exc).__name__, str(exc), cause)


def both(body: bytes) -> tuple[tuple[str, Any], tuple[str, Any]]:
    """parse_response's outcome and the reference's, each through the provider's error mapping."""
    response = httpx.Response(200, content=body)
    fast = outcome(lambda: PROVIDER._parsed(response, lambda: PROVIDER.parse_response(response, REQUEST)))
    slow = outcome(lambda: PROVIDER._parsed(response, lambda: reference_parse(PROVIDER, response, REQUEST)))
    return fast, slow


def shape(value: Any) -> Any:
    """``value`` with the type of every part beside it, attrs instances field by field."""
    if attrs.has(type(value)):
        return type(value), {f.name: shape(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, list | tuple):
        return type(value), [shape(item) for item in value]
    if isinstance(value, dict):
        return dict, {key: shape(item) for key, item in value.items()}
    return type(value), value


def same_answer(fast: tuple[str, Any], slow: tuple[str, Any]) -> None:
    assert fast == slow
    if fast[0] == "value":  # equal, and of the same types all the way down
        assert shape(fast[1]) == shape(slow[1])


GOOD = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1_700_000_000,
    "model": "bench",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6},
}
CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}

ANSWERS: list[Any] = [
    GOOD,
    {**GOOD, "usage": None},
    {**GOOD, "usage": {"prompt_tokens": 3}},
    {**GOOD, "usage": {"prompt_tokens": "7", "completion_tokens": 1.9, "total_tokens": None}},
    {**GOOD, "usage": {"prompt_tokens": "many"}},
    {**GOOD, "usage": []},
    {**GOOD, "created": 1.5},
    {**GOOD, "created": True},
    {**GOOD, "created": "yesterday"},
    {**GOOD, "created": 10**30},
    {**GOOD, "id": None, "model": None},
    {**GOOD, "id": 12, "model": ["m"]},
    {**GOOD, "choices": []},
    {**GOOD, "choices": None},
    {**GOOD, "choices": {"0": {}}},
    {**GOOD, "choices": [{}]},
    {**GOOD, "choices": [[]]},
    {**GOOD, "choices": ["text"]},
    {**GOOD, "choices": [{"message": "hi"}]},
    {**GOOD, "choices": [{"message": None}]},
    {**GOOD, "choices": [{"message": {}}]},
    {**GOOD, "choices": [{"message": {"role": None, "content": None}}]},
    {**GOOD, "choices": [{"message": {"role": 5, "content": 5}}]},
    {**GOOD, "choices": [{"message": {"content": [{"type": "text", "text": "a"}, "x", {"text": 2}]}}]},
    {**GOOD, "choices": [{"message": {"content": "a", "tool_calls": [CALL, CALL]}}]},
    {**GOOD, "choices": [{"message": {"content": None, "tool_calls": []}}]},
    {**GOOD, "choices": [{"message": {"tool_calls": {"id": "x"}}}]},
    {**GOOD, "choices": [{"message": {"tool_calls": [{"id": "x"}]}}]},
    {**GOOD, "choices": [{"message": {"tool_calls": ["x"]}}]},
    {**GOOD, "choices": [{"message": {"content": {"a": 1}, "tool_calls": ["x"]}}]},
    {**GOOD, "choices": [{"index": "2", "message": {}}, {"index": None, "message": {}}]},
    {**GOOD, "choices": [{"index": 1.7, "message": {}, "finish_reason": ["odd"]}, {"message": {}}]},
    {**GOOD, "error": {"message": "overloaded", "type": "server_error"}},
    {**GOOD, "error": ""},
    {"choices": [{"message": {"content": "bare"}}]},
    [],
    [GOOD],
    "text",
    None,
    3,
]
BODIES: list[bytes] = [
    *(json.dumps(answer).encode() for answer in ANSWERS),
    json.dumps(GOOD, indent=2).encode(),
    b"  " + json.dumps(GOOD).encode() + b"\n",
    json.dumps(GOOD).encode() + b" x",
    json.dumps(GOOD).encode() + b"{}",
    "\ufeff".encode() + json.dumps(GOOD).encode(),
    json.dumps(GOOD).encode("utf-16"),
    json.dumps(GOOD).encode("utf-16-le"),
    json.dumps(GOOD).encode("utf-32-be"),
    json.dumps({**GOOD, "id": "héllo ☃"}, ensure_ascii=False).encode(),
    b'{"id": "\xed\xa0\x80", "choices": []}',  # a lone surrogate, which json.loads lets through
    b'{"id": "\xff", "choices": []}',
    b'{"id": NaN, "choices": [], "created": Infinity}',
    b'{"choices": [], "choices": [{"message": {}}]}',
    b'{"choices": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
    b'{"choices": []',
    b"{",
    b"{}",
    b"",
    b"null",
    b"<html>bad gateway</html>",
]


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_json_body_is_json_loads(body: bytes) -> None:
    assert outcome(lambda: json_body(body)) == outcome(lambda: json.loads(body))


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_parse_response_is_what_it_was(body: bytes) -> None:
    same_answer(*both(body))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
MESSAGE = st.fixed_dictionaries(
    {},
    optional={
        "role": JSON,
        "content": JSON | st.lists(st.fixed_dictionaries({"text": JSON})),
        "tool_calls": JSON,
    },
)
CHOICE = st.fixed_dictionaries({}, optional={"index": JSON, "message": MESSAGE | JSON, "finish_reason": JSON})
ANSWER = st.fixed_dictionaries(
    {},
    optional={
        "id": JSON,
        "model": JSON,
        "created": JSON,
        "choices": st.lists(CHOICE, max_size=3) | JSON,
        "usage": st.dictionaries(
            st.sampled_from(["prompt_tokens", "completion_tokens", "total_tokens"]), JSON
        )
        | JSON,
        "error": JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(ANSWER)
def test_parse_response_is_what_it_was_on_any_answer(answer: dict[str, Any]) -> None:
    same_answer(*both(json.dumps(answer).encode()))


def test_the_builders_give_what_the_constructors_give() -> None:
    call = ToolCall.coerce(CALL)
    message = _answers.chat_message("assistant", "hi", (call,))
    assert message == ChatMessage(role="assistant", content="hi", tool_calls=(call,))
    assert _answers.chat_message("tool", None, None) == ChatMessage(role="tool")
    usage = _answers.token_usage(1, 2, 4)
    assert usage == TokenUsage(1, 2, 4)
    choice = _answers.choice(3, message, "stop")
    assert choice == Choice(index=3, message=message, finish_reason="stop")
    made = _answers.completion("i", "m", (choice,), usage, None, "up")
    assert made == CompletionResponse(id="i", model="m", choices=(choice,), usage=usage, provider_id="up")
    assert made.cost is None and made.to_dict(created=1)["usage"] == usage.to_dict()


def test_a_builder_refuses_to_leave_a_field_unset() -> None:
    # A field added to a type without a value here is an error, not an unset slot.
    with pytest.raises(TypeError, match="total_tokens"):
        _answers._usage(prompt_tokens=1, completion_tokens=2)
