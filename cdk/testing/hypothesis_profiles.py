"""Hypothesis settings for the conformance suite: quick and reproducible by default.

``MESHKIT_CONFORMANCE_PROFILE=thorough`` runs many more, freshly random examples
(a nightly CI job); ``smoke`` is ``quick`` without shrinking, for runs that only need
pass or fail. The default keeps a suite run to seconds and repeatable.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

__all__ = ["PROFILES", "suite_settings"]

_COMMON = {
    "deadline": None,
    "database": None,  # a conformance run must not leave .hypothesis/ in the user's folder
    # Each connector gets a fresh suite instance (a new "executor"); the suite keeps no
    # state across examples, so that health check does not apply.
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.differing_executors,
    ],
}

PROFILES = {
    "quick": settings(max_examples=30, derandomize=True, **_COMMON),  # type: ignore[arg-type]
    "thorough": settings(max_examples=300, derandomize=False, **_COMMON),  # type: ignore[arg-type]
    "smoke": settings(
        max_examples=30,
        derandomize=True,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        **_COMMON,  # type: ignore[arg-type]
    ),
}


def suite_settings(*, scale: float = 1.0) -> settings:
    """The settings of the selected profile; ``scale`` shrinks or grows the example count."""
    name = os.environ.get("MESHKIT_CONFORMANCE_PROFILE", "quick").strip() or "quick"
    if name not in PROFILES:
        raise ValueError(
            f"MESHKIT_CONFORMANCE_PROFILE={name!r}: expected one of {', '.join(sorted(PROFILES))}"
        )
    base = PROFILES[name]
    return settings(base, max_examples=max(5, int(base.max_examples * scale)))
