"""The Mastodon sandbox server for a test, with the brand's account and loopback opened to the outbound client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hubbub.connectors.sandbox.mastodon_fake import MastodonFake

TOKEN = "brand-token-0123456789"


@contextmanager
def sandbox_server(settings: Any) -> Iterator[MastodonFake]:
    """A running sandbox where @AcmeAir (token `TOKEN`) is the brand's account; `settings` is pytest-django's."""
    with MastodonFake(brand_username="AcmeAir") as server:
        server.state.add_account("AcmeAir", "Acme Air", token=TOKEN)
        settings.OUTBOUND_ALLOW = [f"127.0.0.1:{server.httpd.server_address[1]}"]
        yield server
