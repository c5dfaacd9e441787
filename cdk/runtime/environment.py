"""A mesh configuration from the API keys set in the environment.

``config_from_env(os.environ)`` returns the same kind of dict a ``mesh.yaml`` holds: one
provider for each well-known key that is set, with a sensible default model, one ``chat``
pool across them all and an ``embed`` pool across those that offer embeddings. Keys are
referenced as ``${secrets:NAME}``, never copied into the config, so the dict can be printed
(``meshkit config --from-env``) and kept as a starting point.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from ..errors import ConfigError

__all__ = ["ENV_PROVIDERS", "EnvProvider", "config_from_env", "environment_variables"]

CHAT_CAPABILITY = "generation.text-generation.chat-completion"
EMBEDDINGS_CAPABILITY = "understanding.embeddings.text-embeddings"

#: Where this config came from, in error messages.
SOURCE = "the environment"


@attrs.frozen(kw_only=True)
class EnvModel:
    """A default model: its upstream name, its list price per 1k tokens when known."""

    name: str
    #: The model id's second part when the upstream name is unwieldy (``together.<alias>``).
    alias: str | None = None
    input_per_1k: float | None = None
    output_per_1k: float | None = None

    def pricing(self) -> dict[str, float] | None:
        if self.input_per_1k is None:
            return None
        return {"input_per_1k": self.input_per_1k, "output_per_1k": self.output_per_1k or 0.0}


@attrs.frozen(kw_only=True)
class EnvProvider:
    """A service a mesh can be built for when ``variable`` is set."""

    name: str
    variable: str
    connector: str
    chat: EnvModel
    embeddings: EnvModel | None = None
    #: An openai-compatible preset (fills the URL and names the key).
    preset: str | None = None
    #: The variable that overrides the base URL.
    base_url_variable: str | None = None
    #: ``variable`` holds the service's address, not a key (Ollama).
    is_host: bool = False

    def model_id(self, model: EnvModel) -> str:
        return f"{self.name}.{model.alias or model.name}"


#: In order of preference: the chat pool tries them in this order.
#: Prices are list prices per 1k tokens when this was written; check the provider's price page.
ENV_PROVIDERS: tuple[EnvProvider, ...] = (
    EnvProvider(
        name="openai",
        variable="OPENAI_API_KEY",
        connector="openai-compatible",
        preset="openai",
        base_url_variable="OPENAI_BASE_URL",
        chat=EnvModel(name="gpt-4.1-mini", input_per_1k=0.0004, output_per_1k=0.0016),
        embeddings=EnvModel(name="text-embedding-3-small", input_per_1k=0.00002),
    ),
    EnvProvider(
        name="anthropic",
        variable="ANTHROPIC_API_KEY",
        connector="anthropic",
        base_url_variable="ANTHROPIC_BASE_URL",
        chat=EnvModel(name="claude-haiku-4-5", input_per_1k=0.001, output_per_1k=0.005),
    ),
    EnvProvider(
        name="groq",
        variable="GROQ_API_KEY",
        connector="openai-compatible",
        preset="groq",
        chat=EnvModel(name="llama-3.3-70b-versatile", input_per_1k=0.00059, output_per_1k=0.00079),
    ),
    EnvProvider(
        name="mistral",
        variable="MISTRAL_API_KEY",
        connector="openai-compatible",
        preset="mistral",
        chat=EnvModel(name="mistral-small-latest"),
        embeddings=EnvModel(name="mistral-embed"),
    ),
    EnvProvider(
        name="deepseek",
        variable="DEEPSEEK_API_KEY",
        connector="openai-compatible",
        preset="deepseek",
        chat=EnvModel(name="deepseek-chat"),
    ),
    EnvProvider(
        name="together",
        variable="TOGETHER_API_KEY",
        connector="openai-compatible",
        preset="together",
        chat=EnvModel(
            name="meta-llama/Llama-3.3-70B-Instruct-Turbo",
            alias="llama-3.3-70b-instruct-turbo",
            input_per_1k=0.00088,
            output_per_1k=0.00088,
        ),
    ),
    EnvProvider(
        name="openrouter",
        variable="OPENROUTER_API_KEY",
        connector="openai-compatible",
        preset="openrouter",
        chat=EnvModel(name="openrouter/auto", alias="auto"),
    ),
    EnvProvider(
        name="xai",
        variable="XAI_API_KEY",
        connector="openai-compatible",
        preset="xai",
        chat=EnvModel(name="grok-3-mini", input_per_1k=0.0003, output_per_1k=0.0005),
    ),
    EnvProvider(
        name="ollama",
        variable="OLLAMA_HOST",
        connector="openai-compatible",
        preset="ollama",
        is_host=True,
        # Local models cost nothing per token.
        chat=EnvModel(name="llama3.2", input_per_1k=0.0, output_per_1k=0.0),
        embeddings=EnvModel(name="nomic-embed-text", input_per_1k=0.0, output_per_1k=0.0),
    ),
)


def environment_variables() -> tuple[str, ...]:
    """Every variable that adds a provider, in order."""
    return tuple(p.variable for p in ENV_PROVIDERS)


def config_from_env(env: Mapping[str, str], *, embeddings: bool = True) -> dict[str, Any]:
    """The mesh configuration for the providers whose variables are set in ``env``.

    Raises ConfigError naming the variables when none is set. With ``embeddings=False``
    no ``embed`` pool is built.
    """
    found = [p for p in ENV_PROVIDERS if env.get(p.variable, "").strip()]
    if not found:
        names = ", ".join(p.variable for p in ENV_PROVIDERS if not p.is_host)
        raise ConfigError(
            f"no provider API key is set; set one of {names} "
            "(or OLLAMA_HOST for a local Ollama server), or use a configuration file "
            "(see docs/configuration.md)",
            source=SOURCE,
        )
    providers: dict[str, Any] = {}
    models: dict[str, Any] = {}
    chat: list[str] = []
    embed: list[str] = []
    for provider in found:
        config = _provider_config(provider, env)
        providers[provider.name] = {"connector": provider.connector, "config": config}
        chat_id = provider.model_id(provider.chat)
        models[chat_id] = _model(provider, provider.chat, CHAT_CAPABILITY)
        chat.append(chat_id)
        if embeddings and provider.embeddings is not None:
            embed_id = provider.model_id(provider.embeddings)
            models[embed_id] = _model(provider, provider.embeddings, EMBEDDINGS_CAPABILITY)
            embed.append(embed_id)
    pools: dict[str, Any] = {"chat": _pool(chat)}
    if embed:
        pools["embed"] = _pool(embed)
    return {"providers": providers, "models": models, "pools": pools}


def _provider_config(provider: EnvProvider, env: Mapping[str, str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if provider.preset is not None:
        config["preset"] = provider.preset
    if provider.is_host:
        config["base_url"] = ollama_base_url(env[provider.variable])
    else:
        config["api_key"] = f"${{secrets:{provider.variable}}}"
    override = env.get(provider.base_url_variable or "", "").strip()
    if override:
        config["base_url"] = override.rstrip("/")
    return config


def _model(provider: EnvProvider, model: EnvModel, capability: str) -> dict[str, Any]:
    out: dict[str, Any] = {"provider": provider.name, "name": model.name, "capabilities": [capability]}
    pricing = model.pricing()
    if pricing is not None:
        out["pricing"] = pricing
    return out


def _pool(members: list[str]) -> dict[str, Any]:
    return {
        "models": members,
        "rotation": {
            "connector": "stick-until-failure",
            "config": {"failure_threshold": 3, "cooldown": "60s"},
        },
    }


def ollama_base_url(host: str) -> str:
    """The OpenAI-compatible URL of an Ollama server, from ``OLLAMA_HOST`` as Ollama reads it.

    ``OLLAMA_HOST`` may be ``host``, ``host:port`` or a URL; the port defaults to 11434, and
    the bind-everything address ``0.0.0.0`` is reached on loopback.
    """
    value = host.strip()
    if "://" not in value:
        value = f"http://{value}"
    parts = urlsplit(value)
    hostname = parts.hostname or "127.0.0.1"
    if hostname in ("0.0.0.0", "::"):
        hostname = "127.0.0.1"
    if ":" in hostname:
        hostname = f"[{hostname}]"
    port = parts.port or 11434
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{hostname}:{port}{path}/v1"
