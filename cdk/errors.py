"""meshkit's exceptions.

MeshkitError
├── ConfigError                      bad configuration, reported by path
├── ConnectorError
│   ├── ConnectorNotFoundError       no connector answers to a name
│   ├── AmbiguousConnectorError      several connectors answer to a name
│   ├── PluginLoadError              a plugin failed to load (strict mode)
│   └── FeatureNotSupportedError     a call needs a feature the connector lacks
├── SecretError
│   └── SecretNotFoundError          the store has no such secret
├── StorageError
│   ├── StorageCorruptError          stored bytes cannot be decoded
│   ├── StateFormatError             decoded router state does not have the expected shape
│   ├── LockTimeoutError             a lock was not acquired in time
│   └── LockNotHeldError             a lock was released by someone who does not hold it
├── ProviderError                    an upstream call failed (category, retryable, …)
│   ├── AuthenticationError          401: the credential is refused; the whole provider is set aside
│   ├── ModelAccessError             403, or 404 model not found: this key may not use this model
│   ├── RateLimitError               429: slow down, maybe after ``retry_after`` seconds
│   ├── QuotaExhaustedError          the quota for the period is spent
│   ├── ProviderUnavailableError     5xx or the connection could not be made
│   ├── ProviderTimeoutError         no answer in time
│   ├── ContextWindowExceededError   the prompt is longer than the model takes
│   ├── BadRequestError              the request itself is wrong; no model would accept it
│   └── ProviderProtocolError        the answer was malformed or the stream was cut
├── RoutingError
│   ├── NoModelAvailableError        nothing to route to (empty or all standby)
│   │   ├── UnknownTargetError       the request names no pool, model or capability
│   │   └── NoCapableModelError      no model of the target has what the request needs
│   └── AllModelsExhaustedError      the models tried failed; ``attempts``, ``not_tried``
├── DeadlineExceeded                 a call outlasted its request's deadline (the router's own signal)
└── ScaffoldError                    `meshkit new` cannot generate the package
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import attrs

from .enums import ErrorCategory

__all__ = [
    "AllModelsExhaustedError",
    "AmbiguousConnectorError",
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ConnectorError",
    "ConnectorNotFoundError",
    "ContextWindowExceededError",
    "DeadlineExceeded",
    "FeatureNotSupportedError",
    "LockNotHeldError",
    "LockTimeoutError",
    "MeshkitError",
    "ModelAccessError",
    "NoCapableModelError",
    "NoModelAvailableError",
    "NotTried",
    "PluginLoadError",
    "ProviderError",
    "ProviderProtocolError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "QuotaExhaustedError",
    "RateLimitError",
    "RoutingError",
    "ScaffoldError",
    "SecretError",
    "SecretNotFoundError",
    "StateFormatError",
    "StorageCorruptError",
    "StorageError",
    "UnknownTargetError",
]


class MeshkitError(Exception):
    """Base class of every error meshkit raises on purpose."""


class ConfigError(MeshkitError, ValueError):
    """The configuration is wrong; ``problems`` holds one ``path: message`` line each."""

    def __init__(self, problems: str | Sequence[str], *, source: str | None = None) -> None:
        self.problems: list[str] = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        head = f"invalid configuration in {source}" if source else "invalid configuration"
        if len(self.problems) == 1:
            message = f"{head}: {self.problems[0]}"
        else:
            message = head + ":\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)


class ConnectorError(MeshkitError):
    """Something is wrong with a connector or its plugin."""


class ConnectorNotFoundError(ConnectorError, LookupError):
    """No connector answers to the name asked for."""

    def __init__(self, name: str, *, kind: str | None = None, matches: Sequence[str] = ()) -> None:
        self.name = name
        self.matches = list(matches)
        what = f"{kind} connector" if kind else "connector"
        message = f"no {what} named {name!r}"
        if self.matches:
            message += "; did you mean " + ", ".join(repr(m) for m in self.matches) + "?"
        else:
            message += "; run `meshkit connectors` to see what is installed"
        super().__init__(message)


class AmbiguousConnectorError(ConnectorError, LookupError):
    """Several connectors answer to the name asked for."""

    def __init__(self, name: str, *, matches: Sequence[str]) -> None:
        self.name = name
        self.matches = list(matches)
        super().__init__(f"{name!r} names several connectors: {', '.join(self.matches)}; use the full id")


class PluginLoadError(ConnectorError):
    """A plugin failed to load and strict plugin loading is on."""


class FeatureNotSupportedError(ConnectorError, NotImplementedError):
    """The call needs a feature the connector does not declare."""


class SecretError(MeshkitError):
    """A secret could not be resolved."""


class SecretNotFoundError(SecretError, KeyError):
    """The secret store has no secret of that name."""

    def __init__(self, name: str, *, store: str | None = None) -> None:
        self.name = name
        where = f" in {store}" if store else ""
        super().__init__(f"secret {name!r} not found{where}")

    def __str__(self) -> str:  # KeyError would quote the whole message again
        return str(self.args[0])


class StorageError(MeshkitError):
    """A storage backend failed."""


class StorageCorruptError(StorageError):
    """Stored bytes exist but cannot be decoded."""


class StateFormatError(StorageError, ValueError):
    """Decoded state does not have the expected shape."""


class LockTimeoutError(StorageError, TimeoutError):
    """A lock could not be acquired before the timeout."""


class LockNotHeldError(StorageError):
    """A lock was released by a caller that does not hold it (or it expired)."""


class ProviderError(MeshkitError):
    """An upstream call failed; the router reads ``category`` and ``retryable``."""

    category: ClassVar[ErrorCategory] = ErrorCategory.UNKNOWN
    default_retryable: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
        provider_id: str | None = None,
        model_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after
        self.retryable = self.default_retryable if retryable is None else retryable
        self.provider_id = provider_id
        self.model_id = model_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status_code={self.status_code!r}, "
            f"retry_after={self.retry_after!r}, retryable={self.retryable!r})"
        )


class AuthenticationError(ProviderError):
    """401: the credentials are refused; every model of the provider is set aside."""

    category = ErrorCategory.AUTHENTICATION
    default_retryable = False


class ModelAccessError(ProviderError):
    """403, or 404 model not found: the key may not use this model; the provider's others still serve."""

    category = ErrorCategory.MODEL_ACCESS
    default_retryable = False


