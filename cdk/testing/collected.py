"""The module ``pytest --connector=...`` collects: one test class per connector type.

The plugin parametrizes ``conformance_target`` of each class with the connectors of
that class's type named on the command line.
"""

from __future__ import annotations

from .discovery_suite import DiscoverySuite
from .observability_suite import ObservabilitySuite
from .provider_suite import ProviderSuite
from .rotation_suite import RotationSuite
from .secret_store_suite import SecretStoreSuite
from .storage_suite import StorageSuite


class TestProviderConformance(ProviderSuite):
    """The provider suite, for each provider named with --connector."""


class TestRotationConformance(RotationSuite):
    """The rotation-policy suite, for each policy named with --connector."""


class TestSecretStoreConformance(SecretStoreSuite):
    """The secret-store suite, for each store named with --connector."""


class TestStorageConformance(StorageSuite):
    """The storage suite, for each backend named with --connector."""


class TestObservabilityConformance(ObservabilitySuite):
    """The observability suite, for each connector named with --connector."""


class TestDiscoveryConformance(DiscoverySuite):
    """The discovery suite, for each connector named with --connector."""


#: The collected class for each connector type, by ``ConnectorType`` value.
CLASS_BY_TYPE = {
    suite.connector_type.value: suite
    for suite in (
        TestProviderConformance,
        TestRotationConformance,
        TestSecretStoreConformance,
        TestStorageConformance,
        TestObservabilityConformance,
        TestDiscoveryConformance,
    )
}
