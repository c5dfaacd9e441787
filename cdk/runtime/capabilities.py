"""The capability tree: what a model can do, as dotted paths (``generation.text-generation.chat-completion``).

Models register at leaves; a pool targets any node and holds every model below it. A
node is named by its full path or, when no other node shares it, by its last segment.

Every standard leaf is served by one provider operation: the embeddings branch by
``embed()``, every other leaf (and every node a user adds outside that branch) by the chat
operation (``complete()`` / ``stream()``). A leaf no operation can serve is not listed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from enum import StrEnum

__all__ = ["EMBEDDINGS_NODE", "STANDARD_CAPABILITIES", "CapabilityTree", "Operation", "operation_of"]

#: The standard taxonomy (leaves only; inner nodes follow from the paths). Each leaf is
#: callable: chat-shaped leaves through ``complete()``/``stream()``, embeddings through
#: ``embed()``. Image generation and editing, speech, transcription, moderation and legacy
#: text completion are not listed: they would need operations of their own (docs/configuration.md).
STANDARD_CAPABILITIES: tuple[str, ...] = (
    "generation.text-generation.chat-completion",
    "generation.text-generation.code-generation",
    "understanding.embeddings.text-embeddings",
    "understanding.vision.image-understanding",
)

#: Every model at or below this node is served by ``embed()``.
EMBEDDINGS_NODE = "understanding.embeddings"


class Operation(StrEnum):
    """The provider operation a capability is served by."""

    CHAT = "chat"
    EMBEDDINGS = "embeddings"


def operation_of(capability: str) -> Operation:
    """The operation that serves ``capability`` (a full path)."""
    if capability == EMBEDDINGS_NODE or capability.startswith(EMBEDDINGS_NODE + "."):
        return Operation.EMBEDDINGS
    return Operation.CHAT


_SEGMENT = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class CapabilityTree:
    """A set of dotted capability paths with prefix queries and short-name lookup."""

    def __init__(self, extra: Iterable[str] = (), *, standard: bool = True) -> None:
        self._nodes: set[str] = set()
        for path in (*(STANDARD_CAPABILITIES if standard else ()), *extra):
            self.add(path)

    @staticmethod
    def check_path(path: str) -> str | None:
        """None when ``path`` is well formed, else what is wrong with it."""
        if not isinstance(path, str) or not path:
            return "expected a dotted capability path such as 'generation.text-generation.summarization'"
        bad = [s for s in path.split(".") if not _SEGMENT.match(s)]
        if bad:
            return f"bad segment {bad[0]!r}: use lowercase letters, digits and inner hyphens"
        return None

    def add(self, path: str) -> None:
        """Add ``path`` and every node above it."""
        problem = self.check_path(path)
        if problem:
            raise ValueError(f"invalid capability {path!r}: {problem}")
        parts = path.split(".")
        for i in range(1, len(parts) + 1):
            self._nodes.add(".".join(parts[:i]))

    def __contains__(self, path: object) -> bool:
        return path in self._nodes

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._nodes))

    def is_leaf(self, path: str) -> bool:
        """True when no node lies below ``path``."""
        prefix = path + "."
        return path in self._nodes and not any(n.startswith(prefix) for n in self._nodes)

    def leaves(self) -> list[str]:
        """Every leaf, sorted."""
        return [n for n in self if self.is_leaf(n)]

    def covers(self, node: str, leaf: str) -> bool:
        """True when ``leaf`` is ``node`` or lies below it."""
        return leaf == node or leaf.startswith(node + ".")

    def resolve(self, name: str) -> str | None:
        """The full path named by ``name`` (a full path or a unique last segment), or None.

        Raises ValueError when a short name matches several nodes.
        """
        if name in self._nodes:
            return name
        matches = sorted(n for n in self._nodes if n.rsplit(".", 1)[-1] == name)
        if len(matches) > 1:
            raise ValueError(f"capability {name!r} is ambiguous: {', '.join(matches)}; use the full path")
        return matches[0] if matches else None

    def suggest(self, name: str) -> list[str]:
        """Close matches among full paths and last segments."""
        names = set(self._nodes) | {n.rsplit(".", 1)[-1] for n in self._nodes}
        return difflib.get_close_matches(name, sorted(names), n=3, cutoff=0.6)
