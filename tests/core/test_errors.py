"""The error tree, provider error attributes, and HTTP status / Retry-After mapping."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

import meshkit
from meshkit import errors
from meshkit.enums import ErrorCategory
from meshkit.errors import (
    AllModelsExhaustedError,
    AmbiguousConnectorError,
    Attempt,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConnectorError,
    ConnectorNotFoundError,
    ContextWindowExceededError,
    DeadlineExceeded,
    FeatureNotSupportedError,
    LockNotHeldError,
    LockTimeoutError,
    MeshkitError,
    ModelAccessError,
    NoCapableModelError,
    NoModelAvailableError,
    NotTried,
    PluginLoadError,
    ProviderError,
    ProviderProtocolError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    QuotaExhaustedError,
    RateLimitError,
    RoutingError,
    ScaffoldError,
    SecretError,
    SecretNotFoundError,
    StateFormatError,
    StorageCorruptError,
    StorageError,
    UnknownTargetError,
)
from meshkit.interfaces import error_for_status, error_from_envelope, parse_retry_after, retry_after_of

#: child → parent, as the docstring of meshkit.errors draws the tree.
TREE: dict[type[BaseException], type[BaseException]] = {
    ConfigError: MeshkitError,
    ConnectorError: MeshkitError,
    ConnectorNotFoundError: ConnectorError,
    AmbiguousConnectorError: ConnectorError,
    PluginLoadError: ConnectorError,
    FeatureNotSupportedError: ConnectorError,
    SecretError: MeshkitError,
    SecretNotFoundError: SecretError,
    StorageError: MeshkitError,
    StorageCorruptError: StorageError,
    StateFormatError: StorageError,
    LockTimeoutError: StorageError,
    LockNotHeldError: StorageError,
    ProviderError: MeshkitError,
    AuthenticationError: ProviderError,
    ModelAccessError: ProviderError,
    RateLimitError: ProviderError,
    QuotaExhaustedError: ProviderError,
    ProviderUnavailableError: ProviderError,
    ProviderTimeoutError: ProviderError,
    ContextWindowExceededError: ProviderError,
    BadRequestError: ProviderError,
    ProviderProtocolError: ProviderError,
    RoutingError: MeshkitError,
    NoModelAvailableError: RoutingError,
    UnknownTargetError: NoModelAvailableError,
    NoCapableModelError: NoModelAvailableError,
    AllModelsExhaustedError: RoutingError,
    DeadlineExceeded: MeshkitError,
    ScaffoldError: MeshkitError,
}

#: provider error → (category, retryable by default)
PROVIDER_ERRORS = {
    ProviderError: (ErrorCategory.UNKNOWN, True),
    AuthenticationError: (ErrorCategory.AUTHENTICATION, False),
    ModelAccessError: (ErrorCategory.MODEL_ACCESS, False),
    RateLimitError: (ErrorCategory.RATE_LIMIT, True),
    QuotaExhaustedError: (ErrorCategory.QUOTA_EXHAUSTED, True),
    ProviderUnavailableError: (ErrorCategory.UNAVAILABLE, True),
    ProviderTimeoutError: (ErrorCategory.TIMEOUT, True),
    ContextWindowExceededError: (ErrorCategory.CONTEXT_WINDOW, False),
    BadRequestError: (ErrorCategory.BAD_REQUEST, False),
    ProviderProtocolError: (ErrorCategory.PROTOCOL, True),
}


@pytest.mark.parametrize(("child", "parent"), list(TREE.items()), ids=lambda c: c.__name__)
def test_error_tree(child: type[BaseException], parent: type[BaseException]) -> None:
    assert child.__bases__[0] is parent


def test_tree_covers_every_exception_of_the_module() -> None:
    defined = {
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, BaseException) and obj.__module__ == errors.__name__
    }
    assert defined == set(TREE) | {MeshkitError}


def test_every_error_has_a_one_line_docstring_and_is_exported() -> None:
    for cls in [*TREE, MeshkitError]:
        assert cls.__doc__ and "\n" not in cls.__doc__.strip(), cls.__name__
        assert getattr(meshkit, cls.__name__) is cls


def test_stdlib_bases_let_callers_catch_broadly() -> None:
    assert issubclass(ConfigError, ValueError)
    assert issubclass(ConnectorNotFoundError, LookupError)
    assert issubclass(SecretNotFoundError, KeyError)
    assert issubclass(LockTimeoutError, TimeoutError)
    assert issubclass(StateFormatError, ValueError)
    assert issubclass(UnknownTargetError, LookupError)
    assert issubclass(DeadlineExceeded, TimeoutError)
    assert issubclass(FeatureNotSupportedError, NotImplementedError)


@pytest.mark.parametrize(
    ("cls", "expected"), list(PROVIDER_ERRORS.items()), ids=lambda c: getattr(c, "__name__", "")
)
def test_provider_error_category_and_default_retryable(
    cls: type[ProviderError], expected: tuple[ErrorCategory, bool]
) -> None:
    err = cls("upstream said no")
    assert (err.category, err.retryable) == expected


def test_provider_error_carries_its_attributes() -> None:
    err = RateLimitError(
        "slow down", status_code=429, retry_after=2.5, provider_id="local", model_id="local.small"
    )
    assert (err.message, err.status_code, err.retry_after, err.provider_id, err.model_id) == (
        "slow down",
        429,
        2.5,
        "local",
        "local.small",
    )
    assert str(err) == "slow down"
    assert repr(err) == "RateLimitError('slow down', status_code=429, retry_after=2.5, retryable=True)"


def test_retryable_can_be_overridden_per_instance() -> None:
    assert RateLimitError("x", retryable=False).retryable is False
    assert AuthenticationError("x", retryable=True).retryable is True


def test_config_error_lists_every_problem() -> None:
    one = ConfigError("pools.chat: unknown key", source="mesh.yaml")
    assert str(one) == "invalid configuration in mesh.yaml: pools.chat: unknown key"
    many = ConfigError(["a: wrong", "b: wrong"])
    assert many.problems == ["a: wrong", "b: wrong"]
    assert str(many) == "invalid configuration:\n  - a: wrong\n  - b: wrong"


def test_lookup_errors_name_the_close_matches() -> None:
    assert "did you mean 'memory'?" in str(ConnectorNotFoundError("memroy", matches=["memory"]))
    assert "meshkit connectors" in str(ConnectorNotFoundError("nothing-like-it", kind="storage"))
    assert "no storage connector named" in str(ConnectorNotFoundError("x", kind="storage"))
    ambiguous = AmbiguousConnectorError("llm", matches=["a.llm.v1", "b.llm.v1"])
    assert str(ambiguous) == "'llm' names several connectors: a.llm.v1, b.llm.v1; use the full id"


def test_secret_not_found_reads_plainly() -> None:
    err = SecretNotFoundError("OPENAI_KEY", store="environment variable OPENAI_KEY")
    assert str(err) == "secret 'OPENAI_KEY' not found in environment variable OPENAI_KEY"
    assert err.name == "OPENAI_KEY"


def test_all_models_exhausted_lists_every_attempt() -> None:
    attempts = [
        Attempt("local.small", "local", RateLimitError("HTTP 429"), 12.4),
        Attempt("cloud.big", "cloud", ProviderTimeoutError("timed out"), 5000.0),
    ]
    err = AllModelsExhaustedError("chat", attempts)
    assert err.attempts == attempts
    assert str(err).splitlines() == [
        "every model for 'chat' failed (2 attempts):",
        "  1. local.small (local): RateLimitError: HTTP 429 [12 ms]",
        "  2. cloud.big (cloud): ProviderTimeoutError: timed out [5000 ms]",
    ]


def test_one_attempt_reads_as_one_attempt() -> None:
    err = AllModelsExhaustedError("chat", [Attempt("local.small", "local", RateLimitError("HTTP 429"), 1.0)])
    assert str(err).splitlines()[0] == "every model for 'chat' failed (1 attempt):"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, "", AuthenticationError),
        (401, "model 'x' does not exist", AuthenticationError),  # a refused key, whatever it says
        (403, "forbidden", ModelAccessError),
        (403, "You are not allowed to sample from this model", ModelAccessError),
        (404, "The model `gpt-9` does not exist or you do not have access to it.", ModelAccessError),
        (404, '{"error": {"code": "model_not_found", "message": "no"}}', ModelAccessError),
        (404, "model 'small' not found, try pulling it first", ModelAccessError),
        (404, "Not Found", BadRequestError),  # a wrong URL, not a model
        (404, "Invalid URL (POST /v1/chat/completion)", BadRequestError),
        (429, "slow down", RateLimitError),
        (429, '{"error": {"code": "insufficient_quota"}}', QuotaExhaustedError),
        (402, "Your credit balance is too low", QuotaExhaustedError),
        (403, "You exceeded your current quota", QuotaExhaustedError),
        (500, "", ProviderUnavailableError),
        (502, "bad gateway", ProviderUnavailableError),
        (503, "", ProviderUnavailableError),
        (504, "", ProviderTimeoutError),
        (408, "", ProviderTimeoutError),
        (400, '{"error": {"code": "context_length_exceeded"}}', ContextWindowExceededError),
        (413, "prompt is too long", ContextWindowExceededError),
        (400, "missing field", BadRequestError),
        (404, "no such model", ModelAccessError),
        (422, "invalid", BadRequestError),
        (302, "", ProviderProtocolError),
    ],
)
def test_error_for_status(status: int, body: str, expected: type[ProviderError]) -> None:
    err = error_for_status(status, body, retry_after=3.0, provider_id="local")
    assert type(err) is expected
    assert (err.status_code, err.retry_after, err.provider_id) == (status, 3.0, "local")


def test_error_for_status_message_carries_a_short_body() -> None:
    err = error_for_status(503, "upstream   overloaded\n try later")
    assert err.message == "HTTP 503: upstream overloaded try later"
    long = error_for_status(500, "x" * 1000)
    assert len(long.message) < 350 and long.message.endswith("…")


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "250", "retry-after": "3"}, 0.25),
        ({"retry-after-ms": "soon", "retry-after": "3"}, 3.0),
        ({"retry-after-ms": "-500"}, 0.0),
        ({"retry-after-ms": "nan", "retry-after": "2"}, 2.0),
        ({"retry-after": "7"}, 7.0),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_of_reads_milliseconds_first(
    headers: dict[str, str] | None, seconds: float | None
) -> None:
    assert retry_after_of(headers) == seconds


@pytest.mark.parametrize(
    ("error", "status", "expected", "status_code"),
    [
        (
            {"type": "insufficient_quota", "message": "You exceeded your current quota"},
            429,
            QuotaExhaustedError,
            429,
        ),
        ({"code": "context_length_exceeded", "message": "too long"}, 400, ContextWindowExceededError, 400),
        ({"type": "rate_limit_exceeded", "message": "slow down"}, None, RateLimitError, 429),
        ({"code": 503, "message": "upstream overloaded"}, 200, ProviderUnavailableError, 503),
        ({"code": "invalid_api_key", "message": "bad key"}, None, AuthenticationError, 401),
        ({"code": "model_not_found", "message": "The model x does not exist"}, None, ModelAccessError, 404),
        ({"type": "invalid_request_error", "message": "bad field"}, None, BadRequestError, 400),
        ("something broke", None, ProviderUnavailableError, 500),
    ],
)
def test_error_from_envelope_reads_openai_error_objects(
    error: object, status: int | None, expected: type[ProviderError], status_code: int
) -> None:
    err = error_from_envelope(error, status, {"retry-after": "4"}, provider_id="up")
    assert type(err) is expected
    assert (err.status_code, err.retry_after, err.provider_id) == (status_code, 4.0, "up")


def test_error_from_envelope_redacts_the_message() -> None:
    err = error_from_envelope(
        {"message": "key sk-123 refused"}, 401, None, redact=lambda t: t.replace("sk-123", "***")
    )
    assert "sk-123" not in err.message and "***" in err.message


class TestParseRetryAfter:
    NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

    @pytest.mark.parametrize(("value", "seconds"), [("120", 120.0), (" 1.5 ", 1.5), ("0", 0.0), ("-4", 0.0)])
    def test_seconds(self, value: str, seconds: float) -> None:
        assert parse_retry_after(value, now=self.NOW) == seconds

    def test_http_date_in_the_future(self) -> None:
        value = format_datetime(self.NOW + timedelta(seconds=90), usegmt=True)
        assert value.endswith("GMT")
        assert parse_retry_after(value, now=self.NOW) == 90.0

    def test_http_date_in_the_past_means_now(self) -> None:
        value = format_datetime(self.NOW - timedelta(hours=1), usegmt=True)
        assert parse_retry_after(value, now=self.NOW) == 0.0

    def test_rfc850_and_asctime_dates(self) -> None:
        assert parse_retry_after("Sunday, 01-Mar-26 12:00:30 GMT", now=self.NOW) == 30.0
        assert parse_retry_after("Sun Mar  1 12:01:00 2026", now=self.NOW) == 60.0

    @pytest.mark.parametrize("value", [None, "", "   ", "soon", "nan", "inf", "Mon, 99 Foo 2026"])
    def test_absent_or_unreadable_is_none(self, value: str | None) -> None:
        assert parse_retry_after(value, now=self.NOW) is None


def test_exhausted_says_every_model_only_when_every_model_was_tried() -> None:
    attempts = [
        Attempt("a.m", "a", FeatureNotSupportedError("a.m lacks tools"), 0.0, skipped="lacks tools"),
        Attempt("b.m", "b", RateLimitError("HTTP 429"), 3.0),
    ]
    not_tried = [NotTried("a.m", "lacks tools"), NotTried("c.m", "attempt cap reached (max_attempts=1)")]
    err = AllModelsExhaustedError("chat", attempts, not_tried)
    assert err.not_tried == not_tried
    assert str(err).splitlines() == [
        "1 model for 'chat' failed (1 attempt); not tried: a.m (lacks tools); "
        "c.m (attempt cap reached (max_attempts=1)):",
        "  1. a.m (a): skipped, lacks tools",
        "  2. b.m (b): RateLimitError: HTTP 429 [3 ms]",
    ]
    assert "every model" not in str(err)


def test_no_capable_model_names_what_is_missing_and_each_model_skipped() -> None:
    skipped = [NotTried("local.m1", "lacks tools, vision"), NotTried("claude.m2", "lacks json_schema")]
    err = NoCapableModelError(
        "chat", "chat with json_schema, tools, vision", skipped, ["tools", "vision", "json_schema"]
    )
    assert isinstance(err, NoModelAvailableError) and isinstance(err, RoutingError)
    assert err.missing == ("json_schema", "tools", "vision")
    assert err.skipped == skipped
    assert str(err) == (
        "no model for 'chat' can serve a chat with json_schema, tools, vision request "
        "(missing: json_schema, tools, vision): local.m1 (lacks tools, vision); "
        "claude.m2 (lacks json_schema); "
        "add a model that has them, or drop what the request asks for"
    )
