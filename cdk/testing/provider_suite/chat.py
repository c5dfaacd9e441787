"""Chat: a completion comes back well formed, and what was asked reaches the wire."""

from __future__ import annotations

import secrets

import anyio
import pytest

from ...types import CompletionRequest, CompletionResponse, ProbeResult
from ..target import ConformanceTarget
from .harness import ProviderHarness


class ChatTests(ProviderHarness):
    """Every provider: answers, usage, probe, concurrency, secrets, and the request on the wire."""

    @pytest.mark.anyio
    async def test_complete_returns_a_well_formed_response(
        self, conformance_target: ConformanceTarget
    ) -> None:
        async with self.provider(conformance_target) as (provider, _):
            response = await provider.complete(self.request(conformance_target))
        assert isinstance(response, CompletionResponse), f"complete() returned {type(response).__name__}"
        assert isinstance(response.id, str) and response.id, "a response needs an id"
        assert isinstance(response.model, str) and response.model, "a response names its model"
        assert response.choices, "a response has at least one choice"
        first = response.choices[0]
        assert first.message.role == "assistant", f"the answer's role is {first.message.role!r}"
        assert isinstance(first.message.content, str) and first.message.content, "the answer has text"

    @pytest.mark.anyio
    async def test_usage_adds_up(self, conformance_target: ConformanceTarget) -> None:
        async with self.provider(conformance_target) as (provider, _):
            usage = (await provider.complete(self.request(conformance_target))).usage
        assert usage.prompt_tokens >= 0 and usage.completion_tokens >= 0, f"negative token counts: {usage}"
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens, f"usage: {usage}"
        assert usage.total_tokens > 0, "a completed call consumed tokens; usage reports none"

    @pytest.mark.anyio
    async def test_probe_reports_healthy(self, conformance_target: ConformanceTarget) -> None:
        async with self.provider(conformance_target) as (provider, _):
            result = await provider.probe()
        assert isinstance(result, ProbeResult), f"probe() returned {type(result).__name__}"
        assert result.ok, f"a healthy provider probes ok, got error {result.error!r}"
        assert result.checked_at.tzinfo is not None, "checked_at must be timezone-aware"

    @pytest.mark.anyio
    async def test_concurrent_calls(self, conformance_target: ConformanceTarget) -> None:
        results: list[CompletionResponse] = []
        async with self.provider(conformance_target) as (provider, transport):

            async def call() -> None:
                results.append(await provider.complete(self.request(conformance_target)))

            async with anyio.create_task_group() as tg:
                for _ in range(16):
                    tg.start_soon(call)
            if transport is not None:
                assert len(transport.requests) == 16, f"16 calls made {len(transport.requests)} requests"
                assert transport.open_streams == 0, "every response must be closed"
        assert len(results) == 16 and all(r.choices for r in results)

    @pytest.mark.anyio
    async def test_repr_hides_secrets(self, conformance_target: ConformanceTarget) -> None:
        async with self.provider(conformance_target) as (provider, _):
            shown = " ".join([repr(provider), str(provider), repr(provider.config), str(provider.config)])
            for secret in [*provider.secrets(), *([self._key] if self._key else [])]:
                assert secret not in shown, "a secret shows in the provider's or its config's repr"

    # --- what reaches the wire ---------------------------------------------------------

    def marked_request(self, target: ConformanceTarget, **overrides: object) -> tuple[CompletionRequest, str]:
        """A request whose every part carries a mark no provider would invent."""
        mark = secrets.token_hex(4)
        fields: dict[str, object] = {
            "messages": [
                {"role": "system", "content": f"You are terse ({mark}-system)."},
                {"role": "user", "content": f"First question ({mark}-user-1)"},
                {"role": "assistant", "content": f"First answer ({mark}-assistant)"},
                {"role": "user", "content": f"Second question ({mark}-user-2)"},
            ],
            "max_tokens": 37,
            "temperature": 0.25,
            "top_p": 0.625,
            "stop": [f"<{mark}-stop>"],
        }
        fields.update(overrides)
        return self.request(target, **fields), mark

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_every_message_reaches_the_wire(self, conformance_target: ConformanceTarget) -> None:
        request, mark = self.marked_request(conformance_target)
        async with self.loopback(conformance_target) as (provider, server):
            await provider.complete(request)
            sent = self.sent_chat(conformance_target, server)
        expected = [(m.role, m.text) for m in request.messages]
        texts = [text for _, text in sent.messages]
        for role, content in expected:
            assert any(content in text for text in texts), (
                f"the {role} message {content!r} never reached the wire; sent: {sent.messages}"
            )
        order = [next(i for i, t in enumerate(texts) if content in t) for _, content in expected]
        assert order == sorted(order), f"the messages reached the wire out of order: {sent.messages}"
        system = next(role for role, text in sent.messages if f"{mark}-system" in text)
        assert system in ("system", "developer"), f"the system message was sent as {system!r}"

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_model_name_reaches_the_wire(self, conformance_target: ConformanceTarget) -> None:
        model = f"{self.model(conformance_target)}-large"  # not the spec's default model
        async with self.loopback(conformance_target) as (provider, server):
            await provider.complete(self.request(conformance_target, model=model))
            sent = self.sent_chat(conformance_target, server)
        assert sent.model == model, f"asked for model {model!r}, the wire carried {sent.model!r}"

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_sampling_parameters_reach_the_wire(self, conformance_target: ConformanceTarget) -> None:
        request, mark = self.marked_request(conformance_target)
        async with self.loopback(conformance_target) as (provider, server):
            await provider.complete(request)
            sent = self.sent_chat(conformance_target, server)
        assert sent.max_tokens == 37, f"max_tokens=37 was asked, the wire carried {sent.max_tokens!r}"
        assert sent.temperature == pytest.approx(0.25), (
            f"temperature=0.25 was asked, the wire carried {sent.temperature!r}"
        )
        assert sent.top_p == pytest.approx(0.625), f"top_p=0.625 was asked, the wire carried {sent.top_p!r}"
        assert sent.stop == [f"<{mark}-stop>"], f"stop sequences asked: [<{mark}-stop>], sent: {sent.stop}"

    @pytest.mark.meshkit_http
    @pytest.mark.anyio
    async def test_stop_sequence_ends_the_answer(self, conformance_target: ConformanceTarget) -> None:
        # The local server honours stop sequences as the APIs do: the answer ends before one.
        request = self.request(conformance_target, stop=["from"])
        async with self.loopback(conformance_target) as (provider, _):
            response = await provider.complete(request)
        assert "from" not in response.text and response.text.strip(), (
            f"the answer should end before the stop sequence 'from', got {response.text!r}"
        )
