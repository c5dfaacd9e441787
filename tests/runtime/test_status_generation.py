"""The status generation: it moves with every change to whether a model can serve, and only then."""

from __future__ import annotations

import attrs

from meshkit.enums import ModelStatus
from meshkit.runtime import status_generation
from meshkit.runtime.state import ModelState, ProviderState


def test_assigning_a_status_counts_a_change() -> None:
    model = ModelState("p.m", provider_id="p")
    before = status_generation.current()
    model.status = ModelStatus.STANDBY
    assert status_generation.current() == before + 1
    assert model.status is ModelStatus.STANDBY


def test_setting_a_provider_aside_counts_a_change() -> None:
    provider = ProviderState()
    before = status_generation.current()
    provider.deactivated = True
    assert status_generation.current() == before + 1
    assert provider.deactivated


def test_counting_a_request_does_not() -> None:
    model = ModelState("p.m", provider_id="p")
    before = status_generation.current()
    model.requests += 1
    model.consecutive_failures = 3
    assert status_generation.current() == before
    assert (model.requests, model.consecutive_failures) == (1, 3)


def test_a_counted_field_stays_an_attrs_field() -> None:
    model = ModelState("p.m", provider_id="p", status=ModelStatus.STANDBY)
    assert "status" in attrs.fields_dict(ModelState)
    assert model.to_data()["status"] == "standby"
    copy = attrs.evolve(model, detail="moved")
    assert (copy.status, copy.detail) == (ModelStatus.STANDBY, "moved")
    restored = ModelState("p.m", provider_id="p")
    before = status_generation.current()
    restored.restore(model.to_data())
    assert restored.status is ModelStatus.STANDBY
    assert status_generation.current() > before
