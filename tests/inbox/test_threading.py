"""Out-of-order delivery: a parent and its replies end in one conversation whatever the order they
arrive in (webhooks, backfills), within one organisation and brand, nothing lost or stored twice."""

from __future__ import annotations

import pytest
from django.utils import timezone

from hubbub.inbox.models import Conversation, Message, Status, Tag
from hubbub.inbox.threading import plan_threads
from hubbub.ingest.models import RawEvent
from hubbub.ingest.services import process_pending
from hubbub.tenancy.models import AuditEvent
from hubbub.workflow.models import Metric, SLAClock

pytestmark = pytest.mark.django_db


def thread_of(event) -> Conversation:  # type: ignore[no-untyped-def]
    return Message.objects.get(external_id=event.external_id).conversation


def handles(conv: Conversation) -> list[str]:
    return list(conv.messages.values_list("author__handle", flat=True))


def test_a_brand_reply_that_arrives_first_ends_in_the_customers_conversation(acme, make_event, ingest):
    org = acme["org"]
    question = make_event("@AcmeAir where is my refund?", author="dan")
    answer = make_event("Hi Dan, DM us please", author="AcmeAir", direction="out", in_reply_to=question.external_id)
    ingest(org, [answer])
    assert Message.objects.get(external_id=answer.external_id).awaiting_parent
    ingest(org, [question])

    conv = Conversation.objects.get()  # the brand-only conversation was absorbed
    assert conv.author.handle == "dan"
    assert handles(conv) == ["dan", "AcmeAir"]
    assert (conv.status, conv.message_count) == (Status.OPEN, 2)
    assert conv.first_message_at == question.created_at and conv.last_message_at == answer.created_at
    assert conv.first_response_at == answer.created_at
    assert conv.preview == question.text
    assert not Message.objects.filter(awaiting_parent=True).exists()
    # the routed first-response clock stops at the answer the conversation already holds
    clock = SLAClock.objects.get(conversation=conv, metric=Metric.FIRST_RESPONSE)
    assert (clock.state, clock.outcome) == (SLAClock.State.STOPPED, "met")
    assert conv.sla_due_at is None


def test_arrival_order_does_not_change_the_conversation(make_org, make_event, ingest):
    in_order, reversed_ = make_org("first"), make_org("second")
    question = make_event("@AcmeAir my bag is lost", author="eve")
    answer = make_event("Sorry Eve, checking", author="AcmeAir", direction="out", in_reply_to=question.external_id)
    again = make_event("thanks, any news?", author="eve", in_reply_to=answer.external_id)
    for batch in ([question], [answer], [again]):
        ingest(in_order["org"], batch)
    for batch in ([again], [answer], [question]):
        ingest(reversed_["org"], batch)

    fields = ["message_count", "status", "first_message_at", "last_message_at", "last_inbound_at", "preview"]
    fields += ["first_response_at", "sentiment", "intent", "urgency"]
    a = Conversation.objects.get(organization=in_order["org"])
    b = Conversation.objects.get(organization=reversed_["org"])
    assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]
    assert a.author.handle == b.author.handle == "eve"
    assert handles(a) == handles(b) == ["eve", "AcmeAir", "eve"]


def test_a_customer_reply_that_arrives_first_is_joined_by_its_parent(acme, make_event, ingest):
    org = acme["org"]
    post = make_event("@AcmeAir delays again at gate 4", author="amy")
    reply = make_event("same here, 2 hours", author="ben", in_reply_to=post.external_id)
    ingest(org, [reply])
    ingest(org, [post])
    conv = Conversation.objects.get()
    assert sorted(handles(conv)) == ["amy", "ben"]
    assert conv.message_count == 2 and conv.first_message_at == post.created_at
    assert not AuditEvent.objects.filter(verb="conversation.merged").exists()  # attached, nothing to merge


def test_a_chain_arriving_in_reverse_order_ends_in_one_conversation(acme, make_event, ingest):
    org = acme["org"]
    parent = make_event("@AcmeAir is the lounge open?", author="cat")
    child = make_event("Yes, until 22:00", author="AcmeAir", direction="out", in_reply_to=parent.external_id)
    grandchild = make_event("great, see you there", author="dora", in_reply_to=child.external_id)
    ingest(org, [grandchild])
    ingest(org, [child])
    assert list(Message.objects.filter(awaiting_parent=True).values_list("external_id", flat=True)) == [
        child.external_id
    ]
    ingest(org, [parent])

    assert Conversation.objects.count() == 1
    conv = Conversation.objects.get()
    assert list(conv.messages.values_list("external_id", flat=True)) == [
        parent.external_id,
        child.external_id,
        grandchild.external_id,
    ]
    assert conv.message_count == 3
    assert conv.first_message_at == parent.created_at and conv.last_message_at == grandchild.created_at
    assert conv.first_response_at == child.created_at
    assert not Message.objects.filter(awaiting_parent=True).exists()


