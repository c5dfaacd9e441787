"""What the storage tests write: keys of every shape, values, prefixes, and keys close to a key."""

from __future__ import annotations

from hypothesis import strategies as st

from ...interfaces.storage import MAX_KEY_LENGTH

__all__ = ["EVERY_SHAPE", "REWRITES", "SIBLINGS", "keys", "long_keys", "prefixes", "sibling", "values"]

_NAMED_KEYS = ["a", "ab", "a/b", "a/b/c", "b", "state/pools/chat", "ünï/ключ", "with space", "..", "x" * 300]
_TEXT = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
#: Long keys that share all but their last few characters, so a backend that cuts or
#: hashes keys carelessly (a file-name limit, say) makes two of them collide.
long_keys = st.builds(
    lambda stem, length, tail: (stem * MAX_KEY_LENGTH)[: length - len(tail)] + tail,
    st.sampled_from(["x", "Ab/", "ключ-", "ü%2F", "🔑"]),
    st.integers(200, MAX_KEY_LENGTH),
    st.text(st.sampled_from("aAzZ09/ü"), min_size=1, max_size=3),
)
#: Any valid key: non-empty, at most 512 characters, no NUL.
keys = st.sampled_from(_NAMED_KEYS) | st.text(_TEXT, min_size=1, max_size=40) | long_keys
prefixes = st.sampled_from(["", "a", "a/", "a/b", "b", "state/", "ü", "x", "."])
values = st.binary(max_size=300)

#: Keys of every shape and length the contract allows, each saved and read back.
EVERY_SHAPE = [
    *["a", "A", "aA", "Aa", "a/b", "a/b/c", "a/", "a//b", "/a", ".", "..", ".hidden", "a.b", "-", "_"],
    *["with space", " leading", "trailing ", "tab\tkey", "new\nline", "%41", "%", "%%", "~", "~tilde"],
    *["*", "a*b", "a?b", "[a]", "a\\b", ":", "ns:data:x", "CON", "nul", "ünï/ключ", "日本語", "emoji-🔑"],
    *["é", "e\u0301"],  # the same letter composed and decomposed: two keys, not one
    *("x" * n for n in (100, 200, 239, 240, 241, 254, 255, 256, 300, 511, MAX_KEY_LENGTH)),
    "x" * (MAX_KEY_LENGTH - 1) + "y",
    "é" * 240,
    "🔑" * MAX_KEY_LENGTH,
    "🔑" * (MAX_KEY_LENGTH - 1) + "x",
    "A" * MAX_KEY_LENGTH,
]
#: What each of those keys holds in turn: longer, shorter, empty, back again.
REWRITES = [b"first", b"a second value, much longer than the first " * 8, b"", b"3rd"]

#: The ways :func:`sibling` derives a key from another.
SIBLINGS = ["child", "parent", "case", "last", "longer"]


def sibling(key: str, how: str) -> str:
    """A key close to ``key``: where a careless backend confuses the two."""
    if how == "child":
        near = key + "/child"
    elif how == "parent":
        near = key.rsplit("/", 1)[0] if "/" in key.strip("/") else key[:-1]
    elif how == "case":
        near = key.swapcase()
    elif how == "last":
        near = key[:-1] + ("y" if key[-1] != "y" else "z")
    else:  # "longer"
        near = (key * (MAX_KEY_LENGTH // len(key) + 1))[:MAX_KEY_LENGTH]
    near = near[:MAX_KEY_LENGTH]
    if near and near != key:
        return near
    return key[:-1] + ("~" if key[-1] != "~" else "-") if len(key) >= MAX_KEY_LENGTH else key + "~"
