"""What a metrics sink exposes, as the suite reads it back: named, labelled samples."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

__all__ = ["MetricSample", "Metrics"]


@attrs.frozen
class MetricSample:
    """One sample: ``name{labels} value``, as a scraper sees it."""

    name: str
    labels: Mapping[str, str]
    value: float


@attrs.frozen(kw_only=True)
class Metrics:
    """Every sample a sink exposes at one moment, and the exposition as text (searched for secrets)."""

    samples: Sequence[MetricSample] = ()
    raw: str = ""

    @classmethod
    def of(cls, samples: Iterable[tuple[str, Mapping[str, str], float]], raw: str = "") -> Metrics:
        """Build from ``(name, labels, value)`` triples."""
        return cls(
            samples=tuple(MetricSample(n, dict(labels), float(v)) for n, labels, v in samples), raw=raw
        )

    def labelled(self, *values: str) -> list[MetricSample]:
        """The samples whose label values include every one of ``values``."""
        wanted = set(values)
        return [s for s in self.samples if wanted <= set(s.labels.values())]

    def values(self, *labels: str) -> set[float]:
        """The values of the samples labelled with every one of ``labels``."""
        return {s.value for s in self.labelled(*labels)}

    def text(self) -> str:
        """Everything exposed, as one string."""
        return self.raw + repr([(s.name, dict(s.labels), s.value) for s in self.samples])