def test_a_chain_in_reverse_order_within_one_batch_is_one_conversation(acme, make_event, ingest):
    org = acme["org"]
    parent = make_event("@AcmeAir wifi down on board", author="fred")
    child = make_event("We're on it", author="AcmeAir", direction="out", in_reply_to=parent.external_id)
    grandchild = make_event("still down", author="fred", in_reply_to=child.external_id)
    # clocks disagree: the replies carry earlier timestamps than their parents
    parent.created_at, grandchild.created_at = grandchild.created_at, parent.created_at
    ingest(org, [grandchild, child, parent])
    assert Conversation.objects.count() == 1
    assert Conversation.objects.get().message_count == 3
    assert not Message.objects.filter(awaiting_parent=True).exists()


@pytest.mark.parametrize("reverse", [False, True])
def test_both_orders_within_one_batch_keep_one_conversation(acme, make_event, ingest, reverse):
    org = acme["org"]
    question = make_event("@AcmeAir seat change?", author="gil")
    answer = make_event("Done, Gil", author="AcmeAir", direction="out", in_reply_to=question.external_id)
    ingest(org, [answer, question] if reverse else [question, answer])
    conv = Conversation.objects.get()
    assert handles(conv) == ["gil", "AcmeAir"]
    assert conv.first_response_at == answer.created_at and conv.status == Status.OPEN
    assert not AuditEvent.objects.filter(verb="conversation.merged").exists()
    assert not Message.objects.filter(awaiting_parent=True).exists()


def test_a_parent_that_threads_into_another_conversation_merges_them(
    acme, make_event, ingest, monkeypatch, django_capture_on_commit_callbacks
):
    org, agent = acme["org"], acme["users"]["agent"]
    ingest(org, [make_event("@AcmeAir booked a flight, no email yet", author="hal")])
    hal = Conversation.objects.get(author__handle="hal")
    post = make_event("@AcmeAir and now the app logs me out", author="hal")
    reply = make_event("@hal same problem since the update", author="ivy", in_reply_to=post.external_id)
    ingest(org, [reply])
    ivy = Conversation.objects.get(author__handle="ivy")
    ivy.assignee, ivy.team = agent, acme["team"]
    ivy.save()
    ivy.tags.add(Tag.objects.create(organization=org, name="app"))
    due = {c.conversation_id: c.due_at for c in SLAClock.objects.filter(state=SLAClock.State.RUNNING)}

    published: list[tuple[str, dict[str, object]]] = []
    monkeypatch.setattr("hubbub.inbox.merging.live.publish", lambda kind, org_id, **d: published.append((kind, d)))
    with django_capture_on_commit_callbacks(execute=True):
        ingest(org, [post])  # hal's open conversation (rule 2) and ivy's reply: one thread

    assert list(Conversation.objects.values_list("pk", flat=True)) == [hal.pk]  # the older one survives
    hal.refresh_from_db()
    assert sorted(handles(hal)) == ["hal", "hal", "ivy"]
    assert hal.message_count == 3 and hal.last_message_at == reply.created_at and hal.preview == reply.text
    assert (hal.assignee, hal.team) == (agent, acme["team"])  # kept from the absorbed conversation
    assert list(hal.tags.values_list("name", flat=True)) == ["app"]
    assert "@ivy" in hal.search_text and "merged conversation" in hal.routing_log[-1]["text"]
    # one first-response clock keeps running (the one started first), the other is cancelled
    running = SLAClock.objects.filter(conversation=hal, state=SLAClock.State.RUNNING)
    assert [c.metric for c in running] == [Metric.FIRST_RESPONSE]
    assert hal.sla_due_at == due[hal.pk] == running[0].due_at
    assert SLAClock.objects.filter(conversation=hal, outcome="cancelled").count() == 1

    entry = AuditEvent.objects.get(verb="conversation.merged")
    assert (entry.organization_id, entry.target_type, entry.target_id) == (org.pk, "conversation", str(hal.pk))
    assert entry.data["absorbed"] == ivy.pk and entry.data["messages"] == 1
    assert entry.data["parent"] == f"x:{post.external_id}"
    assert ("conversation", {"conversation_id": hal.pk, "merged": [ivy.pk]}) in published
    assert ("conversation", {"conversation_id": ivy.pk, "merged_into": hal.pk}) in published


