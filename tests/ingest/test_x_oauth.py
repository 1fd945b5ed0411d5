"""Connecting X with "Connect X account" (OAuth 2.0 with PKCE) against a fake X that checks the client, the
redirect URI and the code verifier and uses every code once; the token is then kept fresh before it expires,
and a refused renewal puts the channel in front of the admins as "reconnect needed"."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from hubbub.connectors.base import OutboundReply, connector_for
from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.connectors.outbound import PermanentDeliveryError
from hubbub.ingest.channel_intake import poll_channel_now
from hubbub.tenancy.models import AuditEvent
from tests.fakes import s256
from tests.fakes.x import FakeX, User
from tests.ingest import oauth_steps
from tests.ingest.oauth_steps import come_back, consent, press, signed_in, start_from_the_page, with_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(settings: Any) -> Iterator[FakeX]:
    with FakeX() as server:
        settings.OUTBOUND_ALLOW = [f"127.0.0.1:{server.port}"]
        settings.X_CLIENT_ID, settings.X_CLIENT_SECRET = server.client_id, server.client_secret
        settings.X_AUTHORIZE_URL = f"{server.url}/i/oauth2/authorize"
        settings.X_API_URL = server.url
        server.add_user("acmeair", "Acme Air")
        yield server  # type: ignore[misc]


@pytest.fixture
def connected(acme: dict[str, Any], fake: FakeX) -> Channel:
    admin = signed_in(acme["users"]["admin"])
    come_back(admin, consent(press(admin, "x", acme["brands"]["Acme Air"].pk)))
    return Channel.objects.get(network="x")


def test_an_admin_connects_x_and_the_channel_works(acme: dict[str, Any], fake: FakeX) -> None:
    admin = signed_in(acme["users"]["admin"])
    authorize_url, sent = start_from_the_page(admin, "x", "Connect X account", acme["brands"]["Acme Air"].pk)
    assert authorize_url.startswith(f"{fake.url}/i/oauth2/authorize?")
    assert sent["scope"] == "tweet.read tweet.write users.read dm.read dm.write offline.access"
    assert sent["code_challenge_method"] == "S256" and len(sent["state"]) >= 32
    pending = admin.session["oauth_pending:x"]
    assert sent["code_challenge"] == s256(pending["code_verifier"]) != pending["code_verifier"]
    page = come_back(admin, consent(authorize_url))

    assert "Connected @acmeair on X to Acme Air" in page
    channel = Channel.objects.get(network="x")
    brand_user = next(iter(fake.users.values()))
    credentials = channel.credentials
    assert (channel.name, channel.account_id, credentials["user_id"]) == ("@acmeair", brand_user.id, brand_user.id)
    assert credentials["refresh_token"] in fake.refresh_tokens
    assert 7000 < credentials["expires_at"] - time.time() <= 7200
    assert credentials["access_token"] not in channel.credentials_encrypted  # stored encrypted
    assert AuditEvent.objects.filter(verb="channel.connected", actor=acme["users"]["admin"]).exists()
    checked = admin.post(f"/settings/channels/{channel.pk}/check/", follow=True).content.decode()
    assert "connection works (@acmeair on X)" in checked
    alice = fake.add_user("alice")
    fake.tweet(alice, "@acmeair my bag is in Oslo", mentions=(brand_user,))
    assert poll_channel_now(channel).new == 1


def test_a_wrong_or_replayed_state_connects_nothing(acme: dict[str, Any], fake: FakeX) -> None:
    admin = signed_in(acme["users"]["admin"])
    callback = consent(press(admin, "x", acme["brands"]["Acme Air"].pk))

    forged = come_back(admin, with_state(callback, "not-the-state-hubbub-gave"))
    assert "This authorization was not started here, or has expired" in forged
    replayed = come_back(admin, callback)  # the pending authorization was spent by the forged callback
    assert "was not started here" in replayed
    assert not Channel.objects.exists()
    assert not any(path == "/2/oauth2/token" for _, path in fake.requests)


def test_only_admins_may_connect_x(acme: dict[str, Any], fake: FakeX) -> None:
    agent = signed_in(acme["users"]["agent"])
    assert agent.post("/settings/channels/x/authorize/", {"brand": acme["brands"]["Acme Air"].pk}).status_code == 403
    assert agent.get("/settings/channels/x/callback/?code=x-code-1&state=s").status_code == 403
    assert fake.authorizations == [] and not Channel.objects.exists()


def test_a_refused_code_says_why(acme: dict[str, Any], fake: FakeX) -> None:
    admin = signed_in(acme["users"]["admin"])
    callback = consent(press(admin, "x", acme["brands"]["Acme Air"].pk))
    fake.codes.clear()  # X no longer knows the code (it expired, or was used)

    page = come_back(admin, callback)

    assert "X refused: the code or token was not valid (invalid_request)" in page
    assert not Channel.objects.exists()


def test_a_wrong_client_secret_is_named_and_a_cancel_is_said(acme: dict[str, Any], fake: FakeX, settings: Any) -> None:
    admin = signed_in(acme["users"]["admin"])
    settings.X_CLIENT_SECRET = "not-the-secret"
    page = come_back(admin, consent(press(admin, "x", acme["brands"]["Acme Air"].pk)))
    assert "refused Hubbub&#x27;s client id or secret" in page

    fake.deny_next = True
    page = come_back(admin, consent(press(admin, "x", acme["brands"]["Acme Air"].pk)))
    assert "The X account was not connected: the authorization was refused." in page
    assert not Channel.objects.exists()


def test_without_an_x_app_the_page_says_what_to_set(acme: dict[str, Any], settings: Any) -> None:
    settings.X_CLIENT_ID = ""
    admin = signed_in(acme["users"]["admin"])

    page = admin.get("/settings/channels/").content.decode()

    assert "HUBBUB_X_CLIENT_ID" in page and "Connect X account" not in page
    refused = admin.post("/settings/channels/x/authorize/", {"brand": acme["brands"]["Acme Air"].pk}, follow=True)
    assert "X is not set up here" in refused.content.decode()


def _expiring(channel: Channel, fake: FakeX) -> str:
    """The channel's token has a minute left, and X ends it: only a renewed token works."""
    credentials = channel.credentials
    channel.credentials = {**credentials, "expires_at": int(time.time()) + 60}
    channel.save()
    fake.expire(credentials["access_token"])
    return str(credentials["refresh_token"])


