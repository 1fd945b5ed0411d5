"""Routing inside the ingest batch: new conversations are routed in memory before they are written
(`route_planned`), so what the inbox shows must match what rules on stored conversations decide."""

from __future__ import annotations

import pytest

from hubbub.crm import services as crm
from hubbub.crm.inputs import CustomerIn
from hubbub.crm.models import Customer
from hubbub.inbox.models import Conversation, Reply
from hubbub.tenancy.models import Team
from hubbub.workflow.inputs import CannedIn, RuleIn
from hubbub.workflow.models import SLAClock
from hubbub.workflow.services.canned import save_canned
from hubbub.workflow.services.rule_admin import create_rule

pytestmark = pytest.mark.django_db


def _rule(scopes, name, conditions=None, **actions):  # type: ignore[no-untyped-def]
    return create_rule(scopes["supervisor"], RuleIn(name=name, conditions=conditions or {}, actions=actions))


def test_a_new_conversation_is_stored_already_routed(acme, scopes, make_event, ingest):
    bags = Team.objects.create(organization=acme["org"], name="Baggage")
    _rule(scopes, "lost luggage", {"keywords": ["lost bag"]}, team_id=bags.pk, priority=3, tags=["bags"])
    _, result = ingest(acme["org"], [make_event("You lost bag number two", author="ann")])
    assert result.conversations_created == 1
    conv = Conversation.objects.get(author__external_id="ann")
    assert (conv.team_id, conv.priority) == (bags.pk, 3)
    assert [t.name for t in conv.tags.all()] == ["bags"]
    assert conv.routing_log[0]["rule"] == "lost luggage"
    clock = SLAClock.objects.get(conversation=conv, metric="first_response")
    assert conv.sla_due_at == clock.due_at


def test_routing_sees_the_whole_batch_language_and_customer(acme, scopes, make_event, ingest):
    """Facts only the batch knows in memory: the first inbound message's language, the linked
    customer's tier (linked in the same batch by handle) and the author's follower count."""
    es = Team.objects.create(organization=acme["org"], name="Spanish")
    vip = Team.objects.create(organization=acme["org"], name="VIP")
    big = Team.objects.create(organization=acme["org"], name="Influencers")
    _rule(scopes, "spanish", {"languages": ["es"]}, team_id=es.pk)
    _rule(scopes, "loyal", {"customer_tiers": ["loyal"]}, team_id=vip.pk)
    _rule(scopes, "reach", {"min_followers": 10000}, team_id=big.pk)
    crm.create_customer(scopes["agent"], CustomerIn(name="Zoe Quinn", handles=["zoeq"]))
    Customer.objects.filter(name="Zoe Quinn").update(tier=Customer.Tier.LOYAL, order_count=9)
    ingest(
        acme["org"],
        [
            make_event("Mi maleta no llegó", author="lu", lang="es"),
            make_event("Where is my refund?", author="zoeq"),
            make_event("Meh", author="star", author_followers=50_000),
            make_event("Ok thanks", author="nobody"),
        ],
    )
    team_of = {c.author.external_id: c.team_id for c in Conversation.objects.select_related("author")}
    assert team_of == {"lu": es.pk, "zoeq": vip.pk, "star": big.pk, "nobody": None}


def test_spam_and_auto_replies_through_the_pipeline(
    acme, scopes, make_event, ingest, django_capture_on_commit_callbacks
):
    canned = save_canned(scopes["supervisor"], CannedIn(title="ack", body="Hi {first_name}, we are on it."))
    _rule(scopes, "spam", {"keywords": ["crypto giveaway"]}, mark_spam=True)
    _rule(scopes, "ack", {"keywords": ["broken"]}, auto_reply_canned_id=canned.pk)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(
            acme["org"],
            [
                make_event("Free crypto giveaway!!", author="bot"),
                make_event("My seat is broken", author="amy", author_name="Amy Pond"),
            ],
        )
    spam = Conversation.objects.get(author__external_id="bot")
    assert spam.is_spam and spam.status == "resolved" and spam.sla_due_at is None
    assert not SLAClock.objects.filter(conversation=spam).exists()
    reply = Reply.objects.get(conversation__author__external_id="amy")
    assert reply.text == "Hi Amy, we are on it."


def test_a_customer_writing_again_is_not_routed_twice(acme, scopes, make_event, ingest):
    bags = Team.objects.create(organization=acme["org"], name="Baggage")
    _rule(scopes, "lost luggage", {"keywords": ["lost bag"]}, team_id=bags.pk, tags=["bags"])
    ingest(acme["org"], [make_event("You lost bag", author="ann")])
    ingest(acme["org"], [make_event("Still no lost bag news", author="ann")])
    conv = Conversation.objects.get(author__external_id="ann")
    assert conv.message_count == 2
    assert len([e for e in conv.routing_log if e.get("rule")]) == 1
    assert SLAClock.objects.filter(conversation=conv, metric="first_response").count() == 1
