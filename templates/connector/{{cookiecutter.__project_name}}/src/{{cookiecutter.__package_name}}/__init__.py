"""{{ cookiecutter.description }}."""

from .connector import {{ cookiecutter.__class_name }}

__all__ = ["{{ cookiecutter.__class_name }}"]
__version__ = "0.1.0"
