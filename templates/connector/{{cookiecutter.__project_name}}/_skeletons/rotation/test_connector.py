"""Tests of what is particular to this connector; the conformance suite covers the contract."""

from __future__ import annotations

from datetime import UTC, datetime

from meshkit import CompletionRequest, ModelSnapshot, ModelStatus

from {{ cookiecutter.__package_name }} import {{ cookiecutter.__class_name }}

NOW = datetime(2026, 1, 1, tzinfo=UTC)
REQUEST = CompletionRequest(messages=[{"role": "user", "content": "hi"}])


def _model(model_id: str, requests: int, status: ModelStatus = ModelStatus.ACTIVE) -> ModelSnapshot:
    return ModelSnapshot(
        model_id=model_id, provider_id="p", pool_id="chat", status=status, window_requests=requests
    )


def test_the_least_used_active_model_is_chosen() -> None:
    pool = [_model("a", 5), _model("b", 2), _model("c", 9)]
    chosen = {{ cookiecutter.__class_name }}().select(pool, REQUEST, NOW)
    assert chosen is not None and chosen.model_id == "b"


def test_a_tie_goes_to_the_earlier_model() -> None:
    pool = [_model("a", 3), _model("b", 3)]
    chosen = {{ cookiecutter.__class_name }}().select(pool, REQUEST, NOW)
    assert chosen is not None and chosen.model_id == "a"


def test_standby_models_are_never_chosen() -> None:
    pool = [_model("a", 0, ModelStatus.STANDBY), _model("b", 7)]
    chosen = {{ cookiecutter.__class_name }}().select(pool, REQUEST, NOW)
    assert chosen is not None and chosen.model_id == "b"
    all_standby = [_model("a", 0, ModelStatus.STANDBY)]
    assert {{ cookiecutter.__class_name }}().select(all_standby, REQUEST, NOW) is None
