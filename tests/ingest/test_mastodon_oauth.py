"""Connecting Mastodon by OAuth on Settings → Channels: Hubbub registers itself on the instance (the sandbox),
the admin authorizes it there and comes back connected; a forged or replayed callback connects nothing."""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.connectors.sandbox.mastodon_fake import MastodonFake
from hubbub.tenancy.models import AuditEvent
from tests.connectors import mastodon_sandbox

pytestmark = pytest.mark.django_db
# The sandbox fixture, shared with the other tests that talk to it.
fake = mastodon_sandbox.fake


def start(client: Client, acme: dict[str, Any], fake: MastodonFake) -> str:
    """Press "Sign in with Mastodon"; returns where Hubbub sends the browser."""
    form = {"brand": acme["brands"]["Acme Air"].pk, "base_url": fake.url}
    answer = client.post("/settings/channels/mastodon/authorize/", form)
    assert answer.status_code == 302, answer.content[:500]
    return str(answer["Location"])


def authorize_on_the_instance(authorize_url: str) -> str:
    """The brand's owner presses Authorize on the instance's page; returns where the instance sends them."""
    parts = urlsplit(authorize_url)
    params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    conn = http.client.HTTPConnection(parts.netloc, timeout=10)
    conn.request("GET", f"{parts.path}?{parts.query}")
    page = conn.getresponse().read().decode()
    assert "would like to use the account @AcmeAir" in page
    body = urlencode({k: params.get(k, "") for k in ("client_id", "redirect_uri", "state", "scope")})
    conn.request("POST", "/oauth/authorize", body, {"Content-Type": "application/x-www-form-urlencoded"})
    back = conn.getresponse()
    back.read()
    return str(back.getheader("Location"))


def test_an_admin_connects_mastodon_by_signing_in_on_the_instance(acme, fake):  # type: ignore[no-untyped-def]
    admin = Client()
    admin.force_login(acme["users"]["admin"])

    authorize_url = start(admin, acme, fake)
    assert authorize_url.startswith(f"{fake.url}/oauth/authorize?")
    back = urlsplit(authorize_on_the_instance(authorize_url))
    assert back.path == "/settings/channels/mastodon/callback/"
    page = admin.get(f"{back.path}?{back.query}", follow=True).content.decode()

    channel = Channel.objects.get(network="mastodon")
    assert channel.status == ChannelStatus.CONNECTED
    assert "Connected @AcmeAir on" in page
    assert AuditEvent.objects.filter(verb="channel.connected", actor=acme["users"]["admin"]).exists()
    assert list(fake.state.apps.values())[0].scopes == "read:accounts read:notifications read:statuses write:statuses"


def test_a_callback_with_another_state_connects_nothing(acme, fake):  # type: ignore[no-untyped-def]
    admin = Client()
    admin.force_login(acme["users"]["admin"])
    back = urlsplit(authorize_on_the_instance(start(admin, acme, fake)))
    forged = {**{k: v[-1] for k, v in parse_qs(back.query).items()}, "state": "not-the-one-hubbub-gave"}

    page = admin.get(f"{back.path}?{urlencode(forged)}", follow=True).content.decode()

    assert not Channel.objects.exists()
    assert "This authorization was not started here, or has expired" in page
    replay = admin.get(f"{back.path}?{back.query}", follow=True).content.decode()  # the pending one is spent
    assert not Channel.objects.exists() and "was not started here" in replay


def test_only_admins_may_start_it(acme, fake):  # type: ignore[no-untyped-def]
    agent = Client()
    agent.force_login(acme["users"]["agent"])
    form = {"brand": acme["brands"]["Acme Air"].pk, "base_url": fake.url}
    assert agent.post("/settings/channels/mastodon/authorize/", form).status_code == 403
    assert fake.state.apps == {}
