"""The shared data model: Secret redaction, token totals, log-level trimming, messages."""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime

import attrs
import pytest

from meshkit import (
    ChatMessage,
    CompletionRequest,
    Delta,
    Embedding,
    EmbeddingRequest,
    EmbeddingResponse,
    LogLevel,
    ModelPricing,
    ModelSnapshot,
    ModelStatus,
    RequestLogEntry,
    Secret,
    TokenUsage,
    ToolCall,
    ToolCallDelta,
)

PLAIN = "sk-live-0123456789abcdef"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


class TestSecret:
    def test_repr_str_and_format_are_redacted(self) -> None:
        secret = Secret(PLAIN)
        for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", "%s" % secret, format(secret)):  # noqa: UP031
            assert PLAIN not in text
            assert "*" in text

    def test_reveal_returns_the_value(self) -> None:
        assert Secret(PLAIN).reveal() == PLAIN

    def test_containers_and_attrs_reprs_stay_redacted(self) -> None:
        @attrs.frozen
        class Holder:
            key: Secret

        for text in (repr([Secret(PLAIN)]), repr({"k": Secret(PLAIN)}), repr(Holder(Secret(PLAIN)))):
            assert PLAIN not in text

    def test_exceptions_and_tracebacks_stay_redacted(self) -> None:
        secret = Secret(PLAIN)
        try:
            raise ValueError(f"bad key {secret}", secret)
        except ValueError as exc:
            rendered = "".join(traceback.format_exception(exc))
            assert PLAIN not in str(exc)
            assert PLAIN not in repr(exc)
            assert PLAIN not in rendered

    def test_log_records_stay_redacted(self, caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.INFO, logger="meshkit.test"):
            logging.getLogger("meshkit.test").info("using %s and %r", Secret(PLAIN), Secret(PLAIN))
        assert caplog.records
        assert PLAIN not in caplog.text

    def test_equality_hash_and_truth_follow_the_value(self) -> None:
        assert Secret("a") == Secret("a")
        assert Secret("a") != Secret("b")
        assert Secret("a") != "a"
        assert len({Secret("a"), Secret("a"), Secret("b")}) == 2
        assert Secret("a")
        assert not Secret("")

    def test_is_immutable(self) -> None:
        secret = Secret(PLAIN)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            secret._value = "other"  # type: ignore[misc]


class TestTokenUsage:
    def test_total_defaults_to_prompt_plus_completion(self) -> None:
        assert TokenUsage(prompt_tokens=12, completion_tokens=30).total_tokens == 42
        assert TokenUsage(12, 30).total_tokens == 42

    def test_empty_usage_totals_zero(self) -> None:
        assert TokenUsage() == TokenUsage(0, 0, 0)

    def test_total_reported_by_the_provider_is_kept(self) -> None:
        # Some providers count hidden reasoning tokens into the total.
        assert TokenUsage(prompt_tokens=10, completion_tokens=5, total_tokens=20).total_tokens == 20

    def test_pricing_costs_usage_per_thousand_tokens(self) -> None:
        pricing = ModelPricing(input_per_1k=0.5, output_per_1k=1.5)
        assert pricing.cost(TokenUsage(2000, 1000)) == pytest.approx(2.5)


def _entry() -> RequestLogEntry:
    return RequestLogEntry(
        timestamp=NOW,
        request_id="r-1",
        model_id="local.small",
        provider_id="local",
        pool_id="chat",
        latency_ms=12.5,
        status_code=200,
        usage=TokenUsage(10, 5),
        cost=0.01,
        request={"messages": [{"role": "user", "content": "hi"}]},
        response={"text": "hello"},
    )


class TestRequestLogEntryAtLevel:
    def test_full_keeps_everything(self) -> None:
        entry = _entry()
        assert entry.at_level(LogLevel.FULL) == entry

    def test_summary_keeps_tokens_and_cost_but_drops_payloads(self) -> None:
        trimmed = _entry().at_level(LogLevel.SUMMARY)
        assert (trimmed.usage, trimmed.cost) == (TokenUsage(10, 5), 0.01)
        assert trimmed.request is None and trimmed.response is None

    def test_metadata_keeps_routing_facts_only(self) -> None:
        trimmed = _entry().at_level(LogLevel.METADATA)
        assert (trimmed.model_id, trimmed.provider_id, trimmed.latency_ms, trimmed.status_code) == (
            "local.small",
            "local",
            12.5,
            200,
        )
        assert trimmed.usage is None and trimmed.cost is None
        assert trimmed.request is None and trimmed.response is None

    def test_an_entry_with_nothing_to_trim_is_passed_on_as_it_is(self) -> None:
        bare = attrs.evolve(_entry(), request=None, response=None)
        assert bare.at_level(LogLevel.SUMMARY) is bare
        plain = attrs.evolve(bare, usage=None, cost=None)
        assert plain.at_level(LogLevel.METADATA) is plain

    def test_trimming_leaves_the_original_untouched(self) -> None:
        entry = _entry()
        entry.at_level(LogLevel.METADATA)
        assert entry.request is not None and entry.usage is not None


