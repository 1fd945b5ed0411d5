"""CRM fixtures: the local fake HubSpot, and HubSpot connected to it (tokens as the API stores them)."""

from __future__ import annotations

import pytest

from hubbub.crm import hubspot_connection

from .fake_hubspot import FakeHubSpot


@pytest.fixture
def fake(settings):  # type: ignore[no-untyped-def]
    """The fake, as the operator would configure it: HubSpot's address, opened in the outbound allow-list."""
    with FakeHubSpot() as f:
        settings.HUBSPOT_API_URL = f.url
        settings.OUTBOUND_ALLOW = [f.url.removeprefix("http://")]
        yield f


@pytest.fixture
def connected(acme, scope_of, fake):  # type: ignore[no-untyped-def]
    admin = scope_of(acme["users"]["admin"])
    return hubspot_connection.connect_hubspot(
        admin,
        {
            "access_token": fake.access_token,
            "refresh_token": fake.refresh_token,
            "client_id": "app",
            "client_secret": "secret",
        },
    )
