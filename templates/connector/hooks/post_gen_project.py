"""Keep the skeleton of the chosen connector type and drop the others."""

import os
import shutil
from pathlib import Path

CONNECTOR_TYPE = {{ cookiecutter.connector_type | tojson }}
PACKAGE = {{ cookiecutter.__package_name | tojson }}

# Each type's skeleton files, and where they go in the generated project.
PLACES = {
    "connector.py": Path("src", PACKAGE, "connector.py"),
    "conformance.py": Path("src", PACKAGE, "conformance.py"),
    "test_connector.py": Path("tests", "test_connector.py"),
}

skeletons = Path("_skeletons")
for filename, target in PLACES.items():
    os.replace(skeletons / CONNECTOR_TYPE / filename, target)
shutil.rmtree(skeletons)
