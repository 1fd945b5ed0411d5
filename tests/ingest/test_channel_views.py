"""Settings → Channels: admins connect a Mastodon account (tested before it is saved), see each channel's
health with secrets masked, test and disconnect it; a channel needing reconnection is shown on every page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.connectors.sandbox.mastodon_fake import MastodonFake
from hubbub.ingest.channel_intake import poll_channel_now
from hubbub.tenancy.models import AuditEvent
from tests.connectors import mastodon_sandbox
from tests.connectors.mastodon_sandbox import TOKEN

pytestmark = pytest.mark.django_db
# The sandbox fixtures, shared with the other tests that talk to it.
fake = mastodon_sandbox.fake


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def connect(client: Client, acme: dict[str, Any], fake: MastodonFake, token: str = TOKEN) -> Any:
    brand = acme["brands"]["Acme Air"]
    form = {"brand": brand.pk, "base_url": fake.url, "access_token": token}
    return client.post("/settings/channels/mastodon/", form, follow=True)


def test_an_admin_connects_a_mastodon_account_and_sees_it_healthy(acme, fake):  # type: ignore[no-untyped-def]
    admin = signed_in(acme["users"]["admin"])
    page = connect(admin, acme, fake).content.decode()

    channel = Channel.objects.get(network="mastodon")
    host = fake.url.removeprefix("http://")
    assert channel.name == f"@AcmeAir@{host}" and channel.credentials["access_token"] == TOKEN
    assert f"Connected @AcmeAir on {host} to Acme Air" in page
    assert "Connected</span>" in page
    assert "••••6789" in page and TOKEN not in page  # the secret is never shown
    assert AuditEvent.objects.filter(verb="channel.connected", actor=acme["users"]["admin"]).exists()


def test_a_refused_token_is_not_saved_and_the_admin_is_told_why(acme, fake):  # type: ignore[no-untyped-def]
    page = connect(signed_in(acme["users"]["admin"]), acme, fake, token="wrong-token-000000").content.decode()

    assert not Channel.objects.exists()
    assert "The account could not be used: Mastodon refused the access token (401)" in page


def test_a_private_address_is_refused_as_instance_url(acme):  # type: ignore[no-untyped-def]
    admin = signed_in(acme["users"]["admin"])
    form = {"brand": acme["brands"]["Acme Air"].pk, "base_url": "http://169.254.169.254", "access_token": TOKEN}
    page = admin.post("/settings/channels/mastodon/", form, follow=True).content.decode()

    assert not Channel.objects.exists()
    assert "The instance URL cannot be used" in page


def test_only_admins_manage_channels(acme, fake):  # type: ignore[no-untyped-def]
    supervisor = signed_in(acme["users"]["supervisor"])
    assert supervisor.get("/settings/channels/").status_code == 403
    assert connect(supervisor, acme, fake).status_code == 403
    assert not Channel.objects.exists()
    assert "/settings/channels/" not in supervisor.get("/").content.decode()


def test_a_revoked_token_shows_reconnect_needed_on_the_page_and_in_the_nav(acme, fake):  # type: ignore[no-untyped-def]
    admin = signed_in(acme["users"]["admin"])
    connect(admin, acme, fake)
    fake.state.revoke(TOKEN)
    poll_channel_now(Channel.objects.get())

    page = admin.get("/settings/channels/").content.decode()
    assert "1 channel needs reconnecting." in page
    assert "Reconnect needed" in page and "Mastodon refused the access token (401)" in page
    assert "1 to reconnect" in admin.get("/").content.decode()  # the navigation, on any page

    fake.state.add_account("AcmeAir", token="fresh-token-987654321")
    connect(admin, acme, fake, token="fresh-token-987654321")  # reconnecting repairs it
    channel = Channel.objects.get()
    assert channel.status == ChannelStatus.CONNECTED and channel.last_error == ""
    assert "to reconnect" not in admin.get("/settings/channels/").content.decode()


def test_test_connection_and_disconnect(acme, fake):  # type: ignore[no-untyped-def]
    admin = signed_in(acme["users"]["admin"])
    connect(admin, acme, fake)
    channel = Channel.objects.get()

    page = admin.post(f"/settings/channels/{channel.pk}/check/", follow=True).content.decode()
    assert "connection works (@AcmeAir on" in page

    page = admin.post(f"/settings/channels/{channel.pk}/disconnect/", follow=True).content.decode()
    channel.refresh_from_db()
    assert not channel.is_active and channel.credentials == {}
    assert "Disconnected</span>" in page
    assert AuditEvent.objects.filter(verb="channel.disconnected").exists()


def test_another_organisations_channel_is_not_found(acme, make_org, fake):  # type: ignore[no-untyped-def]
    other = make_org("globex", brands=("Globex",))
    theirs = Channel.objects.create(organization=other["org"], brand=other["brands"]["Globex"], network="mastodon")
    admin = signed_in(acme["users"]["admin"])

    assert admin.post(f"/settings/channels/{theirs.pk}/disconnect/").status_code == 404
    assert "Globex" not in admin.get("/settings/channels/").content.decode()
    theirs.refresh_from_db()
    assert theirs.is_active


def test_with_no_channels_the_page_says_what_to_do(acme):  # type: ignore[no-untyped-def]
    page = signed_in(acme["users"]["admin"]).get("/settings/channels/").content.decode()
    assert "No channels yet" in page and "Connect a Mastodon account" in page


def test_a_spent_rate_limit_shows_with_its_reset_time(acme):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from hubbub.connectors import polling
    from hubbub.connectors.base import ChannelError
    from hubbub.connectors.polling import Fetched

    brand = acme["brands"]["Acme Air"]
    channel = Channel.objects.create(organization=acme["org"], brand=brand, network="mastodon", name="@acme")
    limited = ChannelError("Mastodon's rate limit is used up.", retry_after=1800, rate_limited=True)
    polling.record(Fetched(channel, error=limited), lambda ch, evs: 0, datetime(2026, 3, 2, 12, 0, tzinfo=UTC))

    page = signed_in(acme["users"]["admin"]).get("/settings/channels/").content.decode()
    row = page[page.index(f'id="channel-{channel.pk}"') :]
    assert "0 left" in row and "(polling waits)" in row
    assert "resets 12:30" in row and "Mastodon&#x27;s rate limit is used up." in row


def test_a_poll_interval_below_the_tick_is_explained(acme, settings):  # type: ignore[no-untyped-def]
    settings.CHANNEL_POLL_SECONDS = 20
    page = signed_in(acme["users"]["admin"]).get("/settings/channels/").content.decode()
    assert "polled every minute" in page
    assert "HUBBUB_CHANNEL_POLL_SECONDS is 20 s, but the worker's schedule ticks once a minute" in page
