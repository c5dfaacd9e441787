"""The storage contract, one module per part of it (and per optional feature).

- ``dict_model``: a Hypothesis state machine that compares every operation with a plain dict;
- ``key_shapes``: read-after-write for keys of every shape and length (:data:`EVERY_SHAPE`);
- ``operations``: each operation on fixed inputs: prefix listing, overwrite, missing keys,
  exact values, bad input rejected;
- ``concurrency``: atomic saves under concurrent writers and readers;
- ``instances``: ``persistent`` (reopened) and ``shared`` (side by side), and a lock
  between two instances;
- ``locks``: ``locking``: one owner, released by its owner only, timeouts and waiters;
- ``lock_ttl``: ``locking``: a lock lasts its ttl and no longer.

``harness`` builds the backend in the spec's environment and moves the fake clock for
waiting tasks; ``inputs`` holds the keys and values the tests write. A new part adds a
module with a ``…Tests(StorageHarness)`` class and joins :class:`StorageSuite` below.
"""

from __future__ import annotations

from typing import ClassVar

from ...enums import ConnectorType
from .concurrency import ConcurrencyTests
from .dict_model import DictModelTests
from .inputs import EVERY_SHAPE, keys, values
from .instances import InstanceTests
from .key_shapes import KeyShapeTests
from .lock_ttl import LockTtlTests
from .locks import LockTests
from .operations import OperationTests

__all__ = ["EVERY_SHAPE", "StorageSuite", "keys", "values"]


class StorageSuite(
    DictModelTests,
    KeyShapeTests,
    OperationTests,
    ConcurrencyTests,
    InstanceTests,
    LockTests,
    LockTtlTests,
):
    """Every storage backend passes this."""

    connector_type: ClassVar[ConnectorType] = ConnectorType.STORAGE
