"""The Connector base: identity, configuration by cattrs, features and lifecycle."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from meshkit import (
    Connector,
    ConnectorType,
    EmptyConfig,
    FakeClock,
    FeatureNotSupportedError,
    StorageFeature,
    SystemClock,
)
from meshkit.config import check
from meshkit.connector import parse_connector_id
from meshkit.enums import ProviderFeature
from meshkit.errors import ConfigError


@attrs.frozen(kw_only=True)
class SinkConfig:
    path: str = "events.jsonl"
    flush_every: timedelta = timedelta(seconds=5)
    batch: int = attrs.field(default=10, validator=check(lambda v: v > 0, "a positive number"))
    tags: list[str] = attrs.field(factory=list)


class Recorder(Connector):
    """Counts its lifecycle calls."""

    connector_id = "test.recorder.v1"
    connector_type = ConnectorType.STORAGE
    features = frozenset({StorageFeature.LOCKING})
    Config = SinkConfig

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.calls: list[str] = []

    async def _start(self) -> None:
        self.calls.append("start")

    async def _aclose(self) -> None:
        self.calls.append("close")


class TestIds:
    @pytest.mark.parametrize(
        ("connector_id", "parts"),
        [
            ("acme.llm.v1", ("acme", "llm", 1)),
            ("meshkit.round-robin.v1", ("meshkit", "round-robin", 1)),
            ("my-co.open-ai-2.v12", ("my-co", "open-ai-2", 12)),
        ],
    )
    def test_valid_ids_split_into_vendor_name_version(
        self, connector_id: str, parts: tuple[str, str, int]
    ) -> None:
        assert parse_connector_id(connector_id) == parts

    @pytest.mark.parametrize(
        "connector_id",
        [
            "Acme.llm.v1",  # uppercase
            "acme.llm",  # no version
            "acme.llm.1",  # no v
            "acme.llm.v0",  # versions start at 1
            "acme..v1",
            "acme.-llm.v1",  # hyphen at the edge of a segment
            "acme.llm-.v1",
            "acme.llm_x.v1",  # underscore
            "acme.sub.llm.v1",  # four segments
            "acme.llm.v1 ",
            "acme.llm.v1\n",  # `$` alone would accept a trailing newline
            "",
            None,
        ],
    )
    def test_invalid_ids_say_what_is_expected(self, connector_id: str | None) -> None:
        with pytest.raises(ValueError, match=r"invalid connector id .*expected 'vendor.name.vN'"):
            parse_connector_id(connector_id)  # type: ignore[arg-type]

    def test_validate_class_accepts_a_well_formed_connector(self) -> None:
        Recorder.validate_class()

    def test_validate_class_rejects_a_bad_id(self) -> None:
        bad = type("Bad", (Recorder,), {"connector_id": "Bad_Id"})
        with pytest.raises(ValueError, match="invalid connector id 'Bad_Id'"):
            bad.validate_class()

    def test_validate_class_requires_id_and_type(self) -> None:
        class NoId(Connector):
            connector_type = ConnectorType.STORAGE

        with pytest.raises(TypeError, match="NoId does not set connector_id"):
            NoId.validate_class()

    def test_validate_class_rejects_an_unknown_type(self) -> None:
        bad = type("Bad", (Recorder,), {"connector_type": "llm"})
        with pytest.raises(TypeError, match="connector_type"):
            bad.validate_class()

    def test_validate_class_rejects_features_of_another_type(self) -> None:
        bad = type("Bad", (Recorder,), {"features": frozenset({ProviderFeature.STREAMING})})
        with pytest.raises(TypeError, match="are not StorageFeature members"):
            bad.validate_class()

    def test_validate_class_requires_an_attrs_config(self) -> None:
        bad = type("Bad", (Recorder,), {"Config": dict})
        with pytest.raises(TypeError, match="Config must be an attrs class"):
            bad.validate_class()


class TestGenericConfig:
    def test_the_config_named_by_the_base_types_self_config(self) -> None:
        class Typed(Connector[SinkConfig]):
            connector_id = "test.typed.v1"
            connector_type = ConnectorType.STORAGE
            Config = SinkConfig

        Typed.validate_class()
        assert Typed.declared_config() is SinkConfig
        assert Typed({"path": "a.jsonl"}).config.path == "a.jsonl"

    def test_a_config_other_than_the_declared_one_is_refused(self) -> None:
        class Mismatched(Connector[SinkConfig]):
            connector_id = "test.mismatched.v1"
            connector_type = ConnectorType.STORAGE
            Config = EmptyConfig

        with pytest.raises(
            TypeError, match="Config is EmptyConfig, but the class is declared over SinkConfig"
        ):
            Mismatched.validate_class()

    def test_every_built_in_connector_declares_its_config(self) -> None:
        from meshkit.connectors import _plugin

        # A built-in that others extend (registry-sync) stays generic, bound to its config class.
        undeclared = [
            cls.connector_id
            for cls in _plugin.meshkit_connectors()
            if cls.declared_config() is None and not getattr(cls, "__parameters__", ())
        ]
        assert undeclared == []
        for cls in _plugin.meshkit_connectors():
            cls.validate_class()  # the declared config and Config agree


class TestConfig:
    def test_defaults_without_config(self) -> None:
        assert Recorder().config == SinkConfig()
        assert Recorder(None).config == SinkConfig()

    def test_mapping_is_structured(self) -> None:
        rec = Recorder({"path": "x.jsonl", "flush_every": "500ms", "tags": ["a"]})
        assert rec.config == SinkConfig(path="x.jsonl", flush_every=timedelta(milliseconds=500), tags=["a"])

    def test_a_built_config_is_used_as_is(self) -> None:
        cfg = SinkConfig(batch=3)
        assert Recorder(cfg).config is cfg

    def test_connector_without_config_takes_none(self) -> None:
        class Plain(Connector):
            connector_id = "test.plain.v1"
            connector_type = ConnectorType.STORAGE

        assert Plain().config == EmptyConfig()
        with pytest.raises(ConfigError, match=r"config.anything: unknown key"):
            Plain({"anything": 1})

    @pytest.mark.parametrize(
        ("config", "problem"),
        [
            ({"pth": "x"}, "config.pth: unknown key; did you mean 'path'?"),
            ({"batch": "ten"}, "config.batch: expected a whole number, got 'ten'"),
            ({"flush_every": "often"}, "config.flush_every: expected a duration such as 500ms"),
            ({"batch": 0}, "config.batch: expected a positive number, got 0"),
            ({"tags": "a,b"}, "config.tags: expected a list, got str"),
        ],
    )
    def test_bad_config_is_reported_by_path_with_the_connector_id(
        self, config: dict[str, object], problem: str
    ) -> None:
        with pytest.raises(ConfigError) as info:
            Recorder(config)
        [line] = info.value.problems
        assert line.startswith(problem)
        assert str(info.value).startswith("invalid configuration in test.recorder.v1: ")

    def test_build_config_takes_the_caller_path(self) -> None:
        with pytest.raises(ConfigError) as info:
            Recorder.build_config({"batch": -1}, path="observability.connectors[0].config")
        assert info.value.problems == [
            "observability.connectors[0].config.batch: expected a positive number, got -1"
        ]

    def test_a_non_mapping_config_is_rejected(self) -> None:
        with pytest.raises(ConfigError, match="config: expected a mapping, got list"):
            Recorder(["path"])


class TestFeatures:
    def test_supports_and_require(self) -> None:
        rec = Recorder()
        assert Recorder.supports(StorageFeature.LOCKING)
        assert not Recorder.supports(StorageFeature.SHARED)
        rec.require(StorageFeature.LOCKING)
        with pytest.raises(FeatureNotSupportedError, match=r"test\.recorder\.v1 does not support 'shared'"):
            rec.require(StorageFeature.SHARED)


class TestLifecycle:
    @pytest.mark.anyio
    async def test_async_with_starts_and_closes(self) -> None:
        rec = Recorder()
        async with rec as entered:
            assert entered is rec
            assert rec.started and not rec.closed
        assert rec.closed and not rec.started
        assert rec.calls == ["start", "close"]

    @pytest.mark.anyio
    async def test_close_happens_when_the_body_raises(self) -> None:
        rec = Recorder()
        with pytest.raises(KeyError):
            async with rec:
                raise KeyError("boom")
        assert rec.calls == ["start", "close"]

    @pytest.mark.anyio
    async def test_start_twice_starts_once(self) -> None:
        rec = Recorder()
        await rec.start()
        await rec.start()
        assert rec.calls == ["start"]
        await rec.aclose()

    @pytest.mark.anyio
    async def test_aclose_is_idempotent(self) -> None:
        rec = Recorder()
        await rec.start()
        for _ in range(3):
            await rec.aclose()
        assert rec.calls == ["start", "close"]

    @pytest.mark.anyio
    async def test_aclose_without_start_releases_nothing(self) -> None:
        rec = Recorder()
        await rec.aclose()
        assert rec.closed
        assert rec.calls == []

    @pytest.mark.anyio
    async def test_start_after_close_is_an_error(self) -> None:
        rec = Recorder()
        async with rec:
            pass
        with pytest.raises(
            RuntimeError, match=r"test.recorder.v1 \(test.recorder.v1\) is closed; make a new one"
        ):
            await rec.start()
        with pytest.raises(RuntimeError, match="is closed"):
            async with rec:
                pass
        assert rec.calls == ["start", "close"]

    @pytest.mark.anyio
    async def test_failed_start_can_be_retried(self) -> None:
        class Flaky(Recorder):
            attempts = 0

            async def _start(self) -> None:
                type(self).attempts += 1
                if type(self).attempts == 1:
                    raise OSError("port busy")

        flaky = Flaky()
        with pytest.raises(OSError, match="port busy"):
            await flaky.start()
        assert not flaky.started
        await flaky.start()
        assert flaky.started
        await flaky.aclose()

    def test_name_clock_and_repr(self, clock: FakeClock) -> None:
        rec = Recorder(name="events", clock=clock)
        assert rec.name == "events"
        assert rec.clock is clock
        assert repr(rec) == "<Recorder test.recorder.v1 name='events'>"
        assert isinstance(Recorder().clock, SystemClock)
        assert Recorder().name == "test.recorder.v1"


class TestAbstractMethods:
    def test_a_connector_with_abstract_methods_left_cannot_be_built(self) -> None:
        from meshkit import Storage

        class HalfStorage(Storage):
            connector_id = "test.half.v1"

            async def load(self, key: str) -> bytes | None:
                return None

        assert HalfStorage.__abstractmethods__ == {"save", "delete", "list", "stat"}
        with pytest.raises(TypeError, match="abstract"):
            HalfStorage()  # type: ignore[abstract]
