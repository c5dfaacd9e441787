"""What a rotation policy promises about its choice, stated so that the suite can check every choice.

Every policy must return an active candidate, deterministically; what makes round-robin
round-robin is a rule of its own. A policy's spec names that rule
(``ConformanceSpec(rule=IN_TURN)``), and ``test_select_follows_its_declared_rule`` holds the
policy to it over hand-made histories and Hypothesis ones. A rule is a function of what
the policy was asked and answered so far, and of the candidates now: the model ids the next
choice may be, or None where the rule says nothing (the suite then checks only that the
choice is an active candidate). Write one for a policy of your own the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import attrs

from ..types import CompletionRequest, ModelSnapshot

__all__ = ["IN_TURN", "MOST_PREFERRED", "STICKY", "SelectionRule", "Step"]


@attrs.frozen
class Step:
    """One selection already made: the candidates the policy was given, the request, its answer."""

    candidates: tuple[ModelSnapshot, ...]
    request: CompletionRequest
    chosen: str | None


#: ``allowed(past, candidates, request)``: the model ids the next choice may be, or None.
Allowed = Callable[[Sequence[Step], Sequence[ModelSnapshot], CompletionRequest], Collection[str] | None]


@attrs.frozen
class SelectionRule:
    """A policy's own rule for which active candidate it picks."""

    #: A short name, for messages: ``in turn``.
    name: str
    #: The rule in words, for messages and docs.
    summary: str
    #: Which model ids the next choice may be (see the module's docstring).
    allowed: Allowed


def _last_choice(past: Sequence[Step]) -> Step | None:
    return next((step for step in reversed(past) if step.chosen is not None), None)


def _last_served(past: Sequence[Step]) -> str | None:
    last = _last_choice(past)
    return None if last is None else last.chosen


def _next_active(candidates: Sequence[ModelSnapshot], start: int) -> str | None:
    """The first active candidate at or after ``start``, wrapping around."""
    for offset in range(len(candidates)):
        candidate = candidates[(start + offset) % len(candidates)]
        if candidate.is_active:
            return candidate.model_id
    return None


def _most_preferred(candidates: Sequence[ModelSnapshot]) -> str | None:
    best: ModelSnapshot | None = None
    for candidate in candidates:
        if candidate.is_active and (best is None or candidate.priority < best.priority):
            best = candidate
    return None if best is None else best.model_id


def _in_turn(
    past: Sequence[Step], candidates: Sequence[ModelSnapshot], request: CompletionRequest
) -> Collection[str] | None:
    if not any(c.is_active for c in candidates):
        return None
    served = _last_choice(past)
    if served is None or served.chosen is None:
        return {next(c.model_id for c in candidates if c.is_active)}
    last = served.chosen
    ids = [c.model_id for c in candidates]
    if last in ids:
        following = _next_active(candidates, ids.index(last) + 1)
        return None if following is None else {following}
    before = [c.model_id for c in served.candidates]
    if ids == [i for i in before if i != last]:
        # Only the model served last has left: the one after it keeps its turn.
        following = _next_active(candidates, before.index(last))
        return None if following is None else {following}
    return None  # the pool changed more than that: who comes next is the policy's call


def _sticky(
    past: Sequence[Step], candidates: Sequence[ModelSnapshot], request: CompletionRequest
) -> Collection[str] | None:
    last = _last_served(past)
    if last is not None and any(c.model_id == last and c.is_active for c in candidates):
        return {last}
    preferred = _most_preferred(candidates)
    return None if preferred is None else {preferred}


def _preferred(
    past: Sequence[Step], candidates: Sequence[ModelSnapshot], request: CompletionRequest
) -> Collection[str] | None:
    preferred = _most_preferred(candidates)
    return None if preferred is None else {preferred}


#: Round-robin: the first active model first, then each time the next active one after the
#: model served last, in the pool's order, wrapping around; when only the model served last
#: has left the pool, the one that came after it.
IN_TURN = SelectionRule(
    name="in turn",
    summary=(
        "the first active model first, then the next active one after the model served last, "
        "in the pool's order, wrapping around (after it still when it alone has left the pool)"
    ),
    allowed=_in_turn,
)

#: Stick until failure: the model served last while it is active; otherwise (and at first)
#: the most preferred active model.
STICKY = SelectionRule(
    name="sticky",
    summary=(
        "the model served last while it is active; otherwise the active model with the lowest "
        "priority number, the first in the pool's order on ties"
    ),
    allowed=_sticky,
)

#: Always the most preferred active model: the lowest ``priority`` number, the first in the
#: pool's order on ties.
MOST_PREFERRED = SelectionRule(
    name="most preferred",
    summary="the active model with the lowest priority number, the first in the pool's order on ties",
    allowed=_preferred,
)
