"""The vocabulary a state class declares its persisted fields in, and the codec derived from it.

A field is persisted when its ``metadata`` comes from :func:`persisted`, which names how it
merges between processes (:class:`Merge`). :class:`Codec` turns such classes into plain data
(what storage holds) and back, with one reading of every value type.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any, get_args

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from ..errors import StateFormatError

__all__ = [
    "LOCAL_COUNTER",
    "Codec",
    "Merge",
    "Persisted",
    "counter_fields",
    "parse_time",
    "persisted",
    "persisted_fields",
]


class Merge(Enum):
    """How one persisted field of a stored record meets this process's copy of it."""

    #: Follows the newer status change (``changed_at`` / ``changed_by``).
    STATUS = "status"
    #: What each process counted adds up (a number, or a mapping of counts by key).
    SUM = "sum"
    #: Follows the later of the two timestamps named by ``by``.
    LATEST = "latest"
    #: Counted within the UTC period named by ``by`` (the field holding the period's key).
    PERIOD = "period"
    #: This process's value stands (it comes from the configuration).
    OURS = "ours"
    #: A nested record, merged by its own fields' rules.
    NESTED = "nested"


@attrs.frozen
class Persisted:
    """The declaration of one persisted field."""

    merge: Merge
    by: str | None = None  # LATEST: the deciding timestamp; PERIOD: the period's key field
    snapshot: str | None = None  # the ModelSnapshot field this one fills, as it is
    counter: bool = False  # listed among the status report's counters


_SCHEMA = "meshkit.state"


def persisted(
    merge: Merge, *, by: str | None = None, snapshot: str | None = None, counter: bool = False
) -> dict[str, Any]:
    """The ``metadata`` of a persisted field: ``attrs.field(default=0, metadata=persisted(Merge.SUM))``."""
    return {_SCHEMA: Persisted(merge, by=by, snapshot=snapshot, counter=counter)}


#: The ``metadata`` of a field this process keeps for itself but reports among the counters.
LOCAL_COUNTER: dict[str, Any] = {"counter": True}


def persisted_fields(cls: type) -> tuple[tuple[str, Persisted], ...]:
    """The persisted fields of a state class with their declarations, in declaration order."""
    return tuple(
        (f.name, spec) for f in attrs.fields(cls) if isinstance(spec := f.metadata.get(_SCHEMA), Persisted)
    )


def counter_fields(cls: type) -> tuple[str, ...]:
    """The fields the status report lists among a model's counters, in declaration order."""
    out = []
    for f in attrs.fields(cls):
        spec = f.metadata.get(_SCHEMA)
        if (isinstance(spec, Persisted) and spec.counter) or f.metadata.get("counter"):
            out.append(f.name)
    return tuple(out)


def parse_time(value: Any) -> datetime:
    """A stored timestamp; one without an offset is read as UTC (the runtime writes UTC offsets)."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _structure_mapping_of_counts(value: Any, _: type) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ValueError("expected a mapping of counts")
    return {str(k): int(v) for k, v in value.items()}


_Decoder = tuple[str, Callable[[Any, Any], Any], Any, bool]


class Codec:
    """Plain data ⇄ objects of the given state classes, field by declared field."""

    def __init__(self, *classes: type) -> None:
        conv = cattrs.Converter()
        conv.register_unstructure_hook(datetime, datetime.isoformat)
        conv.register_unstructure_hook(StrEnum, lambda member: member.value)
        conv.register_structure_hook(datetime, lambda value, _: parse_time(value))
        conv.register_structure_hook(str, lambda value, _: str(value))
        # The str hook would otherwise take the string enums (a StrEnum is a str).
        conv.register_structure_hook(StrEnum, lambda value, cls: cls(value))
        conv.register_structure_hook_func(lambda tp: tp == dict[str, int], _structure_mapping_of_counts)
        self.converter = conv
        self._decoders: dict[type, tuple[_Decoder, ...]] = {}
        for cls in classes:
            attrs.resolve_types(cls)
            kept = {name for name, _ in persisted_fields(cls)}
            omit = {f.name: override(omit=True) for f in attrs.fields(cls) if f.name not in kept}
            conv.register_unstructure_hook(cls, make_dict_unstructure_fn(cls, conv, **omit))  # type: ignore[arg-type]
            self._decoders[cls] = tuple(
                (name, conv.get_structure_hook(tp), tp, type(None) in get_args(tp))
                for name, tp in (
                    (name, attrs.fields_dict(cls)[name].type) for name, _ in persisted_fields(cls)
                )
            )

    def encode(self, obj: Any) -> dict[str, Any]:
        """The persisted fields of ``obj`` as plain data."""
        data: dict[str, Any] = self.converter.unstructure(obj)
        return data

    def restore(self, target: Any, data: Any, label: str, keep: tuple[str, ...] = ()) -> None:
        """Decode ``data`` onto ``target``, all or nothing; fields ``data`` lacks are left as they are.

        Raises StateFormatError (naming ``label``) on a bad shape or value.
        """
        if not isinstance(data, Mapping):
            raise StateFormatError(f"{label}: expected a mapping, got {type(data).__name__}")
        values: dict[str, Any] = {}
        try:
            for name, decode, tp, optional in self._decoders[type(target)]:
                if name in keep or name not in data:
                    continue
                value = data[name]
                if value is None:
                    if not optional:
                        raise ValueError(f"{name} cannot be empty")
                    values[name] = None
                elif tp in self._decoders:  # a nested record
                    values[name] = nested = tp()
                    self.restore(nested, value, name)
                else:
                    values[name] = decode(value, tp)
        except StateFormatError as exc:
            raise StateFormatError(f"{label}: {exc}") from None
        except (TypeError, ValueError, AttributeError, cattrs.BaseValidationError) as exc:
            raise StateFormatError(f"{label}: {exc}") from None
        for name, value in values.items():
            setattr(target, name, value)
