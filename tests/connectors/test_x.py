"""The X connector against a fake X API v2 on loopback: polling fallback, replies, exactly-once delivery."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hubbub.connectors import x as x_connector
from hubbub.connectors.base import OutboundReply
from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.connectors.outbound import TransientDeliveryError
from hubbub.inbox.actions.replies import do_create_reply
from hubbub.inbox.models import Conversation, Message, Reply
from hubbub.ingest.channel_intake import poll_channel_now
from hubbub.ingest.models import RawEvent
from tests.connectors.doubles import deliver_killed_after_post_then_retry
from tests.fakes.x import FakeX, User


@pytest.fixture
def fake(settings: Any) -> Iterator[FakeX]:
    with FakeX() as server:
        settings.OUTBOUND_ALLOW = [f"127.0.0.1:{server.port}"]
        yield server  # type: ignore[misc]


@pytest.fixture
def brand(fake: FakeX) -> User:
    return fake.add_user("acmeair", "Acme Air")


@pytest.fixture
def channel(acme: dict[str, Any], fake: FakeX, brand: User) -> Channel:
    ch = Channel(
        organization=acme["org"], brand=acme["brands"]["Acme Air"], network="x", name="@acmeair", account_id=brand.id
    )
    ch.credentials = {"access_token": fake.token, "user_id": brand.id, "api_url": fake.url}
    ch.save()
    return ch


def _reload(channel: Channel) -> Channel:
    return Channel.objects.get(pk=channel.pk)


def _reply(payload: dict[str, Any], text: str) -> OutboundReply:
    return OutboundReply(
        idempotency_key="7f1c0000-0000-4000-8000-000000000001",
        text=text,
        network="x",
        brand_slug="acme-air",
        conversation_id=1,
        in_reply_to=payload["external_id"],
        in_reply_to_extra=payload["extra"],
        recipient=payload["author_handle"],
    )


def test_mentions_are_polled_with_since_id_kept_across_polls(fake: FakeX, channel: Channel, brand: User) -> None:
    alice, bob = fake.add_user("alice", "Alice"), fake.add_user("bob", "Bob")
    first = fake.tweet(alice, "@acmeair where is my bag?", mentions=(brand,))

    assert poll_channel_now(channel).new == 1
    assert _reload(channel).cursor == {"since_id": first.id}
    second = fake.tweet(bob, "@acmeair flight AC9 delayed again", mentions=(brand,))
    outcome = poll_channel_now(_reload(channel))

    assert outcome.ok and outcome.new == 1
    assert ("GET", f"/2/users/{brand.id}/mentions") in fake.requests
    reloaded = _reload(channel)
    assert reloaded.cursor == {"since_id": second.id}
    assert reloaded.rate_limit_remaining == 450 and reloaded.status == ChannelStatus.CONNECTED
    bob_message = Message.objects.get(external_id=second.id)
    assert bob_message.author.handle == "bob" and bob_message.text == "@acmeair flight AC9 delayed again"


def test_a_backlog_larger_than_one_poll_is_drained_without_gaps(fake: FakeX, channel: Channel, brand: User) -> None:
    alice = fake.add_user("alice")
    fake.tweet(alice, "@acmeair first", mentions=(brand,))
    poll_channel_now(channel)
    backlog = [fake.tweet(alice, f"@acmeair number {i}", mentions=(brand,)) for i in range(1050)]

    poll_channel_now(_reload(channel))
    assert "next_token" in _reload(channel).cursor  # 10 pages of 100 read; the rest waits for the next poll
    poll_channel_now(_reload(channel))

    stored = set(RawEvent.objects.filter(network="x").values_list("external_id", flat=True))
    assert {t.id for t in backlog} <= stored and len(stored) == 1051
    assert _reload(channel).cursor == {"since_id": backlog[-1].id}


def test_rate_limit_waits_for_x_reset(fake: FakeX, channel: Channel) -> None:
    fake.rate_limit_next(reset_in=600)

    outcome = poll_channel_now(channel)

    reloaded = _reload(channel)
    assert not outcome.ok and "rate limit" in reloaded.last_error
    assert reloaded.next_poll_at is not None
    assert reloaded.next_poll_at >= datetime.now(UTC) + timedelta(seconds=500)


def test_a_revoked_token_needs_a_reconnect(fake: FakeX, channel: Channel) -> None:
    fake.revoked = True

    poll_channel_now(channel)

    reloaded = _reload(channel)
    assert reloaded.status == ChannelStatus.RECONNECT_NEEDED and "401" in reloaded.last_error


def test_reply_is_posted_under_the_customer_tweet(fake: FakeX, channel: Channel, brand: User) -> None:
    tweet = fake.tweet(fake.add_user("alice"), "@acmeair is AC31 on time?", mentions=(brand,))
    poll_channel_now(channel)
    reply = _reply(RawEvent.objects.get(external_id=tweet.id).payload, "@alice yes, AC31 leaves at 9:40.")

    posted_id = x_connector.XConnector().send_reply(_reload(channel), reply)

    [posted] = fake.replies_by(brand, tweet.id)
    assert posted.id == posted_id and posted.text == "@alice yes, AC31 leaves at 9:40."


def test_a_tweet_x_took_before_the_answer_was_lost_is_found_not_repeated(
    fake: FakeX, channel: Channel, brand: User
) -> None:
    tweet = fake.tweet(fake.add_user("alice"), "@acmeair hello?", mentions=(brand,))
    poll_channel_now(channel)
    reply = _reply(RawEvent.objects.get(external_id=tweet.id).payload, "Hello Alice, how can we help?")
    connector = x_connector.XConnector()
    assert connector.find_posted(_reload(channel), reply) is None

    fake.drop_after_commit = True
    with pytest.raises(TransientDeliveryError):
        connector.send_reply(_reload(channel), reply)

    [posted] = fake.replies_by(brand, tweet.id)
    assert connector.find_posted(_reload(channel), reply) == posted.id


def test_delivery_killed_after_x_took_the_tweet_ends_with_one_tweet_recorded(
    fake: FakeX, channel: Channel, brand: User, acme: dict[str, Any], scope_of: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tweet = fake.tweet(fake.add_user("alice"), "@acmeair is AC31 going?", mentions=(brand,))
    poll_channel_now(channel)
    scope = scope_of(acme["users"]["agent"], acme["org"])
    reply = do_create_reply(scope, Conversation.objects.get(network="x"), "Yes, AC31 is on time.")

    sent = deliver_killed_after_post_then_retry(reply.pk)

    [posted] = fake.replies_by(brand, tweet.id)
    assert sent.state == Reply.State.SENT and sent.external_id == posted.id
    assert Message.objects.filter(external_id=posted.id, direction="out").count() == 1
