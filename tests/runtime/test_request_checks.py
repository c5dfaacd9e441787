"""Requests are checked before they are routed: misspelt keywords, messages that are not a list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from runtime_helpers import USER, mock, two_provider_config

from meshkit import CompletionRequest, SyncMesh
from meshkit.runtime.mesh import Mesh
from meshkit.runtime.request_checks import REQUEST_FIELDS
from meshkit.testing import FakeClock


@pytest.fixture
async def mesh(clock: FakeClock) -> AsyncIterator[Mesh]:
    async with Mesh.from_config(two_provider_config(), clock=clock) as running:
        yield running


def nothing_was_sent(mesh: Mesh) -> bool:
    return mock(mesh, "a").calls == [] and mock(mesh, "b").calls == []


@pytest.mark.anyio
async def test_a_misspelt_keyword_is_a_type_error_that_suggests_the_name(mesh: Mesh) -> None:
    with pytest.raises(
        TypeError, match=r"unexpected keyword argument 'temprature'; did you mean 'temperature'\?"
    ):
        await mesh.complete(model="chat", messages=USER, temprature=0.2)
    with pytest.raises(TypeError, match=r"'max_token'; did you mean 'max_tokens'\?"):
        await mesh.complete(model="chat", messages=USER, max_token=5)
    assert nothing_was_sent(mesh)


@pytest.mark.anyio
async def test_a_keyword_like_nothing_known_names_extra_for_provider_fields(mesh: Mesh) -> None:
    with pytest.raises(TypeError) as caught:
        await mesh.complete(model="chat", messages=USER, zzzz=1)
    assert "did you mean" not in str(caught.value)
    assert "extra={'zzzz': ...}" in str(caught.value)


@pytest.mark.anyio
async def test_stream_and_select_check_their_keywords_too(mesh: Mesh) -> None:
    with pytest.raises(TypeError, match="did you mean 'top_p'"):
        async for _ in mesh.stream(model="chat", messages=USER, topp=0.5):
            pass
    with pytest.raises(TypeError, match="did you mean 'session_id'"):
        mesh.select("chat", USER, sesion_id="abc")
    assert nothing_was_sent(mesh)


@pytest.mark.anyio
async def test_messages_as_a_string_says_messages_are_a_list_of_dicts(mesh: Mesh) -> None:
    with pytest.raises(TypeError) as caught:
        await mesh.complete(model="chat", messages="hi")  # type: ignore[arg-type]
    message = str(caught.value)
    assert "messages must be a list of {'role': ..., 'content': ...} dicts, got str 'hi'" in message
    assert "messages=[{'role': 'user', 'content': 'hi'}]" in message  # the fix, spelled out


@pytest.mark.anyio
async def test_one_message_dict_not_in_a_list_is_refused(mesh: Mesh) -> None:
    with pytest.raises(TypeError) as caught:
        await mesh.complete(model="chat", messages={"role": "user", "content": "hi"})  # type: ignore[arg-type]
    assert "messages must be a list" in str(caught.value)
    assert "got dict; for example messages=[{'role': ..., 'content': ...}]" in str(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        (["hi"], r"messages\[0\]: a message is a \{'role': \.\.\., 'content': \.\.\.\} dict, got str 'hi'"),
        ([USER[0], {"content": "no role"}], r"messages\[1\]: a message needs a 'role' string"),
        ([{"role": 1, "content": "x"}], r"messages\[0\]: a message needs a 'role' string"),
        ([{"role": "user", "content": 42}], r"messages\[0\]: message content must be a string or a list"),
    ],
)
async def test_a_bad_message_is_named_by_its_position(mesh: Mesh, messages: Any, expected: str) -> None:
    with pytest.raises(TypeError, match=expected):
        await mesh.complete(model="chat", messages=messages)
    assert nothing_was_sent(mesh)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"max_tokens": "5"}, "max_tokens must be a positive integer, got str '5'"),
        ({"max_tokens": 0}, "max_tokens must be a positive integer, got int 0"),
        ({"max_tokens": True}, "max_tokens must be a positive integer, got bool True"),
        ({"temperature": "0.2"}, "temperature must be a number, got str '0.2'"),
        ({"stop": ["\n", 3]}, "stop must be a string or a list of strings, got list"),
        ({"tools": {"type": "function"}}, "tools must be a list of tool definitions"),
        ({"response_format": "json"}, "response_format must be a dict"),
        ({"session_id": 7}, "session_id must be a string, got int 7"),
        ({"timeout": -1}, "timeout must be a positive number of seconds"),
        ({"deadline": "10s"}, "deadline must be a positive number of seconds, got str '10s'"),
        ({"extra": ["top_k", 3]}, "extra must be a dict of fields for the provider, got list"),
    ],
)
async def test_a_value_of_the_wrong_type_is_named(mesh: Mesh, params: dict[str, Any], expected: str) -> None:
    with pytest.raises(TypeError) as caught:
        await mesh.complete(model="chat", messages=USER, **params)
    assert expected in str(caught.value)
    assert nothing_was_sent(mesh)


@pytest.mark.anyio
async def test_fields_reach_the_provider_normalised(mesh: Mesh) -> None:
    await mesh.complete(
        model="chat",
        messages=USER,
        stop="\n",
        max_completion_tokens=7,
        seed=3,
        presence_penalty=0.5,
        extra={"top_k": 4},
        temperature=None,  # None is "not set", as for the request's own defaults
    )
    (request,) = mock(mesh, "a").calls
    assert request.stop == ("\n",)
    assert request.max_tokens == 7  # OpenAI's newer name for max_tokens
    assert request.temperature is None
    assert dict(request.extra) == {"seed": 3, "presence_penalty": 0.5, "top_k": 4}


def test_every_request_field_is_checked() -> None:
    # A field added to CompletionRequest must be added to the checks, or it could not be given.
    fields = {a.name for a in attrs.fields(CompletionRequest)} - {"messages", "model", "extra"}
    assert set(REQUEST_FIELDS) == fields


def test_sync_mesh_raises_the_same_errors_from_complete_and_stream() -> None:
    with SyncMesh.from_config(two_provider_config()) as mesh:
        with pytest.raises(TypeError, match="did you mean 'temperature'"):
            mesh.complete(model="chat", messages=USER, temprature=0.2)
        with pytest.raises(TypeError, match="messages must be a list"):
            list(mesh.stream(model="chat", messages="hi"))  # type: ignore[arg-type]
        assert mesh.complete(model="chat", messages=USER, temperature=0.2).text
