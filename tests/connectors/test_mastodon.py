"""The Mastodon connector against the sandbox server (the Mastodon REST API on loopback), with Mastodon.py
running unchanged: mentions reach the inbox threaded, the cursor survives a restart, overlapping polls store
each mention once, a reply is posted once under the customer's post, 429 and 401 are honoured."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from hubbub.connectors.base import OutboundReply, connector_for
from hubbub.connectors.mastodon import MastodonConnector
from hubbub.connectors.models import Channel, ChannelStatus
from hubbub.connectors.outbound import TransientDeliveryError
from hubbub.connectors.sandbox.mastodon_fake import MastodonFake
from hubbub.inbox.actions import delivery
from hubbub.inbox.actions.replies import do_create_reply
from hubbub.inbox.models import Conversation, Message, Reply
from hubbub.ingest.channel_intake import poll_channel_now
from tests.connectors import mastodon_sandbox
from tests.connectors.mastodon_sandbox import TOKEN

pytestmark = pytest.mark.django_db
# The sandbox fixtures, shared with the other tests that talk to it.
fake = mastodon_sandbox.fake
channel = mastodon_sandbox.channel


def fresh(channel: Channel) -> Channel:
    """The channel as a restarted worker would load it."""
    return Channel.objects.get(pk=channel.pk)


def test_the_connector_is_registered_for_mastodon() -> None:
    assert isinstance(connector_for("mastodon"), MastodonConnector)


def test_test_connection_names_the_account(channel: Channel, fake: MastodonFake) -> None:
    host = fake.url.removeprefix("http://")
    assert MastodonConnector().check(channel) == f"@AcmeAir on {host}"


def test_mentions_reach_the_inbox_threaded(channel: Channel, fake: MastodonFake) -> None:
    first = fake.state.post_as("ann", "@AcmeAir my bag is lost <again> & nobody answers")
    fake.state.post_as("ann", "@AcmeAir still waiting", in_reply_to_id=first.id)
    fake.state.post_as("bob", "lovely flight today")  # mentions no one: not the brand's business

    outcome = poll_channel_now(fresh(channel))

    assert outcome.ok and outcome.new == 2
    conv = Conversation.objects.get(organization=channel.organization)
    texts = list(conv.messages.order_by("created_at").values_list("text", flat=True))
    assert texts == ["@AcmeAir my bag is lost <again> & nobody answers", "@AcmeAir still waiting"]
    assert conv.brand_id == channel.brand_id
    assert fresh(channel).status == ChannelStatus.CONNECTED


def test_the_cursor_survives_a_restart_and_overlap_is_stored_once(channel: Channel, fake: MastodonFake) -> None:
    fake.state.post_as("ann", "@AcmeAir one")
    poll_channel_now(fresh(channel))
    cursor = fresh(channel).cursor
    assert cursor["since_id"]

    fake.state.post_as("cat", "@AcmeAir two")
    after_restart = poll_channel_now(fresh(channel))  # a new process: the cursor comes from the database
    assert after_restart.events == 1 and after_restart.new == 1

    lost = fresh(channel)
    lost.cursor = {}  # as if the cursor had not been saved after a crash: the newest page comes again
    lost.save()
    overlap = poll_channel_now(fresh(channel))
    assert overlap.ok and overlap.events == 2 and overlap.new == 0
    assert Message.objects.filter(organization=channel.organization).count() == 2


def test_a_backlog_longer_than_a_page_is_read_without_gaps(channel: Channel, fake: MastodonFake) -> None:
    fake.state.post_as("ann", "@AcmeAir first")
    poll_channel_now(fresh(channel))
    for n in range(95):
        fake.state.post_as(f"user{n}", f"@AcmeAir mention {n}")

    outcome = poll_channel_now(fresh(channel))

    assert outcome.new == 95
    assert Message.objects.filter(organization=channel.organization).count() == 96


def _reply_to_ann(acme: dict[str, Any], scope_of: Any, text: str = "Sorry Ann, we are on it.") -> Reply:
    scope = scope_of(acme["users"]["agent"], acme["org"])
    return do_create_reply(scope, Conversation.objects.get(), text)


def test_a_reply_appears_threaded_under_the_customers_post(acme, channel, fake, scope_of):  # type: ignore[no-untyped-def]
    post = fake.state.post_as("ann", "@AcmeAir my bag is lost", visibility="unlisted")
    poll_channel_now(fresh(channel))

    sent = delivery.do_deliver_reply(_reply_to_ann(acme, scope_of).pk)

    [answer] = fake.state.replies_to(post)
    assert answer.account.username == "AcmeAir"
    assert answer.text == "@ann Sorry Ann, we are on it."
    assert answer.visibility == "unlisted"  # the customer's, not louder
    assert sent.state == Reply.State.SENT
    assert sent.external_id == f"{fake.url.removeprefix('http://')}:{answer.id}"


def test_sending_a_reply_again_posts_it_once(channel: Channel, fake: MastodonFake) -> None:
    post = fake.state.post_as("ann", "@AcmeAir hello")
    reply = OutboundReply(
        idempotency_key="4f1c0d7e-key",
        text="Hello Ann",
        network="mastodon",
        brand_slug="acme-air",
        conversation_id=1,
        in_reply_to=f"host:{post.id}",
        in_reply_to_extra={"status_id": post.id, "acct": "ann", "visibility": "public"},
        recipient="ann",
    )
    connector = MastodonConnector()
    assert connector.find_posted(channel, reply) is None

    first = connector.send_reply(channel, reply)
    again = connector.send_reply(channel, reply)  # a retry after a crash: same Idempotency-Key

    assert first == again == connector.find_posted(channel, reply)
    assert len(fake.state.replies_to(post)) == 1


def test_a_rate_limited_poll_waits_for_the_reset_and_then_catches_up(channel: Channel, fake: MastodonFake) -> None:
    fake.state.post_as("ann", "@AcmeAir are you there?")
    fake.state.limit_rate(600)

    outcome = poll_channel_now(fresh(channel))

    limited = fresh(channel)
    assert not outcome.ok and limited.status == ChannelStatus.DEGRADED
    assert "rate limit" in limited.last_error
    assert limited.next_poll_at is not None and limited.next_poll_at > timezone.now() + timedelta(seconds=500)

    fake.state.limit_rate(-1)  # the window has passed
    assert poll_channel_now(fresh(channel)).new == 1


def test_a_rate_limited_reply_is_tried_again_after_the_reset(acme, channel, fake, scope_of):  # type: ignore[no-untyped-def]
    fake.state.post_as("ann", "@AcmeAir my bag is lost")
    poll_channel_now(fresh(channel))
    reply = _reply_to_ann(acme, scope_of)
    fake.state.limit_rate(600)

    with pytest.raises(TransientDeliveryError) as raised:
        delivery.do_deliver_reply(reply.pk)

    assert raised.value.retry_after is not None and raised.value.retry_after > 500
    reply.refresh_from_db()
    assert reply.state == Reply.State.APPROVED and "rate limit" in reply.error
    assert fake.state.posts_by("AcmeAir") == []


def test_a_revoked_token_marks_the_channel_reconnect_needed(channel: Channel, fake: MastodonFake) -> None:
    fake.state.revoke(TOKEN)

    outcome = poll_channel_now(fresh(channel))

    revoked = fresh(channel)
    assert not outcome.ok
    assert revoked.status == ChannelStatus.RECONNECT_NEEDED
    assert "Connect the account again" in revoked.last_error


def test_a_token_that_names_a_file_is_never_read(channel: Channel, tmp_path: Any) -> None:
    secret = tmp_path / "token.txt"
    secret.write_text("stolen-token-from-disk\n")
    channel.credentials = {**channel.credentials, "access_token": str(secret)}
    channel.save()

    outcome = poll_channel_now(fresh(channel))

    assert not outcome.ok and fresh(channel).status == ChannelStatus.RECONNECT_NEEDED


def test_the_instance_url_goes_through_the_outbound_policy(channel: Channel, settings: Any) -> None:
    settings.OUTBOUND_ALLOW = []  # loopback is not opened by the operator any more

    outcome = poll_channel_now(fresh(channel))

    assert not outcome.ok
    assert fresh(channel).last_error.startswith("Could not reach the Mastodon server: ")


def test_the_budgets_last_request_puts_the_next_poll_at_the_reset(channel: Channel, fake: MastodonFake) -> None:
    fake.state.post_as("ann", "@AcmeAir hello")
    fake.state.remaining = 1  # the notifications request spends the last one

    outcome = poll_channel_now(fresh(channel))

    polled = fresh(channel)
    assert outcome.ok and outcome.new == 1  # what came with the last request is kept
    assert polled.rate_limit_remaining == 0 and polled.status == ChannelStatus.DEGRADED
    assert polled.rate_limit_reset_at is not None and polled.last_polled_at is not None
    assert polled.rate_limit_reset_at > polled.last_polled_at + timedelta(minutes=4)  # the 5-minute window's end
    assert polled.next_poll_at == polled.rate_limit_reset_at
