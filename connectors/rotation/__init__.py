"""Built-in rotation policies."""

from .stick_until_failure import StickUntilFailure

CONNECTORS = [StickUntilFailure]
