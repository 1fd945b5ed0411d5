"""The Bluesky connector against a fake PDS speaking XRPC: the atproto SDK runs unchanged, pointed at loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hubbub.connectors import bluesky
from hubbub.connectors.base import ChannelError, OutboundReply
from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.connectors.outbound import PermanentDeliveryError
from hubbub.inbox.actions.replies import do_create_reply
from hubbub.inbox.models import Conversation, Message, Reply
from hubbub.ingest.channel_intake import poll_channel_now
from hubbub.ingest.models import QuarantinedEvent, RawEvent
from tests.connectors.doubles import deliver_killed_after_post_then_retry
from tests.fakes.bluesky import Account, FakeBluesky, Fault

BRAND_HANDLE = "acme-air.bsky.social"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def pds(settings: Any) -> Iterator[FakeBluesky]:
    with FakeBluesky() as fake:
        settings.OUTBOUND_ALLOW = [f"127.0.0.1:{fake.port}"]
        yield fake  # type: ignore[misc]


@pytest.fixture
def brand_account(pds: FakeBluesky) -> Account:
    return pds.add_account(BRAND_HANDLE, password=APP_PASSWORD, display_name="Acme Air")


@pytest.fixture
def channel(acme: dict[str, Any], pds: FakeBluesky, brand_account: Account) -> Channel:
    ch = Channel(organization=acme["org"], brand=acme["brands"]["Acme Air"], network="bluesky", name=BRAND_HANDLE)
    ch.credentials = {"handle": BRAND_HANDLE, "app_password": APP_PASSWORD, "service": pds.url}
    ch.save()
    return ch


def _reload(channel: Channel) -> Channel:
    return Channel.objects.get(pk=channel.pk)


def _mention(pds: FakeBluesky, handle: str, text: str, minutes: int, **kw: Any) -> dict[str, Any]:
    author = next((a for a in pds.accounts.values() if a.handle == handle), None) or pds.add_account(
        handle, display_name=handle.split(".")[0].title()
    )
    post = pds.post(author, text, **kw)
    pds.notify(post, "reply" if "reply_to" in kw else "mention", indexed_at=T0 + timedelta(minutes=minutes))
    return post


def test_mentions_and_replies_become_conversations_with_author_and_text(
    pds: FakeBluesky, channel: Channel, brand_account: Account
) -> None:
    brand_post = pds.post(brand_account, "Our spring timetable is out!")
    _mention(pds, "alice.bsky.social", "@acme-air.bsky.social my flight AC12 was cancelled, help?", 1)
    _mention(pds, "bob.bsky.social", "Is the 7:40 to Lyon still running?", 2, reply_to=brand_post)
    liked = pds.post(pds.add_account("carol.bsky.social"), "nice")
    pds.notify(liked, "like", indexed_at=T0 + timedelta(minutes=3))  # not a conversation

    outcome = poll_channel_now(channel)

    assert outcome.ok, outcome.error
    assert outcome.new == 2
    alice = Message.objects.get(author__handle="alice.bsky.social")
    assert alice.text == "@acme-air.bsky.social my flight AC12 was cancelled, help?"
    assert alice.network == "bluesky" and alice.external_id.startswith("at://did:plc:")
    assert alice.url.startswith("https://bsky.app/profile/alice.bsky.social/post/")
    bob = Message.objects.get(author__handle="bob.bsky.social")
    assert bob.in_reply_to == brand_post["uri"]
    assert Conversation.objects.filter(brand__slug="acme-air", network="bluesky").count() == 2
    assert _reload(channel).status == ChannelStatus.CONNECTED


def test_repeated_and_overlapping_polls_store_each_post_once(pds: FakeBluesky, channel: Channel) -> None:
    _mention(pds, "alice.bsky.social", "first", 1)
    _mention(pds, "bob.bsky.social", "second", 2)
    assert poll_channel_now(channel).new == 2
    again = poll_channel_now(_reload(channel))  # the newest post is read again, and not handed on twice
    assert again.ok and again.events == 0
    _mention(pds, "carol.bsky.social", "third", 3)
    outcome = poll_channel_now(_reload(channel))
    assert outcome.new == 1
    assert sorted(Message.objects.values_list("text", flat=True)) == ["first", "second", "third"]
    assert RawEvent.objects.filter(network="bluesky").count() == 3


def test_cursor_survives_a_restart_and_a_backlog_is_drained_without_gaps(
    pds: FakeBluesky, channel: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bluesky, "PAGE_SIZE", 2)
    monkeypatch.setattr(bluesky, "MAX_PAGES", 1)  # a poll reads 2 notifications at most
    for n in range(5):
        _mention(pds, f"user{n}.bsky.social", f"mention {n}", n)
    polls = [poll_channel_now(_reload(channel)).new for _ in range(3)]  # each poll starts from the stored cursor
    assert polls == [2, 2, 1]
    assert Message.objects.count() == 5
    _mention(pds, "late.bsky.social", "after the backlog", 10)
    assert poll_channel_now(_reload(channel)).new == 1
    assert _reload(channel).cursor["seen_at"].startswith("2026-11-30T09:10")


def test_reply_is_posted_threaded_under_root_and_parent(
    pds: FakeBluesky, channel: Channel, brand_account: Account
) -> None:
    root = pds.post(brand_account, "We are changing our baggage rules.")
    parent = _mention(pds, "alice.bsky.social", "Does this apply to skis?", 1, reply_to=root)
    poll_channel_now(channel)
    raw = RawEvent.objects.get(external_id=parent["uri"])
    reply = _reply(raw.payload, "@alice.bsky.social yes, skis count as one bag. See https://acme.example/bags #travel")

    uri = bluesky.BlueskyConnector().send_reply(_reload(channel), reply)

    [posted] = pds.posts_by(brand_account)[1:]
    assert posted["uri"] == uri
    assert _ref(posted["value"]["reply"]["parent"]) == _ref(parent)
    assert _ref(posted["value"]["reply"]["root"]) == _ref(root)
    kinds = {f["features"][0]["$type"]: f for f in posted["value"]["facets"]}
    alice = next(a for a in pds.accounts.values() if a.handle == "alice.bsky.social")
    assert kinds["app.bsky.richtext.facet#mention"]["features"][0]["did"] == alice.did
    assert kinds["app.bsky.richtext.facet#link"]["features"][0]["uri"] == "https://acme.example/bags"


def _ref(data: dict[str, Any]) -> tuple[str, str]:
    return data["uri"], data["cid"]


def _reply(payload: dict[str, Any], text: str, key: str = "9b2f1c3e-1111-4a5b-8c6d-000000000001") -> OutboundReply:
    return OutboundReply(
        idempotency_key=key,
        text=text,
        network="bluesky",
        brand_slug="acme-air",
        conversation_id=1,
        in_reply_to=payload["external_id"],
        in_reply_to_extra=payload["extra"],
        recipient=payload["author_handle"],
    )


def test_a_post_the_pds_took_before_the_answer_was_lost_is_posted_once(
    pds: FakeBluesky, channel: Channel, brand_account: Account
) -> None:
    _mention(pds, "alice.bsky.social", "hello?", 1)
    poll_channel_now(channel)
    reply = _reply(RawEvent.objects.get(network="bluesky").payload, "Hello Alice, how can we help?")
    connector = bluesky.BlueskyConnector()
    assert connector.find_posted(_reload(channel), reply) is None

    # The PDS writes the record and the connection drops before its answer: the worker never hears of it.
    pds.fail_next("com.atproto.repo.createRecord", Fault(drop_after_commit=True))
    first = connector.send_reply(_reload(channel), reply)
    # A later attempt (a worker restarted without recording the first) sends the same reply again.
    second = connector.send_reply(_reload(channel), reply)

    assert first == second == connector.find_posted(_reload(channel), reply)
    assert [p["value"]["text"] for p in pds.posts_by(brand_account)] == ["Hello Alice, how can we help?"]


def test_session_is_refreshed_before_expiry_and_replaced_when_the_pds_refuses_it(
    pds: FakeBluesky, channel: Channel
) -> None:
    pds.access_ttl = timedelta(minutes=5)  # inside the SDK's 15-minute margin: refreshed before the next call
    _mention(pds, "alice.bsky.social", "one", 1)
    assert poll_channel_now(channel).ok
    assert poll_channel_now(_reload(channel)).ok
    assert pds.sessions_created == 1  # the stored session was reused, not a new login per poll
    assert pds.sessions_refreshed >= 1

    pds.access_ttl = timedelta(hours=2)
    poll_channel_now(_reload(channel))
    pds.expire_access_tokens()  # the PDS answers ExpiredToken although the token's own exp is hours away
    _mention(pds, "bob.bsky.social", "two", 2)
    outcome = poll_channel_now(_reload(channel))
    assert outcome.ok and outcome.new == 1
    assert _reload(channel).status == ChannelStatus.CONNECTED


def test_an_unreadable_stored_session_is_replaced_by_a_new_login(pds: FakeBluesky, channel: Channel) -> None:
    channel.credentials = {**channel.credentials, "session": "written by another SDK version"}
    channel.save()
    assert poll_channel_now(channel).ok
    assert pds.sessions_created == 1
    assert _reload(channel).credentials["session"].startswith(f"{BRAND_HANDLE}:::did:plc:")


def test_revoked_app_password_needs_a_reconnect(pds: FakeBluesky, channel: Channel) -> None:
    assert poll_channel_now(channel).ok
    pds.revoke_app_password(BRAND_HANDLE)

    outcome = poll_channel_now(_reload(channel))

    assert not outcome.ok
    stored = _reload(channel)
    assert stored.status == ChannelStatus.RECONNECT_NEEDED
    assert "app password" in stored.last_error and BRAND_HANDLE in stored.last_error


def test_rate_limit_waits_for_the_pds_reset(pds: FakeBluesky, channel: Channel) -> None:
    pds.rate_limit_next("app.bsky.notification.listNotifications", reset_in=600)
    outcome = poll_channel_now(channel)
    stored = _reload(channel)
    assert not outcome.ok and "rate limit" in stored.last_error
    assert stored.next_poll_at is not None
    assert stored.next_poll_at >= datetime.now(UTC) + timedelta(seconds=500)


def test_malformed_notification_is_quarantined_while_the_others_arrive(pds: FakeBluesky, channel: Channel) -> None:
    _mention(pds, "alice.bsky.social", "fine", 1)
    broken = _mention(pds, "bob.bsky.social", "will lose its text", 2)
    del broken["value"]["text"]  # a record the lexicon rejects
    _mention(pds, "carol.bsky.social", "also fine", 3)

    assert poll_channel_now(channel).new == 2

    assert sorted(Message.objects.values_list("text", flat=True)) == ["also fine", "fine"]
    [held] = QuarantinedEvent.objects.filter(source="bluesky")
    assert held.location == broken["uri"] and "app.bsky.feed.post" in held.reason


def test_too_long_reply_is_refused_with_the_count(pds: FakeBluesky, channel: Channel) -> None:
    payload = {"external_id": "at://did:plc:x/app.bsky.feed.post/3k", "extra": {"cid": "bafyx"}, "author_handle": "x"}
    with pytest.raises(PermanentDeliveryError, match="301 characters, the limit is 300"):
        bluesky.BlueskyConnector().send_reply(channel, _reply(payload, "a" * 301))
    # 300 thumbs-up with skin tones are 300 characters to Bluesky, not 600 code points
    assert bluesky.grapheme_count("👍🏽" * 300) == 300


def test_rkey_is_a_valid_tid_fixed_by_the_idempotency_key() -> None:
    key = bluesky.rkey_for("9b2f1c3e-1111-4a5b-8c6d-000000000001")
    assert key == bluesky.rkey_for("9b2f1c3e-1111-4a5b-8c6d-000000000001")
    assert key != bluesky.rkey_for("9b2f1c3e-1111-4a5b-8c6d-000000000002")
    assert len(key) == 13 and key[0] in "234567abcdefghij"
    assert set(key) <= set("234567abcdefghijklmnopqrstuvwxyz")


def test_a_pds_at_a_private_address_is_refused(pds: FakeBluesky, channel: Channel, settings: Any) -> None:
    settings.OUTBOUND_ALLOW = []  # the fake's loopback address is no longer opened by the operator
    with pytest.raises(ChannelError, match="not allowed: loopback"):
        bluesky.BlueskyConnector().check(_reload(channel))
    assert pds.requests == []


def test_check_names_the_account(pds: FakeBluesky, channel: Channel) -> None:
    assert bluesky.BlueskyConnector().check(channel) == f"@{BRAND_HANDLE} on Bluesky (127.0.0.1)"


def test_delivery_killed_after_the_pds_took_the_post_ends_with_one_post_recorded(
    pds: FakeBluesky,
    channel: Channel,
    brand_account: Account,
    acme: dict[str, Any],
    scope_of: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = pds.post(brand_account, "Snow in Oslo: expect delays today.")
    parent = _mention(pds, "alice.bsky.social", "Is AC31 going?", 1, reply_to=root)
    poll_channel_now(channel)
    scope = scope_of(acme["users"]["agent"], acme["org"])
    reply = do_create_reply(scope, Conversation.objects.get(network="bluesky"), "Yes, AC31 is on time.")

    sent = deliver_killed_after_post_then_retry(reply.pk)

    [post] = pds.posts_by(brand_account)[1:]
    assert sent.state == Reply.State.SENT and sent.external_id == post["uri"]
    assert post["value"]["text"] == "Yes, AC31 is on time."
    assert _ref(post["value"]["reply"]["parent"]) == _ref(parent)
    assert _ref(post["value"]["reply"]["root"]) == _ref(root)
    assert Message.objects.filter(external_id=post["uri"], direction="out").count() == 1


def test_search_query_brings_posts_that_do_not_mention_the_brand(pds: FakeBluesky, channel: Channel) -> None:
    channel.credentials = {**channel.credentials, "search": "acme baggage"}
    channel.save()
    now = datetime.now(UTC)
    dana = pds.add_account("dana.bsky.social", display_name="Dana")
    fresh = pds.post(dana, "Acme lost my baggage in Lyon again", indexed_at=now - timedelta(hours=1))
    pds.post(dana, "acme baggage rules from 2019, for the record", indexed_at=now - timedelta(days=3))
    pds.post(dana, "Lovely day in Lyon", indexed_at=now - timedelta(minutes=30))
    both = _mention(pds, "erin.bsky.social", "@acme-air.bsky.social where is my baggage? #acme", 1)
    pds.indexed_at[both["uri"]] = (now - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")

    outcome = poll_channel_now(channel)

    assert outcome.ok and outcome.new == 2  # the day-old floor leaves the 2019 post out; `both` is stored once
    found = RawEvent.objects.get(external_id=fresh["uri"]).payload
    assert (found["author_handle"], found["likes"], found["extra"]["reason"]) == ("dana.bsky.social", 5, "search")
    assert RawEvent.objects.get(external_id=both["uri"]).payload["extra"]["reason"] == "mention"
    assert poll_channel_now(_reload(channel)).events == 0
    later = pds.post(dana, "baggage desk at acme finally answered", indexed_at=datetime.now(UTC))
    again = poll_channel_now(_reload(channel))
    assert again.new == 1 and Message.objects.filter(external_id=later["uri"]).exists()
    assert _reload(channel).cursor["search"]["q"] == "acme baggage"
