"""``trusted.copier`` is ``attrs.evolve`` for checked values: the same value, the original untouched."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from meshkit.trusted import copier
from meshkit.types import (
    ChatMessage,
    Choice,
    ChunkChoice,
    CompletionChunk,
    CompletionRequest,
    CompletionResponse,
    Delta,
    TokenUsage,
)

REQUEST = CompletionRequest(
    messages=[{"role": "user", "content": "hi"}],
    model="chat",
    max_tokens=5,
    stop=("x",),
    session_id="s",
    extra={"seed": 1},
)
RESPONSE = CompletionResponse(
    id="r",
    model="m",
    choices=(Choice(index=0, message=ChatMessage(role="assistant", content="yo"), finish_reason="stop"),),
    usage=TokenUsage(3, 1),
    created=datetime(2026, 1, 1, tzinfo=UTC),
)


def replaced(original: Any, /, **changes: Any) -> Any:
    return copier(type(original), tuple(changes))(original, *changes.values())


CHUNK = CompletionChunk(id="c", model="m", choices=(ChunkChoice(index=0, delta=Delta(content="y")),))


@pytest.mark.parametrize(
    ("value", "changes"),
    [
        (REQUEST, {"model": "upstream-1"}),
        (RESPONSE, {"model": "fake.m0", "provider_id": "fake", "cost": 0.25}),
        (CHUNK, {"model": "fake.m0", "provider_id": "fake"}),
        (REQUEST, {}),
    ],
)
def test_a_replaced_value_equals_the_evolved_one_and_leaves_the_original(
    value: Any, changes: dict[str, Any]
) -> None:
    before = attrs.asdict(value)
    copy = replaced(value, **changes)
    assert copy == attrs.evolve(value, **changes)
    assert type(copy) is type(value) and copy is not value
    assert attrs.asdict(value) == before
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        copy.model = "other"  # type: ignore[attr-defined]


def test_a_field_the_class_lacks_is_refused_as_evolve_refuses_it() -> None:
    with pytest.raises(TypeError, match="has no field 'modle'"):
        replaced(REQUEST, modle="typo")


def test_changes_given_in_another_order_give_the_same_value() -> None:
    one = replaced(RESPONSE, model="a", cost=1.0)
    other = replaced(RESPONSE, cost=1.0, model="a")
    assert one == other == attrs.evolve(RESPONSE, model="a", cost=1.0)


@attrs.frozen
class CheckedAfterInit:
    value: int
    checked: list[int] = attrs.field(factory=list, init=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self.checked.append(self.value)


def test_a_class_that_must_run_its_post_init_is_copied_through_evolve() -> None:
    original = CheckedAfterInit(1)
    copy = replaced(original, value=2)
    assert copy == CheckedAfterInit(2) and copy.checked == [2]


def test_a_class_that_is_not_attrs_is_refused() -> None:
    with pytest.raises(TypeError, match="not an attrs class"):
        copier(dict, ("model",))
