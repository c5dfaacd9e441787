"""Configuration: durations, cattrs errors reported by path, ``${secrets:NAME}`` references."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Literal

import attrs
import pytest

from meshkit.config import (
    check,
    format_duration,
    parse_duration,
    resolve_secret_refs,
    structure,
    unstructure,
)
from meshkit.enums import SyncPolicy
from meshkit.errors import ConfigError, SecretError, SecretNotFoundError
from meshkit.types import Secret


@attrs.frozen(kw_only=True)
class Retry:
    max_attempts: int = attrs.field(default=3, validator=check(lambda v: v >= 1, "at least 1"))
    initial_delay: timedelta = timedelta(milliseconds=200)


@attrs.frozen(kw_only=True)
class Pool:
    models: list[str] = attrs.field(factory=list)
    retry: Retry = attrs.field(factory=Retry)
    sync_policy: SyncPolicy = SyncPolicy.IN_MEMORY
    backoff: Literal["exponential", "constant"] = "exponential"
    api_key: Secret | None = None
    weight: float = 1.0
    enabled: bool = True
    label: str = ""


@attrs.frozen(kw_only=True)
class Mesh:
    pools: dict[str, Pool] = attrs.field(factory=dict)


def problems(data: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        structure(data, Mesh, source="mesh.yaml")
    assert str(info.value).startswith("invalid configuration in mesh.yaml")
    return info.value.problems


class TestDurations:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("500ms", timedelta(milliseconds=500)),
            ("30s", timedelta(seconds=30)),
            ("5m", timedelta(minutes=5)),
            ("1h", timedelta(hours=1)),
            ("7d", timedelta(days=7)),
            ("1.5h", timedelta(minutes=90)),
            (" 10 s ", timedelta(seconds=10)),
            ("45", timedelta(seconds=45)),
            (2, timedelta(seconds=2)),
            (0.25, timedelta(milliseconds=250)),
            (timedelta(minutes=3), timedelta(minutes=3)),
        ],
    )
    def test_accepted_spellings(self, text: object, expected: timedelta) -> None:
        assert parse_duration(text) == expected

    @pytest.mark.parametrize("text", ["soon", "5 minutes", "10sec", "-5s", "1w", "", "ms", True, None, [1]])
    def test_rejected_spellings_say_what_is_expected(self, text: object) -> None:
        with pytest.raises(ValueError, match="expected a duration such as 500ms, 30s, 5m, 1h or 7d"):
            parse_duration(text)

    def test_negative_number_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="cannot be negative"):
            parse_duration(-1)

    @pytest.mark.parametrize("value", [float("inf"), float("nan"), "99999999999999d"])
    def test_infinite_or_huge_is_a_value_error(self, value: object) -> None:
        with pytest.raises(ValueError, match="duration"):
            parse_duration(value)

    @pytest.mark.parametrize("text", ["500ms", "30s", "5m", "1h", "7d", "90s", "1500ms"])
    def test_format_round_trips(self, text: str) -> None:
        assert format_duration(parse_duration(text)) == text

    def test_format_picks_the_largest_exact_unit(self) -> None:
        assert format_duration(timedelta(minutes=120)) == "2h"
        assert format_duration(timedelta(0)) == "0ms"


class TestStructure:
    def test_builds_nested_attrs_objects(self) -> None:
        mesh = structure(
            {
                "pools": {
                    "chat": {
                        "models": ["a", "b"],
                        "retry": {"max_attempts": 4, "initial_delay": "1s"},
                        "sync_policy": "immediate",
                        "api_key": "k",
                    }
                }
            },
            Mesh,
        )
        chat = mesh.pools["chat"]
        assert chat.models == ["a", "b"]
        assert chat.retry == Retry(max_attempts=4, initial_delay=timedelta(seconds=1))
        assert chat.sync_policy is SyncPolicy.IMMEDIATE
        assert chat.api_key == Secret("k")

    def test_missing_sections_take_their_defaults(self) -> None:
        assert structure(None, Mesh) == Mesh()
        assert structure({"pools": {"chat": {}}}, Mesh).pools["chat"] == Pool()

    def test_unknown_key_names_the_path_and_suggests(self) -> None:
        assert problems({"pools": {"chat": {"retyr": {}}}}) == [
            "pools.chat.retyr: unknown key; did you mean 'retry'?"
        ]

    def test_unknown_key_without_a_close_match_lists_the_known_keys(self) -> None:
        [line] = problems({"pools": {"chat": {"retry": {"zzz": 1}}}})
        assert line == "pools.chat.retry.zzz: unknown key; known keys: max_attempts, initial_delay"

    def test_unknown_top_level_key(self) -> None:
        assert problems({"poolz": {}}) == ["poolz: unknown key; did you mean 'pools'?"]

    def test_wrong_type(self) -> None:
        assert problems({"pools": {"chat": {"retry": {"max_attempts": "many"}}}}) == [
            "pools.chat.retry.max_attempts: expected a whole number, got 'many'"
        ]

    def test_bad_duration(self) -> None:
        assert problems({"pools": {"chat": {"retry": {"initial_delay": "soon"}}}}) == [
            "pools.chat.retry.initial_delay: expected a duration such as 500ms, 30s, 5m, 1h or 7d, got 'soon'"
        ]

    def test_infinite_duration_is_a_clean_problem(self) -> None:
        [line] = problems({"pools": {"chat": {"retry": {"initial_delay": float("inf")}}}})
        assert line.startswith("pools.chat.retry.initial_delay: expected a duration")

    def test_validator_failure_is_reported_at_the_field(self) -> None:
        assert problems({"pools": {"chat": {"retry": {"max_attempts": 0}}}}) == [
            "pools.chat.retry.max_attempts: expected at least 1, got 0"
        ]

    def test_a_string_where_a_list_is_expected(self) -> None:
        # A string is iterable; without the check `models: abc` would become ['a', 'b', 'c'].
        assert problems({"pools": {"chat": {"models": "abc"}}}) == [
            "pools.chat.models: expected a list, got str"
        ]

    def test_a_bad_list_item_is_reported_by_index(self) -> None:
        assert problems({"pools": {"chat": {"models": ["a", 3]}}}) == [
            "pools.chat.models[1]: expected a string, got int"
        ]

    def test_enum_value_must_be_a_member(self) -> None:
        assert problems({"pools": {"chat": {"sync_policy": "never"}}}) == [
            "pools.chat.sync_policy: expected one of 'in-memory', 'sync-on-boundary', 'periodic', 'immediate'"
        ]

    def test_literal_lists_its_choices(self) -> None:
        assert problems({"pools": {"chat": {"backoff": "linear"}}}) == [
            "pools.chat.backoff: expected one of 'exponential', 'constant'"
        ]

    def test_a_scalar_where_a_mapping_is_expected(self) -> None:
        assert problems({"pools": {"chat": "abc"}}) == ["pools.chat: expected a mapping"]
        assert problems({"pools": ["chat"]}) == ["pools: expected a mapping"]
        assert problems("abc") == ["config: expected a mapping"]

    def test_every_problem_is_reported_at_once(self) -> None:
        assert problems({"pools": {"chat": {"weight": "x", "enabled": "yes", "label": 3}}}) == [
            "pools.chat.weight: expected a number, got 'x'",
            "pools.chat.enabled: expected true or false, got 'yes'",
            "pools.chat.label: expected a string, got int",
        ]

    def test_secret_problem_does_not_echo_the_value(self) -> None:
        [line] = problems({"pools": {"chat": {"api_key": 123456789}}})
        assert line == "pools.chat.api_key: expected a string or a ${secrets:NAME} reference"
        assert "123456789" not in line

    def test_path_prefix_is_prepended(self) -> None:
        with pytest.raises(ConfigError) as info:
            structure({"max_attempts": 0}, Retry, path="pools.chat.retry")
        assert info.value.problems == ["pools.chat.retry.max_attempts: expected at least 1, got 0"]

    def test_unstructure_gives_plain_data_with_secrets_masked(self) -> None:
        pool = Pool(api_key=Secret("sk-123"), sync_policy=SyncPolicy.PERIODIC)
        data = unstructure(pool)
        assert data["api_key"] == "**********"
        assert data["retry"] == {"max_attempts": 3, "initial_delay": "200ms"}
        assert data["sync_policy"] == "periodic" and type(data["sync_policy"]) is str


def secret_store(values: dict[str, str]) -> Callable[[str], Awaitable[Secret]]:
    async def lookup(name: str) -> Secret:
        if name not in values:
            raise SecretNotFoundError(name, store="test")
        return Secret(values[name])

    return lookup


class TestSecretRefs:
    @pytest.mark.anyio
    async def test_whole_string_reference_becomes_a_secret(self) -> None:
        out = await resolve_secret_refs({"api_key": "${secrets:KEY}"}, secret_store({"KEY": "sk-1"}))
        assert out == {"api_key": Secret("sk-1")}
        assert "sk-1" not in repr(out)

    @pytest.mark.anyio
    async def test_reference_inside_a_string_is_spliced_and_stays_secret(self) -> None:
        out = await resolve_secret_refs("Bearer ${secrets:KEY}!", secret_store({"KEY": "sk-1"}))
        assert isinstance(out, Secret)
        assert out.reveal() == "Bearer sk-1!"

    @pytest.mark.anyio
    async def test_nested_mappings_and_lists_are_walked(self) -> None:
        data = {"a": [{"b": "${secrets: ONE }"}, "plain", 3], "c": {"d": "x${secrets:TWO}y${secrets:ONE}"}}
        out = await resolve_secret_refs(data, secret_store({"ONE": "1", "TWO": "2"}))
        assert out["a"] == [{"b": Secret("1")}, "plain", 3]
        assert out["c"]["d"].reveal() == "x2y1"

    @pytest.mark.anyio
    async def test_strings_without_references_are_untouched(self) -> None:
        data = {"url": "http://127.0.0.1:8000/v1", "n": 1, "none": None, "flag": True}
        assert await resolve_secret_refs(data, secret_store({})) == data

    @pytest.mark.anyio
    async def test_missing_secret_raises_naming_it(self) -> None:
        with pytest.raises(SecretError, match="k: secret 'MISSING' not found"):
            await resolve_secret_refs({"k": "${secrets:MISSING}"}, secret_store({}))

    @pytest.mark.anyio
    async def test_every_missing_secret_is_named_with_the_key_that_referenced_it(self) -> None:
        data = {
            "api_key": "${secrets:ONE}",
            "headers": {"x": "a ${secrets:TWO} b"},
            "more": ["${secrets:ONE}"],
        }
        with pytest.raises(ConfigError) as info:
            await resolve_secret_refs(data, secret_store({}), path="providers.up.config")
        assert [p.split(": ")[0] for p in info.value.problems] == [
            "providers.up.config.api_key",
            "providers.up.config.headers.x",
            "providers.up.config.more[0]",
        ]

    @pytest.mark.anyio
    async def test_a_missing_secret_in_a_list_is_named_by_its_index(self) -> None:
        tokens = ["${secrets:ONE}", "plain", "${secrets:TWO}"]
        with pytest.raises(ConfigError) as info:
            await resolve_secret_refs(tokens, secret_store({"ONE": "t-1"}), path="serve.auth.tokens")
        assert info.value.problems == [
            "serve.auth.tokens[2]: secret 'TWO' not found in test; set it, or remove the reference"
        ]

    @pytest.mark.anyio
    async def test_resolved_secret_structures_into_a_secret_field(self) -> None:
        raw = await resolve_secret_refs({"api_key": "${secrets:KEY}"}, secret_store({"KEY": "sk-9"}))
        pool = structure(raw, Pool)
        assert pool.api_key is not None and pool.api_key.reveal() == "sk-9"
        assert "sk-9" not in repr(pool)

    @pytest.mark.anyio
    async def test_a_checked_secret_field_is_checked_on_the_resolved_value(self) -> None:
        # Before resolution the field holds the reference, which no check could judge.
        assert structure({"url": "${secrets:HOOK}"}, Hook).url.reveal() == "${secrets:HOOK}"
        good = await resolve_secret_refs({"url": "${secrets:HOOK}"}, secret_store({"HOOK": "https://h/x"}))
        assert structure(good, Hook).url.reveal() == "https://h/x"
        bad = await resolve_secret_refs({"url": "${secrets:HOOK}"}, secret_store({"HOOK": "ftp://h/x"}))
        with pytest.raises(ConfigError) as info:
            structure(bad, Hook, path="observability.connectors[0].config")
        assert info.value.problems == [
            "observability.connectors[0].config.url: expected an https URL, got Secret('**********')"
        ]


@attrs.frozen(kw_only=True)
class Hook:
    url: Secret = attrs.field(validator=check(lambda s: s.reveal().startswith("https://"), "an https URL"))
