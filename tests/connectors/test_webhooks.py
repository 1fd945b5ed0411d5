"""Webhook intake at /hooks/<network>/: X Account Activity and Meta (Pages, Instagram, Threads) deliveries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from hubbub.connectors.models import Channel
from hubbub.inbox.models import Message
from hubbub.ingest.models import QuarantinedEvent, RawEvent
from hubbub.ingest.webhook_views import forget_channels
from hubbub.tenancy.models import AuditEvent
from tests.fakes.meta import MetaWebhook
from tests.fakes.x import FakeX, XWebhook

X_SECRET = "x-consumer-secret"
META_SECRET = "meta-app-secret"
VERIFY = "verify-me"
PAGE_ID, IG_ID, THREADS_ID = "101", "17841400000000001", "25000000000000001"


@pytest.fixture(autouse=True)
def secrets(settings: Any) -> Iterator[None]:
    settings.X_CONSUMER_SECRET = X_SECRET
    settings.META_APP_SECRET = META_SECRET
    settings.META_VERIFY_TOKEN = VERIFY
    forget_channels()
    yield
    forget_channels()


def _channel(acme: dict[str, Any], network: str, account_id: str, name: str) -> Channel:
    ch = Channel(
        organization=acme["org"], brand=acme["brands"]["Acme Air"], network=network, name=name, account_id=account_id
    )
    ch.credentials = {"access_token": "t"}
    ch.save()
    return ch


@pytest.fixture
def x() -> FakeX:
    return FakeX()  # used only for its users and tweets: nothing is served


@pytest.fixture
def x_channel(acme: dict[str, Any], x: FakeX) -> tuple[Channel, XWebhook]:
    brand = x.add_user("acmeair", "Acme Air")
    return _channel(acme, "x", brand.id, "@acmeair"), XWebhook(X_SECRET, brand)


def _post(client: Client, path: str, body: bytes, headers: dict[str, str]) -> Any:
    extra = {k: v for k, v in headers.items() if k != "content-type"}
    return client.post(path, data=body, content_type="application/json", headers=extra)


def test_x_crc_check_is_answered_with_the_hmac_of_the_token(client: Client) -> None:
    response = client.get("/hooks/x/", {"crc_token": "challenge-123"})

    assert response.status_code == 200
    # base64(HMAC-SHA256("x-consumer-secret", "challenge-123")), computed independently of the code
    expected = base64.b64encode(hmac.new(X_SECRET.encode(), b"challenge-123", hashlib.sha256).digest()).decode()
    assert response.json() == {"response_token": f"sha256={expected}"}


def test_meta_verification_answers_the_challenge_only_with_our_verify_token(client: Client) -> None:
    ok = client.get(
        "/hooks/meta/", {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    )
    wrong = client.get("/hooks/meta/", {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"})

    assert ok.status_code == 200 and ok.content == b"1158201444"
    assert wrong.status_code == 403 and "verify token" in wrong.json()["error"]


@pytest.mark.django_db(transaction=True)
def test_signed_x_mention_reaches_the_inbox_once_even_when_delivered_twice(
    client: Client, x: FakeX, x_channel: tuple[Channel, XWebhook]
) -> None:
    channel, hook = x_channel
    alice = x.add_user("alice", "Alice")
    tweet = x.tweet(alice, "@acmeair my bag never arrived in Lyon", mentions=(x.users[channel.account_id],))
    body, headers = hook.tweets(tweet)

    first = _post(client, "/hooks/x/", body, headers)
    again = _post(client, "/hooks/x/", body, headers)

    assert first.status_code == 200 and first.json()["accepted"] == 1
    assert again.status_code == 200 and again.json()["duplicates"] == 1
    message = Message.objects.get(external_id=tweet.id)
    assert message.text == "@acmeair my bag never arrived in Lyon"
    assert message.author.handle == "alice"
    assert message.conversation.brand.slug == "acme-air"
    assert RawEvent.objects.filter(network="x", external_id=tweet.id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_x_direct_message_arrives_as_a_dm(client: Client, x: FakeX, x_channel: tuple[Channel, XWebhook]) -> None:
    _, hook = x_channel
    bob = x.add_user("bob", "Bob")

    response = _post(client, "/hooks/x/", *hook.dm(bob, "Can you check booking ABC123?", "1494419"))

    assert response.status_code == 200
    message = Message.objects.get(external_id="dm:1494419")
    assert message.text == "Can you check booking ABC123?"


@pytest.mark.django_db
def test_a_bad_signature_is_refused_audited_and_nothing_is_kept(
    client: Client, x: FakeX, x_channel: tuple[Channel, XWebhook]
) -> None:
    channel, hook = x_channel
    tweet = x.tweet(x.add_user("mallory"), "forged", mentions=(x.users[channel.account_id],))
    body, headers = hook.tweets(tweet)
    headers["x-twitter-webhooks-signature"] = XWebhook("not-the-secret", x.users[channel.account_id]).sign(body)

    response = _post(client, "/hooks/x/", body, headers)
    unsigned = _post(client, "/hooks/x/", body, {"content-type": "application/json"})

    assert response.status_code == 401 and "does not match" in response.json()["error"]
    assert unsigned.status_code == 401 and "no x-twitter-webhooks-signature" in unsigned.json()["error"]
    assert not RawEvent.objects.exists()
    refused = AuditEvent.objects.filter(verb="webhook.refused")
    assert {e.data["reason"] for e in refused} == {response.json()["error"], unsigned.json()["error"]}
    assert all(e.organization_id == channel.organization_id for e in refused)


@pytest.mark.django_db
def test_a_malformed_event_is_quarantined_with_its_reason_and_answered_200(
    client: Client, x_channel: tuple[Channel, XWebhook]
) -> None:
    channel, hook = x_channel
    payload = {"for_user_id": channel.account_id, "tweet_create_events": [{"id_str": "1", "text": "no user, no date"}]}
    body = json.dumps(payload).encode()

    response = _post(client, "/hooks/x/", body, hook.headers(body))

    assert response.status_code == 200 and response.json()["quarantined"] == 1
    kept = QuarantinedEvent.objects.get()
    assert kept.organization_id == channel.organization_id
    assert kept.source == "webhook:x" and "Unreadable X event" in kept.reason and "no user, no date" in kept.raw
    assert not RawEvent.objects.exists()


@pytest.mark.django_db
def test_an_unknown_meta_object_is_answered_200_so_meta_stops_sending_it(client: Client) -> None:
    body, headers = MetaWebhook(META_SECRET).signed({"object": "whatsapp_business_account", "entry": []})

    response = _post(client, "/hooks/meta/", body, headers)

    assert response.status_code == 200 and "Not a Meta webhook delivery" in response.json()["ignored"]


@pytest.mark.django_db
def test_an_oversized_body_is_refused_before_it_is_read(client: Client, settings: Any) -> None:
    settings.WEBHOOK_MAX_BYTES = 1000
    body = b'{"for_user_id": "1", "pad": "' + b"x" * 2000 + b'"}'

    response = client.post("/hooks/x/", data=body, content_type="application/json")

    assert response.status_code == 413 and "over 1000 bytes" in response.json()["error"]


@pytest.mark.django_db
def test_an_unknown_account_is_404_naming_its_id(client: Client, x: FakeX) -> None:
    stranger = x.add_user("someone_else")
    body, headers = XWebhook(X_SECRET, stranger).tweets(x.tweet(x.add_user("alice"), "hi", mentions=(stranger,)))

    response = _post(client, "/hooks/x/", body, headers)

    assert response.status_code == 404 and stranger.id in response.json()["error"]
    assert not RawEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_meta_page_comment_instagram_comment_messenger_and_threads_reply_reach_the_inbox(
    client: Client, acme: dict[str, Any]
) -> None:
    _channel(acme, "facebook", PAGE_ID, "Acme Air page")
    _channel(acme, "instagram", IG_ID, "@acme_air")
    _channel(acme, "threads", THREADS_ID, "@acme_air threads")
    hook = MetaWebhook(META_SECRET)
    deliveries = [
        ("meta", hook.page_comment(PAGE_ID, "444_555", "101_444", "Where is my refund?", ("9001", "Carla"))),
        (
            "instagram",
            hook.ig_comment(IG_ID, "17900000000000001", "17800000000000001", "Lost my bag!", ("9002", "dan")),
        ),
        ("meta", hook.message("page", PAGE_ID, "9003", "m_abc", "Hello, anyone there?")),
        ("threads", hook.threads_reply(THREADS_ID, "18000000000000001", "18000000000000000", "Delayed again", "erin")),
    ]

    answers = [_post(client, f"/hooks/{path}/", *hook.signed(data)) for path, data in deliveries]

    assert [a.status_code for a in answers] == [200] * 4, [a.content for a in answers]
    texts = dict(Message.objects.values_list("network", "text"))
    assert texts["facebook"] in ("Where is my refund?", "Hello, anyone there?")
    assert texts["instagram"] == "Lost my bag!"
    assert texts["threads"] == "Delayed again"
    comment = Message.objects.get(external_id="444_555")
    assert comment.in_reply_to == "101_444"
    assert Message.objects.get(external_id="m_abc").text == "Hello, anyone there?"


@pytest.mark.django_db
def test_a_meta_delivery_with_a_bad_signature_is_401(client: Client, acme: dict[str, Any]) -> None:
    _channel(acme, "facebook", PAGE_ID, "Acme Air page")
    data = MetaWebhook(META_SECRET).page_comment(PAGE_ID, "1_2", "1_1", "x", ("9", "Z"))
    body, _ = MetaWebhook(META_SECRET).signed(data)

    response = _post(client, "/hooks/meta/", body, {"x-hub-signature-256": MetaWebhook("other").sign(body)})

    assert response.status_code == 401
    assert AuditEvent.objects.filter(verb="webhook.refused").count() == 1
    assert not RawEvent.objects.exists()
