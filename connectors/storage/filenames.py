"""Storage keys ⇄ file names that are safe on any file system, and back again.

A key is written with lowercase letters, digits, ``-``, ``_`` and ``.`` kept as they are
and every other character (uppercase too, so that case-insensitive file systems cannot
merge two keys) as ``%xx`` per UTF-8 byte; a leading ``.`` is escaped, so a key never
becomes a hidden or special name and names starting with ``.`` stay free for internal
files. A key whose name would pass :data:`MAX_NAME_LENGTH` is stored under ``~`` and the
SHA-256 of the key, and the file then starts with a header holding the key itself.
"""

from __future__ import annotations

import hashlib
import re

__all__ = [
    "MAX_NAME_LENGTH",
    "decode_name",
    "encode_key",
    "key_bytes",
    "long_key_header",
    "split_long_key_file",
]

#: File systems allow 255 bytes per name; this leaves room for the other parts of a path.
MAX_NAME_LENGTH = 240

_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")
_ESCAPE = re.compile(r"%([0-9a-f]{2})")
LONG_PREFIX = "~"


def key_bytes(key: str) -> bytes:
    """The key as bytes; lone surrogates are valid keys, so they are kept rather than refused."""
    return key.encode("utf-8", "surrogatepass")


def encode_key(key: str) -> str:
    """The file name for ``key``: reversible, or ``~<sha256>`` when it would be too long."""
    parts: list[str] = []
    for index, char in enumerate(key):
        if char in _SAFE and not (index == 0 and char == "."):
            parts.append(char)
        else:
            parts.extend(f"%{byte:02x}" for byte in key_bytes(char))
    name = "".join(parts)
    if len(name) > MAX_NAME_LENGTH:
        return LONG_PREFIX + hashlib.sha256(key_bytes(key)).hexdigest()
    return name


def decode_name(name: str) -> str | None:
    """The key a short file name stands for, or None when the name is not one we write."""
    if not name or name.startswith((".", LONG_PREFIX)):
        return None
    try:
        raw = bytearray()
        last = 0
        for match in _ESCAPE.finditer(name):
            raw += name[last : match.start()].encode("ascii")
            raw.append(int(match.group(1), 16))
            last = match.end()
        raw += name[last:].encode("ascii")
        key = raw.decode("utf-8", "surrogatepass")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    # Only the canonical spelling counts, so a stray file cannot alias a real key.
    return key if key and encode_key(key) == name else None


def long_key_header(key: str) -> bytes:
    """The header a ``~`` file starts with: the key's byte length, a newline, the key."""
    raw = key_bytes(key)
    return b"%d\n" % len(raw) + raw


def split_long_key_file(content: bytes) -> tuple[str, int] | None:
    """``(key, header length)`` of a ``~`` file's content, or None when the header is broken."""
    newline = content.find(b"\n", 0, 8)
    if newline <= 0 or not content[:newline].isdigit():
        return None
    size = int(content[:newline])
    end = newline + 1 + size
    if end > len(content):
        return None
    try:
        return content[newline + 1 : end].decode("utf-8", "surrogatepass"), end
    except UnicodeDecodeError:
        return None
