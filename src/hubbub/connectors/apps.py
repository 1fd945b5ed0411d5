from importlib import import_module

from django.apps import AppConfig

# The network modules under hubbub.connectors; each registers its connector when imported. Add yours here.
NETWORK_MODULES: tuple[str, ...] = ("email", "mastodon", "bluesky", "feeds", "x", "meta")


class ConnectorsConfig(AppConfig):
    name = "hubbub.connectors"
    label = "connectors"

    def ready(self) -> None:
        """Import every network module, so the registry is complete before the polling loop or delivery asks
        it. A module that fails to import stops the start-up with its error instead of leaving a network
        quietly unconnected."""
        for module in NETWORK_MODULES:
            import_module(f"hubbub.connectors.{module}")
