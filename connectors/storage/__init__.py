"""Built-in storage backends."""

from .file import FileStorage
from .memory import MemoryStorage
from .redis import RedisStorage
from .sqlite import SqliteStorage

CONNECTORS = [MemoryStorage, FileStorage, SqliteStorage, RedisStorage]
