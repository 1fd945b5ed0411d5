"""Settings → Channels: an admin connects a Bluesky account (app password, optional search) and follows feeds;
each is tested before it is saved, refused with the reason, and only admins may do it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from hubbub.connectors.models import Channel
from hubbub.inbox.models import Message
from hubbub.ingest.channel_intake import poll_channel_now
from hubbub.tenancy.models import AuditEvent
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.feeds import FakeFeedSite

pytestmark = pytest.mark.django_db
APP_PASSWORD = "abcd-efgh-ijkl-mnop"


@pytest.fixture
def fakes(settings: Any) -> Iterator[tuple[FakeBluesky, FakeFeedSite]]:
    with FakeBluesky() as pds, FakeFeedSite() as site:
        pds.add_account("acme-air.bsky.social", password=APP_PASSWORD, display_name="Acme Air")
        settings.OUTBOUND_ALLOW = [f"127.0.0.1:{pds.port}", f"127.0.0.1:{site.port}"]
        yield pds, site  # type: ignore[misc]


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _bluesky(client: Client, acme: dict[str, Any], pds: FakeBluesky, password: str = APP_PASSWORD) -> str:
    form = {
        "brand": acme["brands"]["Acme Air"].pk,
        "handle": "@Acme-Air.bsky.social",
        "app_password": password,
        "service": pds.url,
        "search": "acme baggage",
    }
    return client.post("/settings/channels/bluesky/", form, follow=True).content.decode()


def test_an_admin_connects_bluesky_and_the_session_is_kept_not_shown(acme, fakes) -> None:  # type: ignore[no-untyped-def]
    pds, _ = fakes
    page = _bluesky(signed_in(acme["users"]["admin"]), acme, pds)

    channel = Channel.objects.get(network="bluesky")
    assert channel.name == "@acme-air.bsky.social"
    assert "Connected @acme-air.bsky.social on Bluesky (127.0.0.1) to Acme Air" in page
    assert APP_PASSWORD not in page and "••••mnop" in page
    creds = channel.credentials
    assert creds["search"] == "acme baggage" and creds["did"].startswith("did:plc:") and creds["session"]
    assert creds["session"] not in page
    assert AuditEvent.objects.filter(verb="channel.connected", actor=acme["users"]["admin"]).exists()
    assert poll_channel_now(channel).ok
    assert pds.sessions_created == 1  # the session made while connecting is the one the poll used


def test_the_account_password_or_a_refused_one_is_not_saved(acme, fakes) -> None:  # type: ignore[no-untyped-def]
    pds, _ = fakes
    admin = signed_in(acme["users"]["admin"])
    assert "That is not an app password" in _bluesky(admin, acme, pds, password="hunter2-my-real-password")
    assert "Bluesky refused the app password of @acme-air.bsky.social" in _bluesky(
        admin, acme, pds, password="zzzz-zzzz-zzzz-zzzz"
    )
    assert not Channel.objects.exists() and pds.sessions_created == 0


def test_an_admin_follows_a_forum_feed_with_keywords(acme, fakes) -> None:  # type: ignore[no-untyped-def]
    _, site = fakes
    url = site.serve_file("/latest.rss", "discourse-latest.rss") + "?api_key=s3cret-token"
    form = {"brand": acme["brands"]["Acme Air"].pk, "network": "forum", "url": url, "keywords": "acme -rail"}
    page = signed_in(acme["users"]["admin"]).post("/settings/channels/feed/", form, follow=True).content.decode()

    channel = Channel.objects.get(network="forum")
    assert channel.name == "127.0.0.1/latest.rss"  # the private token of the address is not the channel's name
    assert "Connected FlyerTalk Community - Latest topics (4 entries) at 127.0.0.1 to Acme Air" in page
    assert "s3cret-token" not in page and "/latest.rss?••••" in page
    poll_channel_now(channel)
    assert list(Message.objects.values_list("external_id", flat=True)) == ["community.flyers.example-topic-9812"]


@pytest.mark.parametrize(
    ("url", "keywords", "reason"),
    [
        ("http://10.0.0.7/feed", "", "The feed address cannot be used: this address is not allowed: private network"),
        ("SITE/latest.rss", "(acme OR", "keyword filter is not a valid query"),
        ("SITE/nothing-here", "", "The feed is not at this address any more (HTTP 404)"),
    ],
)
def test_a_feed_that_cannot_be_followed_is_refused_with_the_reason(acme, fakes, url, keywords, reason) -> None:  # type: ignore[no-untyped-def]
    _, site = fakes
    site.serve_file("/latest.rss", "discourse-latest.rss")
    form = {"brand": acme["brands"]["Acme Air"].pk, "network": "forum", "url": url.replace("SITE", site.url)}
    form["keywords"] = keywords
    page = signed_in(acme["users"]["admin"]).post("/settings/channels/feed/", form, follow=True).content.decode()
    assert reason in page
    assert not Channel.objects.exists()


def test_only_admins_connect_bluesky_or_feeds(acme, fakes) -> None:  # type: ignore[no-untyped-def]
    pds, site = fakes
    supervisor = signed_in(acme["users"]["supervisor"])
    form = {"brand": acme["brands"]["Acme Air"].pk, "network": "rss", "url": site.serve_file("/f", "reviews.atom")}
    assert supervisor.post("/settings/channels/feed/", form).status_code == 403
    _bluesky(supervisor, acme, pds)
    assert not Channel.objects.exists() and pds.requests == [] and site.requests == []
