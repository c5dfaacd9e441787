"""Recognisable values that show whether what a crashed writer left behind is whole."""

from __future__ import annotations

import hashlib
import struct

MAGIC = b"MKV1"
_HEAD = struct.Struct(">4sIQ")  # magic, key length, sequence number
_DIGEST = 32


def make_value(key: str, seq: int, size: int) -> bytes:
    """A value for ``key`` numbered ``seq``: a header, ``size`` pattern bytes, a SHA-256 trailer."""
    raw_key = key.encode()
    head = _HEAD.pack(MAGIC, len(raw_key), seq) + raw_key + struct.pack(">Q", size)
    pattern = hashlib.sha256(b"%d" % seq).digest()
    body = (pattern * (size // len(pattern) + 1))[:size]
    return head + body + hashlib.sha256(head + body).digest()


def read_value(key: str, data: bytes) -> int:
    """The sequence number of an intact value written for ``key``; ValueError if it is torn or foreign."""
    if len(data) < _HEAD.size + _DIGEST:
        raise ValueError(f"{key}: {len(data)} bytes is shorter than any whole value")
    magic, key_length, seq = _HEAD.unpack_from(data)
    raw_key = data[_HEAD.size : _HEAD.size + key_length]
    if magic != MAGIC or raw_key != key.encode():
        raise ValueError(f"{key}: the header is not this key's")
    (size,) = struct.unpack_from(">Q", data, _HEAD.size + key_length)
    head_end = _HEAD.size + key_length + 8
    if len(data) != head_end + size + _DIGEST:
        raise ValueError(f"{key}: {len(data)} bytes, expected {head_end + size + _DIGEST} (torn)")
    if hashlib.sha256(data[:-_DIGEST]).digest() != data[-_DIGEST:]:
        raise ValueError(f"{key}: checksum mismatch (torn or mixed)")
    pattern = hashlib.sha256(b"%d" % seq).digest()
    if data[head_end : head_end + size] != (pattern * (size // len(pattern) + 1))[:size]:
        raise ValueError(f"{key}: body is not value #{seq}'s")
    return int(seq)
