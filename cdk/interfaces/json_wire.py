"""JSON on the wire: a request body as httpx's ``json=`` sends it, an answer as ``json.loads`` reads it.

Both run on every call of an HTTP provider, so each takes the cheapest road to the standard
library's own result. Reading goes through msgspec's decoder when it is installed (the
``meshkit[fast]`` extra), several times quicker than ``json.loads`` on an answer; any body it
refuses (``NaN``, ``1e400``, a lone surrogate, a byte-order mark, another encoding) is read
again by ``json.loads``, so the value or the error is exactly the standard library's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["json_body", "json_bytes"]


def _compact_json() -> Callable[[Any], str]:
    # What httpx's ``json=`` sends: compact, UTF-8, no NaN. ``JSONEncoder.encode`` makes its C
    # encoder anew on every call; this one is made once. No cycle check: a body is a tree, and a
    # cycle still ends in RecursionError.
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator
        return encoder.encode
    chunks = make(None, encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False, False)
    return lambda value: "".join(chunks(value, 0))


_compact = _compact_json()


def json_bytes(value: Any) -> bytes:
    """``value`` as httpx's ``json=`` would send it: compact JSON, UTF-8, no NaN."""
    return _compact(value).encode("utf-8")


def _msgspec_decoder() -> Callable[[bytes], Any] | None:
    try:
        import msgspec
    except ImportError:
        return None
    decode: Callable[[bytes], Any] = msgspec.json.Decoder().decode
    return decode


#: msgspec's decoder, or None without it. It reads exactly what RFC 8259 allows, integers of
#: any size included, into the same values ``json.loads`` gives (a test holds them equal).
_fast: Callable[[bytes], Any] | None = _msgspec_decoder()

#: The C scanner ``json.loads`` ends in, without the Python layers around it.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def json_body(content: bytes) -> Any:
    """``json.loads(content)``: the same value, or the same error, at a fraction of the cost."""
    if _fast is not None:
        try:
            return _fast(content)
        except Exception:  # read again below: the value or the error is json.loads' own
            pass
    elif content[:1] == b"{":
        # Such a body is one ``json.loads`` decodes as UTF-8 too (its encoding sniffing looks
        # for NUL bytes, which no UTF-8 JSON object has second).
        try:
            text = content.decode("utf-8", "surrogatepass")
            value, end = _scan(text, 0)
        except Exception:  # json.loads below raises the error the caller sees
            pass
        else:
            if end == len(text):
                return value
    return json.loads(content)
