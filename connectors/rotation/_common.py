"""Small pieces the built-in policies share: pool keys, index hints, a round-robin cursor."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from meshkit import ModelSnapshot, ModelStatus

T = TypeVar("T")

#: Bound once: reading an enum member off its class costs more than the rest of a check.
ACTIVE = ModelStatus.ACTIVE
#: What ``pool_of`` finds on a plain sequence, which has no ``pool_id``.
_UNNAMED = object()


def pool_of(candidates: Sequence[ModelSnapshot]) -> str | None:
    """The pool the candidates belong to (state is kept per pool).

    A pool's own candidates name it (``Candidates.pool_id``) without a snapshot being made;
    any other sequence, by its first snapshot.
    """
    pool = getattr(candidates, "pool_id", _UNNAMED)
    if pool is not _UNNAMED:
        return pool  # type: ignore[return-value]
    return candidates[0].pool_id if candidates else None


def find_active(
    candidates: Sequence[ModelSnapshot], model_id: str, hint: int
) -> tuple[int, ModelSnapshot] | None:
    """Where ``model_id`` is among the active candidates; O(1) when ``hint`` is still right."""
    if 0 <= hint < len(candidates):
        candidate = candidates[hint]
        if candidate.model_id == model_id:
            return (hint, candidate) if candidate.status is ACTIVE else None
    for index, candidate in enumerate(candidates):
        if candidate.model_id == model_id:
            return (index, candidate) if candidate.status is ACTIVE else None
    return None


def first_active_from(candidates: Sequence[ModelSnapshot], start: int) -> tuple[int, ModelSnapshot] | None:
    """The first active candidate at or after ``start``, wrapping around; O(1) when all are active."""
    n = len(candidates)
    for step in range(n):
        index = (start + step) % n
        if candidates[index].status is ACTIVE:
            return index, candidates[index]
    return None


def most_preferred(candidates: Sequence[ModelSnapshot]) -> tuple[int, ModelSnapshot] | None:
    """The active candidate with the lowest ``priority`` number, the first on ties."""
    best: tuple[int, ModelSnapshot] | None = None
    best_priority = 0
    for index, candidate in enumerate(candidates):
        if candidate.status is ACTIVE and (best is None or candidate.priority < best_priority):
            best, best_priority = (index, candidate), candidate.priority
    return best


class RoundRobinCursor:
    """Remembers the last model served so the next turn goes to the one after it.

    The cursor follows the model, not the position, so a model joining or leaving the
    pool neither skips nor repeats anyone; the hint keeps the common case O(1).
    """

    __slots__ = ("_last_id", "_last_index")

    def __init__(self) -> None:
        self._last_id: str | None = None
        self._last_index = -1

    @property
    def last_index(self) -> int:
        """Where the last model served stood in the candidates it was picked from."""
        return self._last_index

    def next(self, candidates: Sequence[ModelSnapshot]) -> ModelSnapshot | None:
        """The next active candidate in turn, or None when none is active."""
        if not candidates:
            return None
        start = self._start(candidates)
        found = first_active_from(candidates, start)
        if found is None:
            return None
        self._last_index, chosen = found
        self._last_id = chosen.model_id
        return chosen

    def _start(self, candidates: Sequence[ModelSnapshot]) -> int:
        if self._last_id is None:
            return 0
        hint = self._last_index
        if 0 <= hint < len(candidates) and candidates[hint].model_id == self._last_id:
            return hint + 1
        for index, candidate in enumerate(candidates):
            if candidate.model_id == self._last_id:
                return index + 1
        # The last model left the pool: whoever took its place is next.
        return max(hint, 0)


class KeptOrder(Generic[T]):
    """What a policy works out about a pool's candidates (their order, say), once per set of them.

    ``work_out`` reads only what is fixed for a model (priority, pricing, weight, limits,
    the policy's own configuration), so its answer holds for as long as the candidates are
    the same models: a pool hands over the same ``model_ids`` until a status changes. State
    changes, not requests, pay for working it out. Candidates that cannot say which models
    they are (a plain list) get None: the policy then looks at every one.
    """

    __slots__ = ("_kept", "_work_out")

    #: Sets of candidates remembered per pool: its usual set and those of failovers.
    KEPT = 4

    def __init__(self, work_out: Callable[[Sequence[ModelSnapshot]], T]) -> None:
        self._work_out = work_out
        self._kept: dict[str | None, list[tuple[Sequence[str], T]]] = {}

    def of(self, candidates: Sequence[ModelSnapshot]) -> T | None:
        """What ``work_out`` answers for these candidates, from memory when they are known."""
        ids: Sequence[str] | None = getattr(candidates, "model_ids", None)
        if ids is None or not candidates:
            return None
        kept = self._kept.setdefault(pool_of(candidates), [])
        for index, (known, answer) in enumerate(kept):
            if known is ids or known == ids:
                if index:  # the most recent first: the usual set is found at once
                    kept.insert(0, kept.pop(index))
                return answer
        answer = self._work_out(candidates)
        kept.insert(0, (ids, answer))
        del kept[self.KEPT :]
        return answer


def by_preference(candidates: Sequence[ModelSnapshot], key: Callable[[ModelSnapshot], Any]) -> list[int]:
    """Positions ordered by ``key``, then by position: ``most_preferred``'s order."""
    return sorted(range(len(candidates)), key=lambda i: (key(candidates[i]), i))


def first_active_in(candidates: Sequence[ModelSnapshot], positions: Sequence[int]) -> ModelSnapshot | None:
    """The first active candidate in the order of ``positions``."""
    for index in positions:
        candidate = candidates[index]
        if candidate.status is ACTIVE:
            return candidate
    return None
