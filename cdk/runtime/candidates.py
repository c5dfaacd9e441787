"""``Candidates``: the active models a policy chooses from, each snapshot made when first read."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import overload

from ..types import ModelSnapshot

__all__ = ["Candidates"]


class Candidates(Sequence[ModelSnapshot]):
    """A read-only sequence of snapshots, built on first access and then kept.

    A policy that looks at the model it remembers reads one snapshot, not the whole pool's:
    what a selection costs then does not grow with the pool. Iterating, ``len`` and slicing
    behave as on a list.
    """

    __slots__ = ("_all_active", "_ids", "_made", "_make", "_pool_id")

    def __init__(
        self,
        model_ids: Sequence[str],
        make: Callable[[str], ModelSnapshot],
        *,
        all_active: bool = False,
        pool_id: str | None = None,
    ) -> None:
        self._ids = model_ids
        self._make = make
        self._made: list[ModelSnapshot | None] = [None] * len(model_ids)
        self._all_active = all_active
        self._pool_id = pool_id

    @property
    def pool_id(self) -> str | None:
        """The pool every candidate's snapshot names (``pool_id``), read without making one."""
        return self._pool_id

    @property
    def all_active(self) -> bool:
        """True when every candidate's status is ``ACTIVE``: a pool hands over only its usable members."""
        return self._all_active

    @property
    def model_ids(self) -> Sequence[str]:
        """The candidates' model ids, in order, read without making a snapshot.

        The same object for as long as the pool's active members stay the same, so a policy
        can keep what it works out from what is fixed for a model (its priority, pricing,
        weight, limits) until they change.
        """
        return self._ids

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> ModelSnapshot: ...

    @overload
    def __getitem__(self, index: slice) -> list[ModelSnapshot]: ...

    def __getitem__(self, index: int | slice) -> ModelSnapshot | list[ModelSnapshot]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._ids)))]
        found = self._made[index]
        if found is None:
            found = self._made[index] = self._make(self._ids[index])
        return found

    def __iter__(self) -> Iterator[ModelSnapshot]:
        made, make = self._made, self._make
        for i, model_id in enumerate(self._ids):
            found = made[i]
            if found is None:
                found = made[i] = make(model_id)
            yield found

    def __repr__(self) -> str:
        return f"Candidates({list(self._ids)!r})"