class RateLimitError(ProviderError):
    """429: too many requests; ``retry_after`` says when to come back, if known."""

    category = ErrorCategory.RATE_LIMIT


class QuotaExhaustedError(ProviderError):
    """The provider's quota for the period is spent; other models may still serve."""

    category = ErrorCategory.QUOTA_EXHAUSTED


class ProviderUnavailableError(ProviderError):
    """5xx, or the connection could not be made or was reset."""

    category = ErrorCategory.UNAVAILABLE


class ProviderTimeoutError(ProviderError):
    """The provider did not answer in time."""

    category = ErrorCategory.TIMEOUT


class ContextWindowExceededError(ProviderError):
    """The prompt does not fit the model's context window; a larger model may take it."""

    category = ErrorCategory.CONTEXT_WINDOW
    default_retryable = False


class BadRequestError(ProviderError):
    """The request is malformed; retrying it anywhere would fail the same way."""

    category = ErrorCategory.BAD_REQUEST
    default_retryable = False


class ProviderProtocolError(ProviderError):
    """The provider answered with something that is not its protocol, or cut a stream."""

    category = ErrorCategory.PROTOCOL


class RoutingError(MeshkitError):
    """The router could not serve a request."""


class NoModelAvailableError(RoutingError):
    """There is no active model to route the request to."""


class UnknownTargetError(NoModelAvailableError, LookupError):
    """A request named something that is neither a pool, a model nor a capability."""


@attrs.frozen
class Attempt:
    """One try of a routed request, or a model passed over because it lacks what the request needs."""

    model_id: str
    provider_id: str
    error: BaseException
    latency_ms: float
    #: Why the model was passed over without a call (``lacks tools``); None for a call.
    skipped: str | None = None

    def describe(self) -> str:
        """``model (provider): ErrorType: message [123 ms]``, or ``model (provider): skipped, why``."""
        if self.skipped is not None:
            return f"{self.model_id} ({self.provider_id}): skipped, {self.skipped}"
        return (
            f"{self.model_id} ({self.provider_id}): {type(self.error).__name__}: "
            f"{self.error} [{self.latency_ms:.0f} ms]"
        )


@attrs.frozen
class NotTried:
    """A model of the target that the router did not call, and why."""

    model_id: str
    reason: str

    def describe(self) -> str:
        """``model (why)``."""
        return f"{self.model_id} ({self.reason})"


class AllModelsExhaustedError(RoutingError):
    """The models tried all failed; ``attempts`` holds each try in order, ``not_tried`` the rest."""

    # The message says "every model failed" only when every model of the target was tried;
    # otherwise it names the models that were not, and why (attempt cap, deadline, standby,
    # a missing feature).

    def __init__(self, target: str, attempts: Sequence[Attempt], not_tried: Sequence[NotTried] = ()) -> None:
        self.target = target
        self.attempts = list(attempts)
        self.not_tried = list(not_tried)
        calls = [a for a in self.attempts if a.skipped is None]
        lines = "\n".join(f"  {i}. {a.describe()}" for i, a in enumerate(self.attempts, 1))
        tried = f"{len(calls)} attempt" if len(calls) == 1 else f"{len(calls)} attempts"
        if not self.not_tried:
            head = f"every model for {target!r} failed ({tried})"
        else:
            failed = len(dict.fromkeys(a.model_id for a in calls))
            rest = "; ".join(n.describe() for n in self.not_tried)
            models = "1 model" if failed == 1 else f"{failed} models"
            head = f"{models} for {target!r} failed ({tried}); not tried: {rest}"
        super().__init__(f"{head}:\n{lines}")


class NoCapableModelError(NoModelAvailableError):
    """No model of the target has every feature the request needs; nothing was called."""

    # ``missing`` names the features (and operations) some model lacked, ``skipped`` each
    # model with what it lacks.

    def __init__(self, target: str, needs: str, skipped: Sequence[NotTried], missing: Sequence[str]) -> None:
        self.target = target
        self.needs = needs
        self.skipped = list(skipped)
        self.missing = tuple(sorted(set(missing)))
        models = "; ".join(n.describe() for n in self.skipped) or "the target has no models"
        super().__init__(
            f"no model for {target!r} can serve a {needs} request (missing: {', '.join(self.missing)}): "
            f"{models}; add a model that has them, or drop what the request asks for"
        )


class DeadlineExceeded(MeshkitError, TimeoutError):
    """The call did not finish before the deadline."""


class ScaffoldError(MeshkitError):
    """The package cannot be generated: bad answers, an existing folder, a missing library."""

    def __init__(self, message: str, *, exit_status: int = 2) -> None:
        super().__init__(message)
        #: What ``meshkit new`` exits with: 2 for bad input, 1 when rendering itself failed.
        self.exit_status = exit_status