def test_a_resolved_survivor_reopens_when_it_absorbs_an_open_conversation(acme, make_event, ingest):
    org = acme["org"]
    first = make_event("@AcmeAir is my flight on time?", author="jo")
    ingest(org, [first])
    Conversation.objects.update(status=Status.RESOLVED, resolved_at=timezone.now())
    follow_up = make_event("@AcmeAir and my connection?", author="jo", in_reply_to=first.external_id)
    reply = make_event("mine was cancelled", author="kim", in_reply_to=follow_up.external_id)
    ingest(org, [reply])
    kim = thread_of(reply)
    ingest(org, [follow_up])  # joins its parent's (resolved) conversation and kim's open one

    conv = Conversation.objects.get()
    assert conv == thread_of(first) != kim
    assert (conv.status, conv.resolved_at, conv.message_count) == (Status.OPEN, None, 3)


def test_the_same_external_ids_in_another_organisation_never_merge(make_org, make_event, ingest):
    acme, globex = make_org("acme"), make_org("globex")
    post = make_event("@AcmeAir lost my bag", author="lee", external_id="p-1")
    reply = make_event("same!", author="max", external_id="r-1", in_reply_to="p-1")
    ingest(globex["org"], [reply])
    ingest(acme["org"], [post])

    assert Conversation.objects.filter(organization=acme["org"]).get().message_count == 1
    waiting = Message.objects.get(organization=globex["org"], external_id="r-1")
    assert waiting.awaiting_parent and waiting.conversation.organization_id == globex["org"].pk
    assert not AuditEvent.objects.filter(verb="conversation.merged").exists()
    # its own parent, in its own organisation, still finds it
    ingest(globex["org"], [make_event("@AcmeAir lost my bag", author="lee", external_id="p-1")])
    assert Conversation.objects.filter(organization=globex["org"]).get().message_count == 2


def test_replies_of_another_brand_are_not_joined(acme, make_event, ingest):
    org = acme["org"]
    post = make_event("@AcmeAir train and plane both late", author="ned")
    reply = make_event("rail is worse", author="ola", brand="acme-rail", in_reply_to=post.external_id)
    ingest(org, [reply])
    ingest(org, [post])
    assert thread_of(post) != thread_of(reply)
    assert thread_of(post).brand.slug == "acme-air" and thread_of(reply).brand.slug == "acme-rail"
    assert not AuditEvent.objects.filter(verb="conversation.merged").exists()


def test_duplicates_are_still_ignored_after_a_repair(acme, make_event, ingest):
    org = acme["org"]
    question = make_event("@AcmeAir card charged twice", author="pam")
    answer = make_event("Refunded, Pam", author="AcmeAir", direction="out", in_reply_to=question.external_id)
    ingest(org, [answer])
    accepted, _ = ingest(org, [question, question])
    assert (accepted.accepted, accepted.duplicates) == (1, 1)
    again, _ = ingest(org, [answer, question])
    assert (again.accepted, again.duplicates) == (0, 2)
    RawEvent.objects.update(state="pending")  # as if a worker died after committing
    process_pending()
    assert Message.objects.count() == 2 and Conversation.objects.count() == 1
    assert Conversation.objects.get().message_count == 2
    assert AuditEvent.objects.filter(verb="conversation.merged").count() == 1


