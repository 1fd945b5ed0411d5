"""The Meta connectors (Facebook Pages, Instagram, Threads) against a fake Graph API: each reply lands under the
right parent; a reply the network took before the answer was lost is found, not repeated."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from hubbub.connectors.base import ChannelError, OutboundReply, connector_for
from hubbub.connectors.models import Channel
from hubbub.connectors.outbound import PermanentDeliveryError
from hubbub.ingest.models import RawEvent
from hubbub.ingest.webhook_views import forget_channels
from tests.fakes.meta import FakeGraph, MetaWebhook

SECRET = "meta-app-secret"
PAGE_ID, IG_ID, THREADS_ID = "101", "17841400000000001", "25000000000000001"


@pytest.fixture
def graph(settings: Any) -> Iterator[FakeGraph]:
    settings.META_APP_SECRET = SECRET
    forget_channels()
    with FakeGraph() as server:
        settings.OUTBOUND_ALLOW = [f"127.0.0.1:{server.port}"]
        server.account("page-token", PAGE_ID, "Acme Air")
        server.account("ig-token", IG_ID, "acme_air")
        server.account("threads-token", THREADS_ID, "acme_air")
        yield server  # type: ignore[misc]
    forget_channels()


def _channel(acme: dict[str, Any], graph: FakeGraph, network: str, account_id: str, token: str) -> Channel:
    ch = Channel(
        organization=acme["org"], brand=acme["brands"]["Acme Air"], network=network, name=network, account_id=account_id
    )
    ch.credentials = {"access_token": token, "graph_url": graph.url, "username": "acme_air"}
    ch.save()
    return ch


def _delivered(client: Client, path: str, data: dict[str, Any], external_id: str) -> dict[str, Any]:
    """Deliver a signed notification; the stored event's payload, as delivery will read it."""
    body, headers = MetaWebhook(SECRET).signed(data)
    response = client.post(f"/hooks/{path}/", data=body, content_type="application/json", headers=headers)
    assert response.status_code == 200, response.content
    payload: dict[str, Any] = RawEvent.objects.get(external_id=external_id).payload
    return payload


def _reply(payload: dict[str, Any], text: str) -> OutboundReply:
    return OutboundReply(
        idempotency_key="7f1c0000-0000-4000-8000-000000000002",
        text=text,
        network=payload["network"],
        brand_slug="acme-air",
        conversation_id=1,
        in_reply_to=payload["external_id"],
        in_reply_to_extra=payload["extra"],
        recipient=payload["author_handle"],
    )


@pytest.mark.django_db
def test_page_comment_reply_is_posted_under_the_comment_and_found_again(
    client: Client, acme: dict[str, Any], graph: FakeGraph
) -> None:
    channel = _channel(acme, graph, "facebook", PAGE_ID, "page-token")
    graph.add("101_444", "Our new routes", PAGE_ID)
    graph.add("444_555", "Where is my refund?", "9001", parent="101_444")
    hook = MetaWebhook(SECRET).page_comment(PAGE_ID, "444_555", "101_444", "Where is my refund?", ("9001", "Carla"))
    reply = _reply(_delivered(client, "meta", hook, "444_555"), "Hi Carla, it was sent today.")
    connector = connector_for("facebook")
    assert connector is not None and connector.find_posted(channel, reply) is None

    posted = connector.send_reply(channel, reply)

    [comment] = graph.children("444_555")
    assert comment["id"] == posted and comment["text"] == "Hi Carla, it was sent today." and comment["from"] == PAGE_ID
    assert connector.find_posted(channel, reply) == posted


@pytest.mark.django_db
def test_instagram_comment_reply_goes_to_the_replies_edge(
    client: Client, acme: dict[str, Any], graph: FakeGraph
) -> None:
    channel = _channel(acme, graph, "instagram", IG_ID, "ig-token")
    graph.add("17800000000000001", "photo", IG_ID)
    graph.add("17900000000000001", "Lost my bag!", "9002", parent="17800000000000001")
    hook = MetaWebhook(SECRET).ig_comment(
        IG_ID, "17900000000000001", "17800000000000001", "Lost my bag!", ("9002", "dan")
    )
    reply = _reply(_delivered(client, "instagram", hook, "17900000000000001"), "@dan sorry! DM us your file number.")
    connector = connector_for("instagram")
    assert connector is not None

    posted = connector.send_reply(channel, reply)

    [answer] = graph.children("17900000000000001")
    assert answer["id"] == posted and answer["text"] == "@dan sorry! DM us your file number."
    assert ("POST", "/17900000000000001/replies") in graph.requests
    assert connector.find_posted(channel, reply) == posted


@pytest.mark.django_db
def test_messenger_message_is_answered_with_a_response_message(
    client: Client, acme: dict[str, Any], graph: FakeGraph
) -> None:
    channel = _channel(acme, graph, "facebook", PAGE_ID, "page-token")
    hook = MetaWebhook(SECRET).message("page", PAGE_ID, "9003", "m_abc", "Hello, anyone there?")
    reply = _reply(_delivered(client, "meta", hook, "m_abc"), "Yes! How can we help?")
    connector = connector_for("facebook")
    assert connector is not None

    posted = connector.send_reply(channel, reply)

    assert graph.messages == [{"recipient": "9003", "type": "RESPONSE", "text": "Yes! How can we help?", "id": posted}]


@pytest.mark.django_db
def test_threads_reply_is_a_published_container_answering_the_post(
    client: Client, acme: dict[str, Any], graph: FakeGraph
) -> None:
    channel = _channel(acme, graph, "threads", THREADS_ID, "threads-token")
    graph.add("18000000000000000", "Spring timetable", "acme_air")
    graph.add("18000000000000001", "Delayed again", "erin", parent="18000000000000000")
    hook = MetaWebhook(SECRET).threads_reply(
        THREADS_ID, "18000000000000001", "18000000000000000", "Delayed again", "erin"
    )
    reply = _reply(_delivered(client, "threads", hook, "18000000000000001"), "Sorry Erin, we are on it.")
    connector = connector_for("threads")
    assert connector is not None

    posted = connector.send_reply(channel, reply)

    [answer] = graph.children("18000000000000001")
    assert answer["id"] == posted and answer["text"] == "Sorry Erin, we are on it."
    assert [p for m, p in graph.requests if m == "POST"] == [f"/{THREADS_ID}/threads", f"/{THREADS_ID}/threads_publish"]
    assert graph.containers == {}
    assert connector.find_posted(channel, reply) == posted


@pytest.mark.django_db
def test_an_expired_token_fails_the_reply_and_the_check_asks_for_a_reconnect(
    acme: dict[str, Any], graph: FakeGraph
) -> None:
    channel = _channel(acme, graph, "facebook", PAGE_ID, "expired-token")
    connector = connector_for("facebook")
    assert connector is not None
    reply = OutboundReply("k", "hi", "facebook", "acme-air", 1, "444_555", {"comment_id": "444_555"})

    with pytest.raises(PermanentDeliveryError, match="connect the account again"):
        connector.send_reply(channel, reply)
    with pytest.raises(ChannelError) as refused:
        connector.check(channel)
    assert refused.value.reconnect_needed
