"""What a storage backend reports about a key, and a held lock."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

__all__ = ["EntryMetadata", "Lock"]


@attrs.frozen(kw_only=True)
class EntryMetadata:
    """What a storage backend knows about one key."""

    key: str
    size: int
    modified_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Lock:
    """A held lock; ``token`` proves ownership when it is released."""

    key: str
    token: str
    expires_at: datetime | None = None
    ttl: timedelta | None = None
