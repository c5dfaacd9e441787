"""``meshkit.trusted``: values made without ``__init__`` are the values ``__init__`` makes."""

from __future__ import annotations

import gc
import pickle
import weakref
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshkit import trusted
from meshkit.enums import DeactivationReason, ModelStatus
from meshkit.types import ModelPricing, ModelSnapshot, TokenUsage

_times = st.none() | st.datetimes(timezones=st.just(UTC))
_counts = st.integers(min_value=0, max_value=10**9)

SNAPSHOT_VALUES = st.fixed_dictionaries(
    {
        "model_id": st.text(min_size=1),
        "provider_id": st.text(min_size=1),
        "pool_id": st.none() | st.text(),
        "status": st.sampled_from(ModelStatus),
        "deactivation_reason": st.none() | st.sampled_from(DeactivationReason),
        "consecutive_failures": _counts,
        "window_requests": _counts,
        "window_failures": _counts,
        "requests": _counts,
        "tokens": _counts,
        "cost": st.floats(min_value=0, allow_nan=False),
        "latency_ewma_ms": st.none() | st.floats(min_value=0, allow_nan=False),
        "cooldown_until": _times,
        "deactivated_at": _times,
        "activated_at": _times,
        "last_success_at": _times,
        "last_failure_at": _times,
        "pricing": st.none()
        | st.builds(ModelPricing, input_per_1k=st.floats(0, 1), output_per_1k=st.floats(0, 1)),
        "priority": st.integers(-5, 5),
        "weight": st.floats(min_value=0, max_value=100),
        "limits": st.dictionaries(st.sampled_from(["requests", "tokens"]), st.floats(1, 1000)),
        "requests_last_minute": _counts,
        "tokens_last_minute": _counts,
    }
)


@given(SNAPSHOT_VALUES)
def test_a_made_snapshot_equals_the_one_init_makes(values: dict[str, Any]) -> None:
    made = trusted.maker(ModelSnapshot)(**values)
    assert type(made) is ModelSnapshot
    assert made == ModelSnapshot(**values)
    assert repr(made) == repr(ModelSnapshot(**values))
    assert attrs.asdict(made, recurse=False) == values


@given(SNAPSHOT_VALUES, SNAPSHOT_VALUES)
def test_a_copy_takes_the_changed_fields_and_keeps_the_rest(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    original = ModelSnapshot(**first)
    changed = ("status", "latency_ewma_ms", "requests_last_minute")
    copy = trusted.copier(ModelSnapshot, changed)(original, *(second[name] for name in changed))
    assert copy == attrs.evolve(original, **{name: second[name] for name in changed})
    assert original == ModelSnapshot(**first)  # the original is left as it was


def test_a_made_value_is_frozen_hashable_weakly_referable_and_pickles() -> None:
    usage = trusted.maker(TokenUsage)(prompt_tokens=3, completion_tokens=2, total_tokens=5)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        usage.prompt_tokens = 4  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del usage.prompt_tokens  # type: ignore[misc]
    assert hash(usage) == hash(TokenUsage(3, 2, 5))
    assert {usage: 1}[TokenUsage(3, 2, 5)] == 1
    assert weakref.ref(usage)() is usage
    assert pickle.loads(pickle.dumps(usage)) == usage
    assert isinstance(usage, TokenUsage) and type(usage).__mro__ == TokenUsage.__mro__


def test_every_field_must_be_given() -> None:
    with pytest.raises(TypeError, match="total_tokens"):
        trusted.maker(TokenUsage)(prompt_tokens=1, completion_tokens=2)


def test_a_value_made_by_position_follows_the_field_order() -> None:
    assert trusted.maker(TokenUsage)(1, 2, 3) == TokenUsage(1, 2, 3)


def test_made_values_are_collected() -> None:
    made = trusted.maker(TokenUsage)(1, 2, 3)
    gone = weakref.ref(made)
    del made
    gc.collect()
    assert gone() is None


@attrs.frozen
class WithPostInit:
    value: int

    def __attrs_post_init__(self) -> None:
        pass


@attrs.frozen(cache_hash=True)
class WithCachedHash:
    value: int


class NotAttrs:
    pass


@attrs.frozen
class OwnNames:
    _made: int


@pytest.mark.parametrize(
    ("cls", "why"),
    [
        (WithPostInit, "__attrs_post_init__"),
        (WithCachedHash, "slots that are not fields"),
        (NotAttrs, "not an attrs class"),
        (OwnNames, "field named '_made'"),
    ],
)
def test_a_class_a_trusted_value_would_get_wrong_is_refused(cls: type, why: str) -> None:
    with pytest.raises(TypeError, match=why):
        trusted.maker(cls)  # type: ignore[type-var]


def test_an_unknown_field_is_refused_by_the_copier() -> None:
    with pytest.raises(TypeError, match="has no field 'prompt'"):
        trusted.copier(TokenUsage, ("prompt",))


@attrs.frozen(slots=False)
class DictBased:
    name: str
    when: datetime | None = None


def test_a_class_without_slots_is_made_the_same_way() -> None:
    made = trusted.maker(DictBased)(name="a", when=None)
    assert made == DictBased("a") and type(made) is DictBased
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.name = "b"  # type: ignore[misc]


@attrs.frozen
class Refusing:
    value: int
    other: str = "x"


def test_where_class_assignment_is_refused_each_field_is_set_as_init_sets_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(trusted, "_assignable", lambda cls, filler: False)
    monkeypatch.setattr(trusted, "_MAKERS", {})
    monkeypatch.setattr(trusted, "_COPIERS", {})
    made = trusted.maker(Refusing)(value=1, other="y")
    assert made == Refusing(1, "y") and type(made) is Refusing
    assert trusted.copier(Refusing, ("value",))(made, 2) == Refusing(2, "y")
