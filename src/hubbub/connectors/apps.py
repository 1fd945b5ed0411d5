from importlib import import_module
from importlib.util import find_spec

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured

# The network modules under hubbub.connectors; each registers its connector when imported. Add yours here.
NETWORK_MODULES: tuple[str, ...] = ("email", "feeds", "x", "meta")
# Networks whose module (and client library) is imported the first time a channel of theirs is polled or
# answered, with the library each needs: network → (module, library).
DEFERRED_MODULES: dict[str, tuple[str, str]] = {
    "mastodon": ("mastodon", "mastodon"),
    "bluesky": ("bluesky", "atproto_client"),
}


class ConnectorsConfig(AppConfig):
    name = "hubbub.connectors"
    label = "connectors"

    def ready(self) -> None:
        """Import every network module, or check that a deferred one's library is installed, so a missing
        piece stops the start-up with its reason instead of leaving a network quietly unconnected."""
        from hubbub.connectors.base import defer

        for module in NETWORK_MODULES:
            import_module(f"hubbub.connectors.{module}")
        for network, (module, library) in DEFERRED_MODULES.items():
            if find_spec(library) is None:
                raise ImproperlyConfigured(f"the {network} connector needs {library}: pip install hubbub again")
            defer(network, f"hubbub.connectors.{module}")
