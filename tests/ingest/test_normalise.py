"""accept() makes every event storable, whatever its source: what a database refuses never reaches a batch."""

from __future__ import annotations

import pytest

from hubbub.crm.models import SocialProfile
from hubbub.inbox.models import Message
from hubbub.ingest.models import RawEvent
from hubbub.ingest.normalise import MAX_COUNT

pytestmark = pytest.mark.django_db


def test_what_no_database_can_hold_is_repaired_and_the_mention_stored(acme, make_event, ingest):
    deep: object = "bottom"
    for _ in range(300):  # deeper than orjson writes or reads back
        deep = [deep]
    event = make_event(
        "refund\x00 please \ud83d",  # a NUL (PostgreSQL refuses it) and half an emoji (nothing can encode it)
        author="\ud800nina",
        author_name="Nina\x00",
        author_followers=2**70,
        retweets=-5,
        extra={"deep": deep, "big": 2**70, "nan": float("nan"), "k\x00ey": "v\udfff"},
    )

    accepted, result = ingest(acme["org"], [event])

    assert (accepted.accepted, result.processed) == (1, 1)
    message = Message.objects.get()
    assert message.text == "refund please \ufffd" and message.retweets == 0
    profile = SocialProfile.objects.get()
    assert (profile.handle, profile.display_name, profile.followers) == ("\ufffdnina", "Nina", MAX_COUNT)
    extra = RawEvent.objects.get().payload["extra"]
    assert extra["big"] == str(2**70) and extra["nan"] is None and extra["key"] == "v\ufffd"
    assert "nested deeper than 32 levels" in str(extra["deep"])


def test_a_clean_event_is_left_as_it_was(make_event):
    from hubbub.ingest.normalise import normalise

    event = make_event("plain text, café ☕", author_followers=12, extra={"lang_guess": "fr", "score": 0.5})
    before = event.to_payload()
    assert normalise(event).to_payload() == before
