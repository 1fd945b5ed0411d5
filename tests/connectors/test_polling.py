"""The polling loop: cursor saved only after the events are stored, health, back-off, rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hubbub.connectors import polling
from hubbub.connectors.base import ChannelError, OutboundReply, PollResult
from hubbub.connectors.events import InboundEvent
from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.inbox.models import Conversation, Message
from hubbub.ingest.channel_intake import accept_channel_events
from hubbub.tenancy.models import AuditEvent
from tests.connectors.doubles import registered

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class ScriptedConnector:
    """A connector whose polls answer from a script: a list of PollResults or ChannelErrors."""

    network = "other"

    def __init__(self) -> None:
        self.script: list[PollResult | ChannelError] = []
        self.cursors_seen: list[dict[str, Any]] = []

    def check(self, channel: Channel) -> str:
        return "scripted"

    def poll(self, channel: Channel, cursor: dict[str, Any]) -> PollResult:
        self.cursors_seen.append(cursor)
        step = self.script.pop(0)
        if isinstance(step, ChannelError):
            raise step
        return step

    def send_reply(self, channel: Channel, reply: OutboundReply) -> str:
        raise NotImplementedError

    def find_posted(self, channel: Channel, reply: OutboundReply) -> str | None:
        return None


@pytest.fixture
def scripted() -> Iterator[ScriptedConnector]:
    with registered(ScriptedConnector()) as connector:
        yield connector


@pytest.fixture
def channel(acme: dict[str, Any]) -> Channel:
    brand = acme["brands"]["Acme Air"]
    return Channel.objects.create(organization=acme["org"], brand=brand, network="other", name="@acme")


def mention(n: int, text: str = "my bag is lost") -> InboundEvent:
    return InboundEvent(
        network="other",
        external_id=f"m{n}",
        text=text,
        created_at=NOW - timedelta(minutes=10 - n),
        author_id="u1",
        author_handle="carol",
    )


def test_a_poll_stores_mentions_in_the_inbox_and_then_moves_the_cursor(channel: Channel, scripted: Any) -> None:
    scripted.script = [PollResult([mention(1), mention(2)], {"since_id": "m2"})]

    outcome = polling.poll_channel(channel, accept_channel_events, now=NOW)

    channel.refresh_from_db()
    assert outcome.ok and outcome.new == 2
    assert channel.cursor == {"since_id": "m2"}
    assert channel.status == ChannelStatus.CONNECTED
    assert channel.last_event_at == mention(2).created_at
    assert channel.lag_seconds(NOW + timedelta(seconds=30)) == 30
    conv = Conversation.objects.get(organization=channel.organization)
    assert conv.brand_id == channel.brand_id  # the channel's brand, though the connector named none
    assert sorted(Message.objects.values_list("external_id", flat=True)) == ["m1", "m2"]


def test_overlapping_polls_store_each_mention_once(channel: Channel, scripted: Any) -> None:
    scripted.script = [
        PollResult([mention(1), mention(2)], {"since_id": "m2"}),
        PollResult([mention(2), mention(3)], {"since_id": "m3"}),
    ]
    polling.poll_channel(channel, accept_channel_events, now=NOW)
    second = polling.poll_channel(channel, accept_channel_events, now=NOW + timedelta(minutes=1))

    assert second.new == 1
    assert Message.objects.filter(organization=channel.organization).count() == 3
    assert scripted.cursors_seen == [{}, {"since_id": "m2"}]


def test_the_cursor_stays_when_the_events_could_not_be_stored(channel: Channel, scripted: Any) -> None:
    channel.cursor = {"since_id": "m0"}
    channel.save()
    scripted.script = [PollResult([mention(1)], {"since_id": "m1"})]

    def broken_accept(ch: Channel, events: Any) -> int:
        raise RuntimeError("database is locked")

    outcome = polling.poll_channel(channel, broken_accept, now=NOW)

    channel.refresh_from_db()
    assert not outcome.ok
    assert channel.cursor == {"since_id": "m0"}  # the next poll fetches m1 again
    assert channel.status == ChannelStatus.DEGRADED
    assert "Could not store the new messages" in channel.last_error


def test_failures_back_off_turn_failing_and_recover(channel: Channel, scripted: Any) -> None:
    scripted.script = [ChannelError("The server answered 503.")] * 3 + [PollResult([], {"since_id": "x"})]
    waits = []
    for attempt in range(3):
        at = NOW + timedelta(hours=attempt * 3)
        polling.poll_channel(channel, accept_channel_events, now=at)
        channel.refresh_from_db()
        waits.append((channel.next_poll_at - at).total_seconds())
    assert channel.status == ChannelStatus.FAILING
    assert channel.last_error == "The server answered 503."
    assert waits[0] < waits[1] < waits[2]  # doubling beats the ±20 % jitter

    polling.poll_channel(channel, accept_channel_events, now=NOW + timedelta(hours=10))
    channel.refresh_from_db()
    assert (channel.status, channel.consecutive_failures, channel.last_error) == (ChannelStatus.CONNECTED, 0, "")


def test_the_networks_retry_after_is_honoured(channel: Channel, scripted: Any) -> None:
    scripted.script = [ChannelError("Rate limited by the network.", retry_after=900)]
    polling.poll_channel(channel, accept_channel_events, now=NOW)
    channel.refresh_from_db()
    assert channel.next_poll_at is not None and channel.next_poll_at >= NOW + timedelta(seconds=900)
    assert not polling.due_channels(NOW + timedelta(seconds=899)).filter(pk=channel.pk).exists()


def test_an_exhausted_rate_limit_waits_for_its_reset(channel: Channel, scripted: Any) -> None:
    reset = NOW + timedelta(minutes=20)
    scripted.script = [PollResult([mention(1)], {"since_id": "m1"}, rate_limit_remaining=0, rate_limit_reset_at=reset)]
    polling.poll_channel(channel, accept_channel_events, now=NOW)
    channel.refresh_from_db()
    assert channel.next_poll_at == reset
    assert channel.status == ChannelStatus.DEGRADED
    assert channel.rate_limit_remaining == 0


def test_revoked_credentials_stop_polling_and_are_audited(channel: Channel, scripted: Any) -> None:
    scripted.script = [ChannelError("The access token was revoked.", reconnect_needed=True)]
    polling.poll_channel(channel, accept_channel_events, now=NOW)
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.RECONNECT_NEEDED
    assert not polling.due_channels(NOW + timedelta(days=1)).filter(pk=channel.pk).exists()
    entry = AuditEvent.objects.get(verb="channel.reconnect_needed")
    assert entry.data["reason"] == "The access token was revoked."


def test_a_due_channel_is_polled_by_one_worker_only(channel: Channel, scripted: Any) -> None:
    scripted.script = [PollResult([], {"since_id": "a"})]
    stale_copy = Channel.objects.get(pk=channel.pk)
    assert [o.ok for o in polling.poll_due(accept_channel_events, now=NOW)] == [True]
    assert not polling._lease(stale_copy, NOW)  # a second worker holding the old schedule cannot take it
