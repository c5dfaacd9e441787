"""``meshkit.session-sticky.v1``: one model per conversation while it stays active."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from meshkit import CompletionRequest, ModelSnapshot, RotationFeature
from meshkit.interfaces import RotationPolicy, ThresholdConfig, check

from ._common import RoundRobinCursor, find_active, pool_of


@attrs.frozen(kw_only=True)
class SessionStickyConfig(ThresholdConfig):
    """``max_sessions`` remembered (least recently used forgotten first); a session idle
    for ``session_ttl`` is forgotten (null: only by the size bound)."""

    max_sessions: int = attrs.field(default=10_000, validator=check(lambda v: v >= 1, "at least 1"))
    session_ttl: timedelta | None = timedelta(hours=1)


@attrs.define
class _Binding:
    model_id: str
    index: int
    last_seen: datetime


class SessionSticky(RotationPolicy[SessionStickyConfig]):
    """Sends every request of a ``session_id`` to the same model while it stays active.

    New sessions, and requests without a session, are spread round-robin. When a
    session's model goes to standby, the session moves to the next model in turn and
    stays there; a request whose call fails is served by the next model in turn without
    moving its session. The session map is bounded (LRU) and entries idle past ``session_ttl``
    expire; a lookup is O(1) while the pool is stable.
    """

    connector_id = "meshkit.session-sticky.v1"
    reads = frozenset({"model_id", "pool_id", "status"})
    Config = SessionStickyConfig
    features = frozenset({RotationFeature.SESSION_AFFINITY})
    description = "Same model for a session while it stays active; bounded LRU session map"

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._sessions: OrderedDict[tuple[str | None, str], _Binding] = OrderedDict()
        self._cursors: dict[str | None, RoundRobinCursor] = {}

    @property
    def session_count(self) -> int:
        """How many sessions are remembered."""
        return len(self._sessions)

    def model_for(self, session_id: str, pool_id: str | None = None) -> str | None:
        """The model a session is bound to in a pool, if any (does not refresh it)."""
        binding = self._sessions.get((pool_id, session_id))
        return binding.model_id if binding is not None else None

    def select(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        pool = pool_of(candidates)
        session = request.session_id
        if session is None:
            return self._next_in_turn(pool, candidates)
        self._expire(now)
        key = (pool, session)
        binding = self._sessions.get(key)
        if binding is not None:
            found = find_active(candidates, binding.model_id, binding.index)
            if found is not None:
                binding.index, chosen = found
                binding.last_seen = now
                self._sessions.move_to_end(key)
                return chosen
        chosen_next = self._next_in_turn(pool, candidates)
        if chosen_next is None:
            return None
        if binding is None:
            binding = self._sessions[key] = _Binding(chosen_next.model_id, 0, now)
            if len(self._sessions) > self.config.max_sessions:
                self._sessions.popitem(last=False)
        binding.model_id = chosen_next.model_id
        binding.index = self._cursors[pool].last_index
        binding.last_seen = now
        self._sessions.move_to_end(key)
        return chosen_next

    def fallback(
        self, candidates: Sequence[ModelSnapshot], request: CompletionRequest, now: datetime
    ) -> ModelSnapshot | None:
        # The next model in turn serves this request; the session keeps its model until
        # that model is set aside.
        return self._next_in_turn(pool_of(candidates), candidates)

    def _next_in_turn(self, pool: str | None, candidates: Sequence[ModelSnapshot]) -> ModelSnapshot | None:
        cursor = self._cursors.get(pool)
        if cursor is None:
            cursor = self._cursors[pool] = RoundRobinCursor()
        return cursor.next(candidates)

    def _expire(self, now: datetime) -> None:
        # The map is in least-recently-used order, so expired sessions sit at the front;
        # each is dropped once, which keeps this O(1) amortised.
        ttl = self.config.session_ttl
        if ttl is None:
            return
        while self._sessions:
            key, binding = next(iter(self._sessions.items()))
            if now - binding.last_seen < ttl:
                break
            del self._sessions[key]
