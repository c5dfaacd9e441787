"""Smooth weighted round-robin (nginx's): one turn over a pool's models, in C-level passes."""

from __future__ import annotations

from functools import reduce
from operator import add

__all__ = ["SmoothTurns"]


class SmoothTurns:
    """One pool's running values, and the turn that moves them on.

    Each turn adds every model's weight to its running value, serves the first with the most
    and takes the total of the weights off it. The values of the models last served in turn
    are kept as a list in their order, so a turn over the same models is a few passes in C (a
    map, max, index) rather than a dictionary lookup per model; a model that leaves keeps its
    value and resumes with it when it returns, until more than twice the pool (and 16) are
    remembered.
    """

    __slots__ = ("_ids", "_others", "_total", "_values", "_weights")

    def __init__(self) -> None:
        self._ids: list[str] | None = None
        self._values: list[float] = []
        self._others: dict[str, float] = {}  # the rest: models not among the last turn's
        # The last list of weights and its total: a policy hands over the same list, unchanged,
        # for as long as the pool's configured weights hold.
        self._weights: list[float] | None = None
        self._total = 0.0

    def turn(self, model_ids: list[str], weights: list[float]) -> int:
        """The position in ``model_ids`` served this turn, by ``weights``.

        ``model_ids`` are distinct, and neither list is changed afterwards: they are kept, and
        the next turn over the same lists skips comparing the ids and adding up the weights.
        """
        values = self._values if model_ids is self._ids or model_ids == self._ids else self._align(model_ids)
        if weights is self._weights:
            total = self._total
        else:
            total = reduce(add, weights, 0.0)  # left to right, as a loop adds (sum() may not)
            self._weights, self._total = weights, total
        if total <= 0:  # nobody has a claim: share equally rather than starve the pool
            weights = [1.0] * len(weights)
            total = float(len(weights))
        values[:] = map(add, values, weights)
        best = max(values)
        chosen = values.index(best)  # the first with the most
        values[chosen] = best - total
        return chosen

    def values(self) -> dict[str, float]:
        """Every remembered model's running value."""
        if self._ids is None:
            return dict(self._others)
        return {**self._others, **dict(zip(self._ids, self._values, strict=True))}

    def _align(self, model_ids: list[str]) -> list[float]:
        others = self._others
        if self._ids is not None:
            others.update(zip(self._ids, self._values, strict=True))
        remembered = len(others) + sum(1 for m in model_ids if m not in others)
        if remembered > 2 * len(model_ids) + 16:  # models long gone would be remembered forever
            present = set(model_ids)
            others = self._others = {k: v for k, v in others.items() if k in present}
        get = others.get
        self._ids = model_ids
        self._values = [get(model_id, 0.0) for model_id in model_ids]
        return self._values