class TestMessagesAndRequests:
    def test_request_coerces_message_dicts(self) -> None:
        request = CompletionRequest(messages=[{"role": "user", "content": "hi"}])
        assert request.messages == (ChatMessage(role="user", content="hi"),)

    def test_message_without_role_is_rejected_with_the_value(self) -> None:
        with pytest.raises(TypeError, match="needs a 'role'"):
            CompletionRequest(messages=[{"content": "hi"}])

    def test_message_wire_form_omits_unset_fields(self) -> None:
        assert ChatMessage(role="user", content="hi").to_dict() == {"role": "user", "content": "hi"}
        calls = ({"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},)
        assert ChatMessage(role="assistant", tool_calls=calls).to_dict()["tool_calls"] == [dict(calls[0])]

    def test_tool_calls_read_like_the_openai_sdk_and_go_back_to_dicts(self) -> None:
        wire = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"a": 1}'}}
        message = ChatMessage.coerce({"role": "assistant", "content": None, "tool_calls": [wire]})
        (call,) = message.tool_calls or ()
        assert isinstance(call, ToolCall)
        assert (call.id, call.type, call.function.name) == ("c1", "function", "get_weather")
        assert json.loads(call.function.arguments) == {"a": 1}
        assert call.to_dict() == wire

    def test_tool_call_arguments_given_as_a_mapping_become_json_text(self) -> None:
        call = ToolCall.coerce({"id": "c", "function": {"name": "f", "arguments": {"x": [1, 2]}}})
        assert json.loads(call.function.arguments) == {"x": [1, 2]}

    def test_a_tool_call_without_a_function_name_is_rejected(self) -> None:
        with pytest.raises(TypeError, match="'function' with a 'name'"):
            ChatMessage(role="assistant", tool_calls=({"id": "c1", "type": "function"},))

    def test_stream_tool_call_deltas_have_attributes_and_omit_unset_fields(self) -> None:
        delta = Delta(tool_calls=({"index": 1, "function": {"arguments": '{"ci'}},))
        (part,) = delta.tool_calls or ()
        assert isinstance(part, ToolCallDelta)
        assert (part.index, part.id, part.function.name, part.function.arguments) == (1, None, None, '{"ci')
        assert part.to_dict() == {"index": 1, "function": {"arguments": '{"ci'}}

    def test_content_may_be_a_list_of_parts(self) -> None:
        parts = [
            {"type": "text", "text": "What is "},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            {"type": "text", "text": "this?"},
        ]
        message = ChatMessage.coerce({"role": "user", "content": parts})
        assert message.text == "What is this?"
        assert message.has_image and not ChatMessage(role="user", content="hi").has_image
        assert message.to_dict() == {"role": "user", "content": parts}
        assert CompletionRequest(messages=[message]).estimated_prompt_tokens() == 3

    def test_a_content_part_without_a_type_is_rejected(self) -> None:
        with pytest.raises(TypeError, match="content part"):
            ChatMessage(role="user", content=[{"text": "hi"}])

    def test_embedding_request_takes_one_text_or_a_list(self) -> None:
        assert EmbeddingRequest(input="hello").input == ("hello",)
        assert EmbeddingRequest(input=["a", "b"], dimensions=4).input == ("a", "b")
        for bad in ([], [1], None):
            with pytest.raises(TypeError, match="embedding input"):
                EmbeddingRequest(input=bad)  # type: ignore[arg-type]

    def test_embedding_response_lists_vectors_in_input_order(self) -> None:
        reply = EmbeddingResponse(
            model="m",
            data=(Embedding(0, [1.0, 0.0]), Embedding(1, [0.0, 1.0])),
            usage=TokenUsage(prompt_tokens=3, total_tokens=3),
        )
        assert reply.vectors == [[1.0, 0.0], [0.0, 1.0]]
        assert [d.index for d in reply.data] == [0, 1]
        assert (reply.usage.prompt_tokens, reply.usage.total_tokens) == (3, 3)

    def test_snapshot_error_rate_is_windowed(self) -> None:
        snap = ModelSnapshot(model_id="m", provider_id="p", window_requests=8, window_failures=2)
        assert snap.error_rate == 0.25
        assert ModelSnapshot(model_id="m", provider_id="p").error_rate == 0.0
        assert not attrs.evolve(snap, status=ModelStatus.STANDBY).is_active
