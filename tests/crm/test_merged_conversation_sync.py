"""The record of conversations logged in HubSpot (`SyncedActivity`) follows a conversation merge: it names the
survivor, never the deleted conversation, and the next sync writes no second note for the merged thread."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection

from hubbub.crm import services, sync
from hubbub.crm.inputs import CustomerIn
from hubbub.crm.models import SyncedActivity
from hubbub.inbox.merging import MergePair, merge_conversations
from hubbub.inbox.models import Conversation, ConversationAlias

from .test_hubspot import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_conversations(acme, scope_of, make_event, ingest):  # type: ignore[no-untyped-def]
    """Two conversations of Ann (a customer), one after the other: the first resolved, the second open."""
    services.create_customer(
        scope_of(acme["users"]["agent"]), CustomerIn(name="Ann Lee", email="ann@example.com", handles=["ann"])
    )
    ingest(acme["org"], [make_event("@AcmeAir my bag is lost", author="ann")])
    first = Conversation.objects.get()
    Conversation.objects.filter(pk=first.pk).update(status="resolved")
    ingest(acme["org"], [make_event("@AcmeAir and now my flight is late", author="ann")])
    second = Conversation.objects.exclude(pk=first.pk).get()
    return first.pk, second.pk


def conversation_rows(org) -> list[tuple[int, str, list[str]]]:  # type: ignore[no-untyped-def]
    return list(
        SyncedActivity.objects.filter(organization=org, kind="conversation").values_list(
            "local_id", "remote_id", "merged_remote_ids"
        )
    )


def test_the_absorbed_conversations_note_moves_to_the_survivor_and_is_not_written_again(
    acme, connected, fake, two_conversations
):
    org = acme["org"]
    logged, survivor = two_conversations
    sync.sync_hubspot(org.pk, client=client_for(connected, []))  # logs the resolved one
    ((local_id, note_id, _),) = conversation_rows(org)
    assert local_id == logged and [n["id"] for n in fake.notes] == [note_id]

    merge_conversations(org.pk, [MergePair(survivor, logged)], reason="test")
    Conversation.objects.filter(pk=survivor).update(status="resolved")
    stats = sync.sync_hubspot(org.pk, client=client_for(connected, []))
    assert stats["notes"] == 0 and [n["id"] for n in fake.notes] == [note_id]  # no second note for one thread
    assert conversation_rows(org) == [(survivor, note_id, [])]
    assert not SyncedActivity.objects.filter(local_id=logged).exists()  # nothing names the deleted conversation


def test_when_both_were_logged_one_row_stays_and_keeps_the_other_note_id(acme, connected, fake, two_conversations):
    org = acme["org"]
    first, second = two_conversations
    sync.sync_hubspot(org.pk, client=client_for(connected, []))
    Conversation.objects.filter(pk=second).update(status="resolved")
    sync.sync_hubspot(org.pk, client=client_for(connected, []))
    notes = {row[0]: row[1] for row in conversation_rows(org)}
    assert set(notes) == {first, second} and len(fake.notes) == 2

    merge_conversations(org.pk, [MergePair(first, second)], reason="test")
    assert conversation_rows(org) == [(first, notes[first], [notes[second]])]

    stats = sync.sync_hubspot(org.pk, client=client_for(connected, []))
    assert stats["notes"] == 0 and len(fake.notes) == 2


def test_a_chain_of_merges_keeps_every_note_id_on_the_last_survivor(acme, make_event, ingest):
    org = acme["org"]
    ingest(org, [make_event(f"@AcmeAir {who} here", author=who) for who in ("ann", "bob", "cat")])
    a, b, c = (Conversation.objects.get(author__handle=who).pk for who in ("ann", "bob", "cat"))
    SyncedActivity.objects.bulk_create(
        [SyncedActivity(organization=org, kind="conversation", local_id=i, remote_id=f"n{i}") for i in (a, b)]
        + [
            SyncedActivity(organization=org, kind="interaction", local_id=a, remote_id="call")
        ]  # same number, other kind
    )
    merge_conversations(org.pk, [MergePair(b, a)], reason="test")
    assert conversation_rows(org) == [(b, f"n{b}", [f"n{a}"])]
    merge_conversations(org.pk, [MergePair(c, b)], reason="test")
    assert conversation_rows(org) == [(c, f"n{b}", [f"n{a}"])]
    assert SyncedActivity.objects.get(kind="interaction").local_id == a


def test_the_migration_moves_rows_left_by_earlier_merges(acme, make_event, ingest):
    move = importlib.import_module(
        "hubbub.crm.migrations.0008_syncedactivity_merged_remote_ids"
    ).move_rows_of_merged_conversations
    org = acme["org"]
    ingest(org, [make_event(f"@AcmeAir {who} here", author=who) for who in ("ann", "bob", "cat")])
    a, b, c = (Conversation.objects.get(author__handle=who).pk for who in ("ann", "bob", "cat"))
    merge_conversations(org.pk, [MergePair(c, a), MergePair(c, b)], reason="test")
    # as a merge before the fix left them: rows naming the deleted conversations
    SyncedActivity.objects.bulk_create(
        [
            SyncedActivity(organization=org, kind="conversation", local_id=a, remote_id="na"),
            SyncedActivity(organization=org, kind="conversation", local_id=b, remote_id="nb"),
        ]
    )
    assert ConversationAlias.objects.count() == 2

    move(apps, connection.schema_editor())
    assert conversation_rows(org) == [(c, "na", ["nb"])]