def test_the_common_case_costs_one_indexed_lookup_per_batch(acme, make_event):
    """No parent, or a known one: finding waiting replies is one query for the whole batch."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from hubbub.crm.authors import resolve_authors

    org = acme["org"]
    brand = acme["brands"]["Acme Air"]
    events = [make_event(f"hello {i}", author=f"u{i % 7}") for i in range(50)]
    events.append(make_event("re", author="u1", in_reply_to=events[0].external_id))
    profiles = resolve_authors(org.pk, events)
    with CaptureQueriesContext(connection) as queries:
        plan = plan_threads(org.pk, [(ev, brand) for ev in events], [None] * len(events), profiles)
    assert len([q for q in queries.captured_queries if "awaiting_parent" in q["sql"]]) == 1
    assert not plan.awaiting and not plan.merges and not plan.repaired and not plan.joined


def test_a_reply_and_its_parent_in_concurrent_batches_are_joined_by_the_recheck(acme, make_event, ingest, monkeypatch):
    """Two PostgreSQL workers: neither batch sees the other's uncommitted row; the re-check joins them."""
    from hubbub.inbox.out_of_order import repair_waiting_replies

    org = acme["org"]
    post = make_event("@AcmeAir no food on board", author="quin")
    reply = make_event("+1, nothing left", author="rae", in_reply_to=post.external_id)
    ingest(org, [reply])
    with monkeypatch.context() as blind:
        blind.setattr("hubbub.inbox.threading.waiting_replies", lambda org_id, keys: {})
        ingest(org, [post])
    assert thread_of(post) != thread_of(reply)

    assert repair_waiting_replies(org.pk, [("x", reply.external_id)]) == 1
    conv = Conversation.objects.get()
    assert sorted(handles(conv)) == ["quin", "rae"] and conv.message_count == 2
    assert conv.first_message_at == post.created_at
    assert not Message.objects.filter(awaiting_parent=True).exists()
    assert AuditEvent.objects.filter(verb="conversation.merged", target_id=str(conv.pk)).count() == 1
    assert repair_waiting_replies(org.pk, [("x", reply.external_id)]) == 0  # nothing left to do


def test_waiting_replies_are_rechecked_after_commit_when_workers_run_in_parallel(
    acme, make_event, ingest, monkeypatch, django_capture_on_commit_callbacks
):
    from django.db import connection

    from hubbub.inbox.tasks import recheck_waiting_replies_task

    scheduled: list[tuple[object, int]] = []
    monkeypatch.setattr(recheck_waiting_replies_task, "schedule", lambda args, delay: scheduled.append((args, delay)))
    reply = make_event("me too", author="sam", in_reply_to="not-seen-yet")
    with django_capture_on_commit_callbacks(execute=True):
        ingest(acme["org"], [reply, make_event("@AcmeAir hello", author="tia")])
    if connection.vendor == "sqlite":  # one writer at a time: every batch sees the ones before it
        assert scheduled == []
    else:
        assert scheduled == [((acme["org"].pk, [("x", reply.external_id)]), 30)]


def test_a_parent_with_replies_in_several_conversations_merges_them_all(acme, make_event, ingest):
    org = acme["org"]
    ingest(org, [make_event("@AcmeAir flight 12 delayed?", author="uma")])
    uma = Conversation.objects.get()
    post = make_event("@AcmeAir now cancelled!", author="uma")
    replies = [make_event(f"me too ({who})", author=who, in_reply_to=post.external_id) for who in ("vic", "wes")]
    ingest(org, replies)
    delayed = Tag.objects.create(organization=org, name="delay")
    for conv in Conversation.objects.exclude(pk=uma.pk):
        conv.tags.add(delayed)
    uma.tags.add(delayed)
    ingest(org, [post])

    assert list(Conversation.objects.values_list("pk", flat=True)) == [uma.pk]
    uma.refresh_from_db()
    assert uma.message_count == 4 and sorted(set(handles(uma))) == ["uma", "vic", "wes"]
    assert list(uma.tags.values_list("name", flat=True)) == ["delay"]  # one link, not three
    assert AuditEvent.objects.filter(verb="conversation.merged", target_id=str(uma.pk)).count() == 2


def test_merging_refuses_conversations_of_another_organisation_or_brand(make_org, make_event, ingest):
    from hubbub.inbox.merging import MergePair, merge_conversations

    acme, globex = make_org("acme"), make_org("globex")
    ingest(acme["org"], [make_event("hi", author="xan"), make_event("rail", author="xan", brand="acme-rail")])
    ingest(globex["org"], [make_event("hi", author="yul")])
    air, rail = (Conversation.objects.get(organization=acme["org"], brand__slug=s) for s in ("acme-air", "acme-rail"))
    other = Conversation.objects.get(organization=globex["org"])
    with pytest.raises(ValueError, match="organisation"):
        merge_conversations(acme["org"].pk, [MergePair(air.pk, other.pk)], reason="test")
    with pytest.raises(ValueError, match="brands"):
        merge_conversations(acme["org"].pk, [MergePair(air.pk, rail.pk)], reason="test")
    assert Conversation.objects.count() == 3 and Message.objects.count() == 3
