"""Merged conversations leave an alias (old id → survivor), so links to them keep working."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hubbub.inbox.merging import MergePair, merge_conversations, merged_into
from hubbub.inbox.models import Conversation, ConversationAlias, Message
from hubbub.tenancy.models import AuditEvent, Membership
from tests.inbox.merges import merged_chain

pytestmark = pytest.mark.django_db


def test_threading_a_late_parent_records_the_absorbed_id(acme, make_event, ingest, scope_of):
    org = acme["org"]
    post = make_event("@AcmeAir my bag never arrived", author="hal")
    reply = make_event("@hal mine neither", author="ivy", in_reply_to=post.external_id)
    ingest(org, [make_event("@AcmeAir flying tomorrow", author="hal")])
    hal = Conversation.objects.get()
    ingest(org, [reply])
    ivy = Message.objects.get(external_id=reply.external_id).conversation_id
    ingest(org, [post])  # joins hal's open conversation and ivy's reply: ivy's is absorbed

    alias = ConversationAlias.objects.get()
    assert (alias.organization_id, alias.old_id, alias.conversation_id) == (org.pk, ivy, hal.pk)
    assert AuditEvent.objects.get(verb="conversation.merged").data["absorbed"] == ivy
    assert merged_into(scope_of(acme["users"]["agent"]), ivy) == hal.pk


def test_a_chain_resolves_to_the_last_survivor_in_one_hop(acme, make_event, ingest, scope_of):
    org = acme["org"]
    ingest(org, [make_event(f"@AcmeAir {who} here", author=who) for who in ("ann", "bob", "cat")])
    a, b, c = (Conversation.objects.get(author__handle=who).pk for who in ("ann", "bob", "cat"))
    merge_conversations(org.pk, [MergePair(b, a)], reason="test")
    with CaptureQueriesContext(connection) as queries:
        merge_conversations(org.pk, [MergePair(c, b)], reason="test")
    repointed = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "inbox_conversationalias"')]
    assert len(repointed) == 1  # the aliases of B move with B's other rows

    assert dict(ConversationAlias.objects.values_list("old_id", "conversation_id")) == {a: c, b: c}
    scope = scope_of(acme["users"]["agent"])
    assert (merged_into(scope, a), merged_into(scope, b), merged_into(scope, c)) == (c, c, None)
    assert merged_into(scope, 999_999) is None


def test_aliases_resolve_only_within_the_organisation_and_visible_brands(make_org, make_event, ingest, scope_of):
    acme, globex = make_org("acme"), make_org("globex")
    a, _, c = merged_chain(acme["org"], make_event, ingest)
    assert merged_into(scope_of(acme["users"]["agent"]), a) == c
    assert merged_into(scope_of(globex["users"]["admin"]), a) is None
    rail_only = Membership.objects.get(user=acme["users"]["analyst"])
    rail_only.brands.set([acme["brands"]["Acme Rail"]])
    assert merged_into(scope_of(acme["users"]["analyst"]), a) is None


def test_deleting_the_survivor_deletes_its_aliases(acme, make_event, ingest):
    *_, c = merged_chain(acme["org"], make_event, ingest)
    Conversation.objects.filter(pk=c).delete()
    assert not ConversationAlias.objects.exists()


def test_the_migration_recovers_merges_made_before_it_from_the_audit(acme, make_event, ingest):
    backfill = importlib.import_module("hubbub.inbox.migrations.0007_conversationalias").aliases_of_earlier_merges
    a, b, c = merged_chain(acme["org"], make_event, ingest)
    ConversationAlias.objects.all().delete()
    AuditEvent.objects.create(
        organization=acme["org"],
        verb="conversation.merged",
        target_type="conversation",
        target_id="999998",
        data={"absorbed": 999997},
    )  # survivor gone since: no alias

    backfill(apps, connection.schema_editor())
    assert dict(ConversationAlias.objects.values_list("old_id", "conversation_id")) == {a: c, b: c}
    assert set(ConversationAlias.objects.values_list("organization_id", flat=True)) == {acme["org"].pk}
