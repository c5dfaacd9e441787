"""The meshkit conformance suite, run against this package's connector.

Every standard test of the {{ cookiecutter.connector_type.replace('_', ' ') }} suite is inherited. The suite
builds the connector from the spec the plugin's ``meshkit_conformance`` hook returns
(see conformance.py). To mark a standard test as not applying, give the spec a
``skips`` entry, or override the test with ``@pytest.mark.xfail(reason=...)``:
quietly dropping one makes ``test_standard_tests_are_not_overridden`` fail.
"""

from __future__ import annotations

from meshkit.testing import {{ cookiecutter.__suite_class }}

from {{ cookiecutter.__package_name }} import {{ cookiecutter.__class_name }}


class Test{{ cookiecutter.__class_name }}Conformance({{ cookiecutter.__suite_class }}):
    """Every standard {{ cookiecutter.connector_type.replace('_', ' ') }} test, for this package's connector."""

    connector_class = {{ cookiecutter.__class_name }}
