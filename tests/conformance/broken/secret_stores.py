"""Secret stores that each get one thing wrong, built on a correct dict store."""

from __future__ import annotations

from typing import Any

from meshkit.enums import SecretStoreFeature
from meshkit.errors import SecretNotFoundError
from meshkit.interfaces.secret_store import SecretStore
from meshkit.types import Secret


class DictSecretStore(SecretStore):
    """Keeps secrets in a dict; the correct control."""

    connector_id = "reference.dict-secrets.v1"
    features = frozenset({SecretStoreFeature.MANAGEMENT})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._values: dict[str, str] = {}

    async def get(self, name: str) -> Secret:
        if name not in self._values:
            raise SecretNotFoundError(name, store=self.connector_id)
        return Secret(self._values[name])

    async def set(self, name: str, value: str | Secret) -> None:
        self._values[name] = value.reveal() if isinstance(value, Secret) else value

    async def delete(self, name: str) -> bool:
        return self._values.pop(name, None) is not None

    async def list(self) -> list[str]:
        return sorted(self._values)


class EmptyForMissing(DictSecretStore):
    """Defect: a missing secret comes back as an empty string."""

    connector_id = "defect.empty-missing.v1"

    async def get(self, name: str) -> Secret:
        return Secret(self._values.get(name, ""))


class ReprShowsValues(DictSecretStore):
    """Defect: its repr, meant for debugging, shows what it holds."""

    connector_id = "defect.repr-leak.v1"

    def __repr__(self) -> str:
        return f"<ReprShowsValues {self._values!r}>"


class StripsValues(DictSecretStore):
    """Defect: strips whitespace off values, changing secrets that have it."""

    connector_id = "defect.strips-values.v1"

    async def get(self, name: str) -> Secret:
        return Secret((await super().get(name)).reveal().strip())


class NewestFirstList(DictSecretStore):
    """Defect: ``list`` gives the newest names first instead of sorted."""

    connector_id = "defect.unsorted-list.v1"

    async def list(self) -> list[str]:
        return list(reversed(self._values))


class KeyErrorForMissing(DictSecretStore):
    """Defect: a missing secret escapes as the dict's KeyError."""

    connector_id = "defect.keyerror-missing.v1"

    async def get(self, name: str) -> Secret:
        return Secret(self._values[name])


class PrintableSecret(Secret):
    """A Secret that prints its value, so that f"Bearer {secret}" works."""

    def __str__(self) -> str:
        return self.reveal()


class PrintsValues(DictSecretStore):
    """Defect: hands out a Secret subclass whose ``str`` is the value."""

    connector_id = "defect.prints-values.v1"

    async def get(self, name: str) -> Secret:
        return PrintableSecret((await super().get(name)).reveal())


class ClaimsManagement(SecretStore):
    """Defect: declares MANAGEMENT (copied from a store that has it) but only reads."""

    connector_id = "defect.claims-management.v1"
    features = frozenset({SecretStoreFeature.MANAGEMENT})

    async def get(self, name: str) -> Secret:
        raise SecretNotFoundError(name, store=self.connector_id)


class Tombstones(DictSecretStore):
    """Defect: ``delete`` leaves a tombstone that ``list`` still shows."""

    connector_id = "defect.tombstones.v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deleted: set[str] = set()

    async def delete(self, name: str) -> bool:
        existed = await super().delete(name)
        if existed:
            self._deleted.add(name)
        return existed

    async def list(self) -> list[str]:
        return sorted(set(self._values) | self._deleted)


CONNECTORS: list[type[Any]] = [
    DictSecretStore,
    EmptyForMissing,
    ReprShowsValues,
    StripsValues,
    NewestFirstList,
    KeyErrorForMissing,
    PrintsValues,
    ClaimsManagement,
    Tombstones,
]
EXPECTED = {
    "defect.empty-missing.v1": "test_missing_secret_raises_secret_not_found",
    "defect.repr-leak.v1": "test_values_never_show",
    "defect.strips-values.v1": "test_get_returns_the_secret",
    "defect.unsorted-list.v1": "test_management_round_trip",
    "defect.keyerror-missing.v1": "test_missing_secret_raises_secret_not_found",
    "defect.prints-values.v1": "test_values_never_show",
    "defect.claims-management.v1": "test_management_round_trip",
    "defect.tombstones.v1": "test_management_round_trip",
}
