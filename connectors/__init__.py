"""meshkit's built-in connectors, registered through the ``meshkit`` entry point like any plugin."""
