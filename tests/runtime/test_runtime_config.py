"""Mesh configuration: defaults, precise errors before anything starts, secrets, YAML vs dict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from runtime_helpers import USER, mock, two_provider_config

from meshkit import ConfigError, SyncPolicy
from meshkit.connectors.secret_stores.env import EnvSecretStore
from meshkit.runtime.mesh import Mesh
from meshkit.testing import FakeClock

MINIMAL = {
    "providers": {"fake": {"connector": "mock", "config": {"models": ["small"]}}},
    "models": {"fake.small": {"provider": "fake"}},
}


def problems(config: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        Mesh.from_config(config, clock=FakeClock())
    return info.value.problems


@pytest.mark.anyio
async def test_a_config_naming_only_providers_and_models_runs() -> None:
    async with Mesh.from_config(MINIMAL, clock=FakeClock()) as mesh:
        reply = await mesh.complete(model="fake.small", messages=USER)
        by_capability = await mesh.complete(model="chat-completion", messages=USER)
    assert reply.choices[0].message.content == "Hello from small."
    assert reply.model == "fake.small"
    assert reply.usage.total_tokens > 0
    assert by_capability.model == "fake.small"
    assert mesh.settings.storage.sync_policy is SyncPolicy.SYNC_ON_BOUNDARY
    assert mesh.settings.secrets.store == "env"


def test_an_empty_config_says_what_is_missing() -> None:
    found = problems({})
    assert any(p.startswith("providers: no providers configured") for p in found)
    assert any(p.startswith("models: no models configured") for p in found)


def test_a_config_that_is_not_a_mapping_is_refused() -> None:
    assert problems(["providers"]) == ["config: expected a mapping of sections, got list"]


def test_unknown_keys_are_named_with_a_suggestion() -> None:
    config = {**MINIMAL, "pool": {}}
    assert problems(config) == ["pool: unknown key; did you mean 'pools'?"]
    config = two_provider_config(pool={"retyr": {}})
    assert problems(config) == ["pools.chat.retyr: unknown key; did you mean 'retry'?"]


def test_wrong_types_are_reported_by_path() -> None:
    config = two_provider_config(pool={"retry": {"deadline": "soon", "max_attempts": "three"}})
    found = problems(config)
    assert any(p.startswith("pools.chat.retry.deadline: expected a duration") for p in found)
    assert any(p.startswith("pools.chat.retry.max_attempts: expected a whole number") for p in found)


def test_references_to_undefined_things_are_errors_with_suggestions() -> None:
    config = two_provider_config(model_b={"provider": "bb"})
    config["pools"]["direct"] = {"models": ["a.smal"], "providers": ["c"]}
    found = problems(config)
    assert "models.b.large.provider: no provider named 'bb'; did you mean 'b'?" in found
    assert "pools.direct.models[0]: no model named 'a.smal'; did you mean 'a.small'?" in found
    assert any(p.startswith("pools.direct.providers[0]: no provider named 'c'") for p in found)


def test_unknown_connectors_are_looked_up_within_the_section_type() -> None:
    config = {**MINIMAL, "storage": {"connector": "mock"}}
    found = problems(config)
    assert len(found) == 1
    assert found[0].startswith("storage.connector: no storage connector named 'mock'")
    config = {**MINIMAL, "providers": {"fake": {"connector": "mokc"}}}
    assert "did you mean" in problems(config)[0]


def test_connector_config_errors_carry_the_yaml_path() -> None:
    config = {
        "providers": {"local": {"connector": "mock", "config": {"latency": "fast"}}},
        "models": {"local.small": {"provider": "local"}},
    }
    (problem,) = problems(config)
    assert problem.startswith("providers.local.config.latency: expected a duration")
    config = two_provider_config(
        pool={"rotation": {"connector": "stick-until-failure", "config": {"cooldown": 3j}}}
    )
    assert problems(config)[0].startswith("pools.chat.rotation.config.cooldown: expected a duration")


def test_capabilities_must_exist_and_models_register_at_leaves() -> None:
    config = two_provider_config(model_a={"capabilities": ["generation.text-generation"]})
    config["models"]["b.large"]["capabilities"] = ["chat-compleiton"]
    found = problems(config)
    assert any(
        p.startswith("models.a.small.capabilities[0]: 'generation.text-generation' is not a leaf")
        for p in found
    )
    typo = "unknown capability 'chat-compleiton'; did you mean 'chat-completion'?"
    assert f"models.b.large.capabilities[0]: {typo}" in found


def test_a_pool_needs_a_capability_or_a_model_list_and_a_name_of_its_own() -> None:
    config = two_provider_config()
    config["pools"]["empty"] = {}
    config["pools"]["a.small"] = {"models": ["a.small"]}
    found = problems(config)
    assert any(p.startswith("pools.empty: give either 'capability'") for p in found)
    assert any(p.startswith("pools.a.small: 'a.small' is also a model id") for p in found)


def test_a_pool_whose_capability_no_model_offers_is_an_error() -> None:
    config = two_provider_config(pool={"capability": "understanding.embeddings"})
    assert problems(config) == [
        "pools.chat.capability: no configured model offers 'understanding.embeddings' or anything below it"
    ]


def test_a_model_features_list_names_request_features_only() -> None:
    config = two_provider_config(model_a={"features": ["tools", "embeddings"]})
    (found,) = problems(config)
    assert found.startswith("models.a.small.features: expected a list drawn from json_mode, json_schema,")


def test_a_model_can_only_narrow_its_provider_features() -> None:
    config = two_provider_config(model_a={"features": ["streaming", "tools", "vision"]})
    assert problems(config) == [
        "models.a.small.features: tools, vision not supported by meshkit.mock.v1 (provider 'a' offers: "
        "streaming); a model can only narrow its provider's features"
    ]


def test_embedding_models_register_under_the_embeddings_branch() -> None:
    config = two_provider_config(
        model_a={"capabilities": ["text-embeddings"]}, pool={"capability": "understanding.embeddings"}
    )
    mesh = Mesh.from_config(config, clock=FakeClock())
    assert mesh.entries["a.small"].capabilities == ("understanding.embeddings.text-embeddings",)


@pytest.mark.parametrize(
    "leaf",
    ["text-completion", "text-to-image", "image-editing", "text-to-speech", "transcription", "moderation"],
)
def test_leaves_without_an_operation_are_not_in_the_standard_tree(leaf: str) -> None:
    config = two_provider_config(model_a={"capabilities": [leaf]})
    (found,) = problems(config)
    assert found.startswith(f"models.a.small.capabilities[0]: unknown capability {leaf!r}")


def test_a_bad_maintenance_cron_is_reported_at_its_path() -> None:
    config = two_provider_config(model_a={"maintenance": [{"cron": "every night", "duration": "30m"}]})
    (problem,) = problems(config)
    assert problem.startswith("models.a.small.maintenance[0].cron: expected a cron expression")


def test_every_problem_is_reported_at_once() -> None:
    config = {
        "providers": {"x": {"connector": "nope"}},
        "models": {"x.m": {"provider": "y"}},
        "storage": {"sync_policy": "sometimes"},
    }
    assert len(problems(config)) == 1  # structure errors come first, alone
    del config["storage"]
    assert len(problems(config)) == 2


def test_yaml_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "mesh.yaml"
    path.write_text("providers:\n  a: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        Mesh.from_config(path)
    assert str(path) in str(info.value)
    assert "line 3" in str(info.value)
    with pytest.raises(ConfigError, match="does not exist"):
        Mesh.from_config(tmp_path / "missing.yaml")


@pytest.mark.anyio
async def test_a_yaml_file_and_a_dict_give_the_same_mesh(tmp_path: Path) -> None:
    config = two_provider_config(
        model_a={"pricing": {"input_per_1k": 0.5, "output_per_1k": 1.5}, "budget": {"daily": 2.0}},
        pool={"retry": {"max_attempts": 4, "initial_delay": "250ms", "deadline": "30s"}},
    )
    path = tmp_path / "mesh.yaml"
    path.write_text(yaml.safe_dump(config))
    from_yaml = Mesh.from_config(path, clock=FakeClock())
    from_dict = Mesh.from_config(config, clock=FakeClock())
    assert from_yaml.settings == from_dict.settings
    assert from_yaml.entries == from_dict.entries
    async with from_yaml, from_dict:
        assert from_yaml.status()["pools"].keys() == from_dict.status()["pools"].keys()
        one = await from_yaml.complete(model="chat", messages=USER)
        two = await from_dict.complete(model="chat", messages=USER)
    assert (one.model, one.text, one.cost) == (two.model, two.text, two.cost)


@pytest.mark.anyio
async def test_secret_references_are_resolved_through_the_configured_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MESHTEST_KEY", "sk-test-123")
    config = {
        "secrets": {"store": "env", "config": {"prefix": "MESHTEST_"}},
        "providers": {
            "local": {
                "connector": "openai-compatible",
                "config": {"base_url": "http://127.0.0.1:9/v1", "api_key": "${secrets:KEY}"},
            }
        },
        "models": {"local.small": {"provider": "local"}},
    }
    async with Mesh.from_config(config, clock=FakeClock()) as mesh:
        assert isinstance(mesh.secret_store, EnvSecretStore)
        key = mesh.providers["local"].config.api_key
        assert key.reveal() == "sk-test-123"
        assert "sk-test-123" not in repr(mesh.providers["local"].config)


@pytest.mark.anyio
async def test_a_missing_secret_is_a_config_error_naming_where_it_was_needed() -> None:
    config = {
        "providers": {
            "fake": {
                "connector": "openai-compatible",
                "config": {"api_key": "${secrets:MESHTEST_ABSENT_SECRET}"},
            }
        },
        "models": {"fake.small": {"provider": "fake"}},
    }
    mesh = Mesh.from_config(config, clock=FakeClock())
    with pytest.raises(ConfigError) as info:
        await mesh.start()
    assert info.value.problems[0].startswith(
        "providers.fake.config.api_key: secret 'MESHTEST_ABSENT_SECRET' not found"
    )
    assert not mesh.started


@pytest.mark.anyio
async def test_a_secret_reference_in_a_plain_field_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHTEST_GREETING", "internal greeting")
    config = {
        "secrets": {"store": "env", "config": {"prefix": "MESHTEST_"}},
        "providers": {"local": {"connector": "mock", "config": {"reply": "${secrets:GREETING}"}}},
        "models": {"local.small": {"provider": "local"}},
    }
    mesh = Mesh.from_config(config, clock=FakeClock())
    with pytest.raises(ConfigError) as info:
        await mesh.start()
    assert info.value.problems == [
        "providers.local.config.reply: expected a plain value, not a ${secrets:...} reference: "
        "those can only fill a secret field such as api_key; write this value in the configuration itself"
    ]
    assert "internal greeting" not in str(info.value)
    assert "got Secret" not in str(info.value)
    assert not mesh.started


@pytest.mark.anyio
async def test_connectors_get_the_mesh_clock_and_their_config_name() -> None:
    clock = FakeClock()
    async with Mesh.from_config(two_provider_config(), clock=clock) as mesh:
        provider = mock(mesh, "a")
        assert provider.clock is clock
        assert provider.name == "a"
        assert mesh.storage is not None and mesh.storage.clock is clock


def test_settings_objects_are_accepted_as_they_are() -> None:
    first = Mesh.from_config(MINIMAL, clock=FakeClock())
    second = Mesh(first.settings, clock=FakeClock())
    assert second.settings is first.settings


@pytest.mark.anyio
async def test_a_mesh_that_is_not_running_says_so() -> None:
    mesh = Mesh.from_config(MINIMAL, clock=FakeClock())
    with pytest.raises(RuntimeError, match="not running"):
        await mesh.complete(model="fake.small", messages=USER)
    async with mesh:
        pass
    with pytest.raises(RuntimeError, match="not running"):
        mesh.status()
    with pytest.raises(RuntimeError, match="closed"):
        await mesh.start()


@pytest.mark.anyio
async def test_a_mesh_can_be_built_from_connector_objects() -> None:
    from meshkit.connectors.providers.mock import MockProvider
    from meshkit.connectors.storage.memory import MemoryStorage

    clock = FakeClock()
    provider = MockProvider({"models": ["small"], "reply": "from an object"}, name="fake", clock=clock)
    storage = MemoryStorage(clock=clock)
    mesh = Mesh(
        {"models": {"fake.small": {"provider": "fake"}}},
        providers={"fake": provider},
        storage=storage,
        clock=clock,
    )
    async with mesh:
        reply = await mesh.complete(model="fake.small", messages=USER)
        assert mesh.providers["fake"] is provider and mesh.storage is storage
    assert reply.text == "from an object"
    assert provider.calls[0].model == "small"
    assert not provider.closed  # a connector passed in belongs to the caller
    with pytest.raises(TypeError, match="expected a Provider"):
        Mesh({"models": {"x.m": {"provider": "x"}}}, providers={"x": object()})  # type: ignore[dict-item]
