"""The main road: raw events are stored once, then analysed, threaded, stored and rolled up."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hubbub.inbox.models import Conversation, Message, Status
from hubbub.ingest.models import QuarantinedEvent, RawEvent
from hubbub.ingest.services import accept, process_pending
from hubbub.listening.models import MentionRollup

pytestmark = pytest.mark.django_db


def test_accept_is_idempotent_on_network_and_external_id(acme, make_event):
    org = acme["org"]
    ev = make_event("my bag is lost")
    first = accept(org.pk, [ev, ev], "test")
    again = accept(org.pk, [ev], "test")
    assert (first.accepted, first.duplicates) == (1, 1)
    assert (again.accepted, again.duplicates) == (0, 1)
    assert RawEvent.objects.count() == 1


def test_mentions_are_analysed_threaded_and_stored(acme, make_event, ingest):
    org = acme["org"]
    _, result = ingest(
        org,
        [
            make_event("@AcmeAir you lost my luggage, worst airline ever", author="bob"),
            make_event("@AcmeAir still waiting for an answer!!", author="bob"),
            make_event("@AcmeAir thanks, lovely flight", author="carol"),
        ],
    )
    assert result.processed == 3
    bob = Conversation.objects.get(author__handle="bob")
    assert bob.message_count == 2
    assert bob.status == Status.OPEN
    assert bob.sentiment == "negative"
    assert bob.sla_due_at == bob.first_message_at + timedelta(minutes=60)
    carol = Conversation.objects.get(author__handle="carol")
    assert carol.sentiment == "positive"
    msg = Message.objects.filter(conversation=bob).first()
    assert msg.model_version and msg.intent in {"complaint", "question", "other", "suggestion", "praise", "spam"}
    assert RawEvent.objects.filter(state="processed").count() == 3


def test_replies_join_their_parent_conversation_even_in_another_batch(acme, make_event, ingest):
    org = acme["org"]
    first = make_event("@AcmeAir where is my refund?", author="dan")
    ingest(org, [first])
    brand_reply = make_event("Hi Dan, DM us please", author="AcmeAir", direction="out", in_reply_to=first.external_id)
    customer_again = make_event("done, sent it", author="dan", in_reply_to=brand_reply.external_id)
    ingest(org, [brand_reply, customer_again])
    conv = Conversation.objects.get(author__handle="dan")
    assert conv.message_count == 3
    assert conv.first_response_at == brand_reply.created_at
    assert list(conv.messages.values_list("direction", flat=True)) == ["in", "out", "in"]


def test_out_of_order_events_keep_first_and_last_times(acme, make_event, ingest):
    org = acme["org"]
    late = make_event("second thing", author="erin")
    early = make_event("first thing", author="erin", created_at=late.created_at - timedelta(hours=1))
    ingest(org, [late])
    ingest(org, [early])
    conv = Conversation.objects.get(author__handle="erin")
    assert conv.first_message_at == early.created_at
    assert conv.last_message_at == late.created_at
    assert conv.preview == "second thing"


def test_resolved_conversation_starts_fresh_for_a_new_mention(acme, make_event, ingest):
    org = acme["org"]
    ingest(org, [make_event("help", author="fay")])
    Conversation.objects.update(status=Status.RESOLVED)
    ingest(org, [make_event("help again", author="fay")])
    assert Conversation.objects.filter(author__handle="fay").count() == 2


def test_unknown_brand_is_quarantined_not_lost(acme, make_event, ingest):
    org = acme["org"]
    _, result = ingest(org, [make_event("hi", brand="nobody")])
    assert result.quarantined == 1
    q = QuarantinedEvent.objects.get()
    assert "unknown brand" in q.reason
    assert RawEvent.objects.get().state == "quarantined"


def test_processing_twice_adds_nothing(acme, make_event):
    org = acme["org"]
    accept(org.pk, [make_event("one"), make_event("two", author="zed")], "test")
    process_pending()
    RawEvent.objects.update(state="pending")  # as if a worker died after committing
    process_pending()
    assert Message.objects.count() == 2


def test_rollups_count_mentions_by_sentiment(acme, make_event, ingest):
    org = acme["org"]
    ingest(org, [make_event("terrible awful service"), make_event("great, thanks!", author="x2")])
    day = MentionRollup.objects.get(grain="d")
    assert day.total == 2
    assert day.negative == 1 and day.positive == 1
    assert MentionRollup.objects.filter(grain="m").count() == 2
