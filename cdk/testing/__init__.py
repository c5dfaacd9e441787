"""Tools for testing meshkit connectors: the conformance suite, fakes and fixtures."""

from ..runtime.clock import FakeClock

__all__ = ["FakeClock"]
