"""Connecting Facebook Pages, their Instagram accounts and Threads accounts with Meta's sign-in, against a fake
Graph and Threads API that checks the app's credentials and the redirect URI and uses every code once; a Threads
token is renewed in its last week, and a refused renewal puts the channel in front of the admins."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from hubbub.connectors.base import OutboundReply, connector_for
from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.connectors.outbound import PermanentDeliveryError
from hubbub.ingest.channel_intake import poll_channel_now
from hubbub.ingest.webhook_views import forget_channels
from hubbub.tenancy.models import AuditEvent
from tests.fakes.meta import DAY, LONG_LIVED, FakeGraph
from tests.ingest import oauth_steps
from tests.ingest.oauth_steps import come_back, consent, press, signed_in, start_from_the_page, with_state

pytestmark = pytest.mark.django_db
IG_ID = "17841400000000001"


@pytest.fixture
def graph(settings: Any) -> Iterator[FakeGraph]:
    forget_channels()
    with FakeGraph() as server:
        settings.OUTBOUND_ALLOW = [f"127.0.0.1:{server.port}"]
        settings.META_APP_ID, settings.META_APP_SECRET = server.app
        settings.META_DIALOG_URL = f"{server.url}/v21.0/dialog/oauth"
        settings.META_GRAPH_URL = f"{server.url}/v21.0"
        settings.THREADS_APP_ID, settings.THREADS_APP_SECRET = server.threads_app
        settings.THREADS_AUTHORIZE_URL = f"{server.url}/oauth/authorize"
        settings.THREADS_API_URL = server.url
        server.add_page("101", "Acme Air", "page-token-101", ig_id=IG_ID, ig_username="acme_air")
        server.add_page("102", "Acme Rail", "page-token-102")
        yield server  # type: ignore[misc]
    forget_channels()


def test_an_admin_connects_a_page_and_its_instagram_account(acme: dict[str, Any], graph: FakeGraph) -> None:
    admin = signed_in(acme["users"]["admin"])
    dialog, sent = start_from_the_page(admin, "facebook", "Connect with Facebook", acme["brands"]["Acme Air"].pk)
    assert dialog.startswith(f"{graph.url}/v21.0/dialog/oauth?")
    assert sent["client_id"] == "meta-app-id" and len(sent["state"]) >= 32
    assert sent["scope"].split(",") == [
        "pages_show_list",
        "pages_manage_metadata",
        "pages_read_engagement",
        "pages_manage_engagement",
        "pages_messaging",
        "instagram_basic",
        "instagram_manage_comments",
        "instagram_manage_messages",
    ]

    choose = come_back(admin, consent(dialog))
    assert "Choose a Facebook Page" in choose and "Acme Rail" in choose
    assert "Instagram: @acme_air" in choose and "no Instagram business account linked" in choose
    assert "page-token" not in choose  # the Page tokens stay sealed in the session
    page = admin.post(
        "/settings/channels/facebook/pages/", {"page": "101", "connect": ["facebook", "instagram"]}, follow=True
    ).content.decode()

    assert "Connected Acme Air on Facebook to Acme Air" in page and "Connected Acme Air on Instagram" in page
    facebook, instagram = Channel.objects.get(network="facebook"), Channel.objects.get(network="instagram")
    assert (facebook.name, facebook.account_id, facebook.credentials["access_token"]) == (
        "Acme Air",
        "101",
        "page-token-101",
    )
    assert (instagram.name, instagram.account_id, instagram.credentials["access_token"]) == (
        "@acme_air",
        IG_ID,
        "page-token-101",
    )
    assert AuditEvent.objects.filter(verb="channel.connected", actor=acme["users"]["admin"]).count() == 2
    for channel in (facebook, instagram):
        checked = admin.post(f"/settings/channels/{channel.pk}/check/", follow=True).content.decode()
        assert "connection works" in checked
    again = admin.post("/settings/channels/facebook/pages/", {"page": "102", "connect": ["facebook"]}, follow=True)
    assert "That Page is not one this sign-in listed" in again.content.decode()  # the choice was used up
    assert Channel.objects.count() == 2


def test_instagram_cannot_be_connected_for_a_page_without_one(acme: dict[str, Any], graph: FakeGraph) -> None:
    admin = signed_in(acme["users"]["admin"])
    come_back(admin, consent(press(admin, "facebook", acme["brands"]["Acme Rail"].pk)))

    page = admin.post("/settings/channels/facebook/pages/", {"page": "102", "connect": ["instagram"]}, follow=True)

    assert "Acme Rail has no Instagram business account linked to it" in page.content.decode()
    assert not Channel.objects.exists()


def test_a_facebook_callback_with_a_wrong_or_replayed_state_connects_nothing(
    acme: dict[str, Any], graph: FakeGraph
) -> None:
    admin = signed_in(acme["users"]["admin"])
    callback = consent(press(admin, "facebook", acme["brands"]["Acme Air"].pk))

    assert "was not started here" in come_back(admin, with_state(callback, "forged"))
    assert "was not started here" in come_back(admin, callback)
    assert not any("access_token" in path for _, path in graph.requests)
    assert "No Facebook sign-in is waiting" in come_back(admin, "/settings/channels/facebook/pages/")
    assert not Channel.objects.exists()


def test_only_admins_may_connect_meta_accounts(acme: dict[str, Any], graph: FakeGraph) -> None:
    agent = signed_in(acme["users"]["agent"])
    brand = acme["brands"]["Acme Air"].pk
    for network in ("facebook", "threads"):
        assert agent.post(f"/settings/channels/{network}/authorize/", {"brand": brand}).status_code == 403
    assert agent.get("/settings/channels/facebook/pages/").status_code == 403
    assert agent.post("/settings/channels/facebook/pages/", {"page": "101", "connect": "facebook"}).status_code == 403
    assert graph.dialogs == [] and not Channel.objects.exists()


def test_an_admin_connects_threads(acme: dict[str, Any], graph: FakeGraph) -> None:
    admin = signed_in(acme["users"]["admin"])
    authorize, sent = start_from_the_page(admin, "threads", "Connect Threads", acme["brands"]["Acme Air"].pk)
    assert authorize.startswith(f"{graph.url}/oauth/authorize?")
    assert sent["client_id"] == "threads-app-id" and sent["response_type"] == "code"
    assert sent["scope"] == (
        "threads_basic,threads_content_publish,threads_manage_replies,threads_read_replies,threads_manage_mentions"
    )

    page = come_back(admin, consent(authorize))

    assert "Connected @acme_air on Threads to Acme Air" in page
    channel = Channel.objects.get(network="threads")
    credentials = channel.credentials
    assert (channel.name, channel.account_id) == ("@acme_air", graph.threads_user[0])
    assert credentials["access_token"].startswith("th-long-")  # the long-lived token, not the hour-long one
    assert credentials["expires_at"] - time.time() > 59 * 86400
    assert (
        "connection works (@acme_air on Threads)"
        in admin.post(f"/settings/channels/{channel.pk}/check/", follow=True).content.decode()
    )


def test_a_refused_threads_code_says_why(acme: dict[str, Any], graph: FakeGraph) -> None:
    admin = signed_in(acme["users"]["admin"])
    callback = consent(press(admin, "threads", acme["brands"]["Acme Air"].pk))
    graph.codes.clear()

    page = come_back(admin, callback)

    assert "Threads refused: the code was not accepted (HTTP 400, error code 100)" in page
    assert not Channel.objects.exists()


def test_without_a_meta_app_the_page_says_what_to_set(acme: dict[str, Any], settings: Any) -> None:
    settings.META_APP_ID = settings.THREADS_APP_ID = ""
    page = signed_in(acme["users"]["admin"]).get("/settings/channels/").content.decode()

    assert "HUBBUB_META_APP_ID" in page and "Connect with Facebook" not in page
    assert "HUBBUB_THREADS_APP_ID" in page and "Connect Threads" not in page


def test_the_secrets_in_meta_token_urls_stay_out_of_the_request_log(
    acme: dict[str, Any], graph: FakeGraph, caplog: pytest.LogCaptureFixture
) -> None:
    admin = signed_in(acme["users"]["admin"])
    with caplog.at_level("INFO", logger="httpx"):
        come_back(admin, consent(press(admin, "threads", acme["brands"]["Acme Air"].pk)))

    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "httpx")
    assert "/access_token?" in logged and "client_secret=[redacted]" in logged
    assert "threads-app-secret" not in logged and "th-short-" not in logged


def _threads_channel(acme: dict[str, Any], days_left: int, graph: FakeGraph) -> tuple[Channel, str]:
    """A Threads account connected through the pages, its token issued so long ago that `days_left` remain (by
    Hubbub's count and the fake's): the channel and that token."""
    admin = signed_in(acme["users"]["admin"])
    come_back(admin, consent(press(admin, "threads", acme["brands"]["Acme Air"].pk)))
    channel = Channel.objects.get(network="threads")
    credentials = channel.credentials
    graph.age(credentials["access_token"], LONG_LIVED - days_left * DAY)
    channel.credentials = {**credentials, "expires_at": int(time.time()) + days_left * DAY}
    channel.save()
    return Channel.objects.get(pk=channel.pk), str(credentials["access_token"])


def _answer(post_id: str) -> OutboundReply:
    return OutboundReply(
        "7f1c0000-0000-4000-8000-0000000000b1", "Sorry Erin, we are on it.", "threads", "acme-air", 1, post_id
    )


def test_a_threads_token_in_its_last_week_is_renewed_before_a_send_which_uses_the_new_one(
    acme: dict[str, Any], graph: FakeGraph
) -> None:
    channel, old = _threads_channel(acme, 3, graph)
    graph.add("18000000000000001", "Delayed again", "erin")

    posted = connector_for("threads").send_reply(channel, _answer("18000000000000001"))  # type: ignore[union-attr]

    [answer] = graph.children("18000000000000001")
    assert answer["id"] == posted and answer["text"] == "Sorry Erin, we are on it."
    assert old not in graph.tokens  # the fake ended the old token: the reply was posted with the new one
    calls = [f"{method} {path}" for method, path in graph.requests]
    assert calls.index("GET /refresh_access_token") < calls.index(f"POST /v1.0/{graph.threads_user[0]}/threads")
    credentials = Channel.objects.get(pk=channel.pk).credentials
    assert credentials["access_token"] != old and credentials["access_token"] in graph.threads_long
    assert credentials["expires_at"] - time.time() > 59 * DAY
    assert credentials["access_token"] not in Channel.objects.get(pk=channel.pk).credentials_encrypted


def test_a_quiet_threads_channel_renews_on_a_poll_in_its_last_week_and_not_before(
    acme: dict[str, Any], graph: FakeGraph
) -> None:
    channel, old = _threads_channel(acme, 10, graph)

    assert poll_channel_now(channel).ok
    assert Channel.objects.get(pk=channel.pk).credentials["access_token"] == old
    assert ("GET", "/refresh_access_token") not in graph.requests

    channel, old = _threads_channel(acme, 6, graph)  # connected again, a little older
    assert poll_channel_now(channel).ok
    renewed = Channel.objects.get(pk=channel.pk)
    assert renewed.credentials["access_token"] != old and renewed.status == ChannelStatus.CONNECTED
    assert renewed.credentials["expires_at"] - time.time() > 59 * DAY


def test_a_refused_threads_renewal_asks_the_admins_to_reconnect(acme: dict[str, Any], graph: FakeGraph) -> None:
    channel, _ = _threads_channel(acme, 2, graph)
    graph.threads_long.clear()  # the account removed Hubbub's access on Threads

    outcome = poll_channel_now(channel)

    assert not outcome.ok
    channel = oauth_steps.shows_reconnect_needed(acme["users"]["admin"], channel.pk)
    with pytest.raises(PermanentDeliveryError, match="connect the account again"):
        connector_for("threads").send_reply(channel, _answer("18000000000000001"))  # type: ignore[union-attr]
    assert AuditEvent.objects.filter(verb="channel.reconnect_needed").count() == 1
