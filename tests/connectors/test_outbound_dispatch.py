"""A reply goes out through the connector of its brand's channel, with what the network needs to thread it;
a brand without a channel on that network still gets the local sink."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from hubbub.connectors.base import OutboundReply, PollResult
from hubbub.connectors.events import InboundEvent
from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.inbox.actions import delivery
from hubbub.inbox.actions.replies import do_create_reply
from hubbub.inbox.models import Conversation, Message, Reply
from hubbub.ingest.channel_intake import poll_channel_now
from tests.connectors.doubles import registered

pytestmark = pytest.mark.django_db


class RecordingConnector:
    network = "other"

    def __init__(self) -> None:
        self.sent: list[tuple[str, OutboundReply]] = []
        self.inbox: list[InboundEvent] = []

    def check(self, channel: Channel) -> str:
        return "ok"

    def poll(self, channel: Channel, cursor: dict[str, Any]) -> PollResult:
        return PollResult(self.inbox, cursor)

    def send_reply(self, channel: Channel, reply: OutboundReply) -> str:
        self.sent.append((channel.name, reply))
        return f"net-{len(self.sent)}"

    def find_posted(self, channel: Channel, reply: OutboundReply) -> str | None:
        return None


@pytest.fixture
def recording() -> Iterator[RecordingConnector]:
    with registered(RecordingConnector()) as connector:
        yield connector


@pytest.fixture
def reply(acme, make_event, ingest, scope_of):  # type: ignore[no-untyped-def]
    event = make_event("my bag is lost", author="ann", network="other", extra={"visibility": "unlisted"})
    ingest(acme["org"], [event])
    scope = scope_of(acme["users"]["agent"], acme["org"])
    return do_create_reply(scope, Conversation.objects.get(), "Sorry Ann, we are on it.")


def connect(acme: dict[str, Any], brand: str = "Acme Air", name: str = "", **kw: Any) -> Channel:
    return Channel.objects.create(
        organization=acme["org"], brand=acme["brands"][brand], network="other", name=name or f"@{brand}", **kw
    )


def test_a_reply_goes_through_the_brands_channel_with_what_it_answers(acme, reply, recording):  # type: ignore[no-untyped-def]
    connect(acme, "Acme Rail")  # another brand's channel is never used
    connect(acme, "Acme Air")

    sent = delivery.do_deliver_reply(reply.pk)

    assert sent.state == Reply.State.SENT and sent.external_id == "net-1"
    [(channel_name, out)] = recording.sent
    assert channel_name == "@Acme Air"
    assert out.text == "Sorry Ann, we are on it."
    assert out.idempotency_key == str(reply.idempotency_key)
    assert (out.in_reply_to, out.recipient, out.brand_slug) == ("t1", "ann", "acme-air")
    assert out.in_reply_to_extra == {"visibility": "unlisted"}
    assert Message.objects.get(external_id="net-1").in_reply_to == "t1"


def test_without_a_channel_the_reply_goes_to_the_local_sink(acme, reply, recording, settings):  # type: ignore[no-untyped-def]
    sent = delivery.do_deliver_reply(reply.pk)

    assert sent.state == Reply.State.SENT and recording.sent == []
    assert (settings.OUTBOUND_SINK_DIR / f"{reply.idempotency_key}.json").exists()


def test_a_channel_needing_reconnection_fails_the_reply_with_the_reason(acme, reply, recording):  # type: ignore[no-untyped-def]
    connect(acme, status=ChannelStatus.RECONNECT_NEEDED)

    failed = delivery.do_deliver_reply(reply.pk)

    assert failed.state == Reply.State.FAILED and recording.sent == []
    assert "must be connected again (Settings → Channels)" in failed.error


def test_a_reply_goes_out_through_the_account_that_received_the_message(acme, recording, scope_of):  # type: ignore[no-untyped-def]
    connect(acme, name="@acme")
    support = connect(acme, name="@acme_support")  # a second account of the same brand on the network
    when = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    recording.inbox = [InboundEvent("other", "p1", "@acme_support my bag", when, "zed", author_handle="zed")]
    poll_channel_now(support)
    reply = do_create_reply(scope_of(acme["users"]["agent"], acme["org"]), Conversation.objects.get(), "On it, Zed.")

    delivery.do_deliver_reply(reply.pk)

    assert [name for name, _ in recording.sent] == ["@acme_support"]