def test_a_token_about_to_expire_is_renewed_before_the_poll(connected: Channel, fake: FakeX) -> None:
    old_access, old_refresh = connected.credentials["access_token"], _expiring(connected, fake)
    brand_user: User = next(iter(fake.users.values()))
    fake.tweet(fake.add_user("bob"), "@acmeair flight late", mentions=(brand_user,))

    outcome = poll_channel_now(Channel.objects.get(pk=connected.pk))

    assert outcome.ok and outcome.new == 1
    renewed = Channel.objects.get(pk=connected.pk)
    credentials = renewed.credentials
    assert credentials["access_token"] != old_access and credentials["refresh_token"] != old_refresh
    assert old_refresh not in fake.refresh_tokens  # X rotated it; the new one is the one kept
    assert credentials["refresh_token"] in fake.refresh_tokens
    assert credentials["expires_at"] - time.time() > 7000
    assert renewed.status == ChannelStatus.CONNECTED


def test_a_refused_renewal_asks_the_admins_to_reconnect(acme: dict[str, Any], connected: Channel, fake: FakeX) -> None:
    _expiring(connected, fake)
    fake.refresh_tokens.clear()  # the brand revoked Hubbub's access on X

    outcome = poll_channel_now(Channel.objects.get(pk=connected.pk))

    assert not outcome.ok
    oauth_steps.shows_reconnect_needed(acme["users"]["admin"], connected.pk)


def _reply_to(tweet_id: str) -> OutboundReply:
    return OutboundReply(
        idempotency_key="7f1c0000-0000-4000-8000-0000000000a1",
        text="Sorry about that, we are on it.",
        network="x",
        brand_slug="acme-air",
        conversation_id=1,
        in_reply_to=tweet_id,
        in_reply_to_extra={"tweet_id": tweet_id},
    )


def test_a_send_renews_the_token_first_and_a_refused_renewal_fails_it_for_good(connected: Channel, fake: FakeX) -> None:
    brand_user = next(iter(fake.users.values()))
    asked = fake.tweet(fake.add_user("carol"), "@acmeair refund?", mentions=(brand_user,))
    _expiring(connected, fake)

    posted = connector_for("x").send_reply(Channel.objects.get(pk=connected.pk), _reply_to(asked.id))  # type: ignore[union-attr]

    assert [t.id for t in fake.replies_by(brand_user, asked.id)] == [posted]
    _expiring(Channel.objects.get(pk=connected.pk), fake)
    fake.refresh_tokens.clear()
    with pytest.raises(PermanentDeliveryError, match="connect the account again"):
        connector_for("x").send_reply(Channel.objects.get(pk=connected.pk), _reply_to(asked.id))  # type: ignore[union-attr]
    assert Channel.objects.get(pk=connected.pk).status == ChannelStatus.RECONNECT_NEEDED
    assert AuditEvent.objects.filter(verb="channel.reconnect_needed").count() == 1
