"""The Mastodon sandbox server for a test, with the brand's account and loopback opened to the outbound client.

Test modules import the fixtures `fake` (the running server) and `channel` (Acme Air's channel on it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from hubbub.connectors.models import Channel
from hubbub.connectors.sandbox.mastodon_fake import MastodonFake

TOKEN = "brand-token-0123456789"


@contextmanager
def sandbox_server(settings: Any) -> Iterator[MastodonFake]:
    """A running sandbox where @AcmeAir (token `TOKEN`) is the brand's account; `settings` is pytest-django's."""
    with MastodonFake(brand_username="AcmeAir") as server:
        server.state.add_account("AcmeAir", "Acme Air", token=TOKEN)
        settings.OUTBOUND_ALLOW = [f"127.0.0.1:{server.httpd.server_address[1]}"]
        yield server


def sandbox_channel(org_fixture: dict[str, Any], server: MastodonFake) -> Channel:
    """Acme Air's Mastodon channel on the sandbox (`org_fixture` is conftest's `acme`)."""
    brand = org_fixture["brands"]["Acme Air"]
    channel = Channel(organization=org_fixture["org"], brand=brand, network="mastodon", name="@AcmeAir")
    channel.credentials = {"base_url": server.url, "access_token": TOKEN}
    channel.save()
    return channel


@pytest.fixture
def fake(settings: Any) -> Iterator[MastodonFake]:
    with sandbox_server(settings) as server:
        yield server


@pytest.fixture
def channel(acme: dict[str, Any], fake: MastodonFake) -> Channel:
    return sandbox_channel(acme, fake)
