"""Authors become customers: exact evidence links at once, fuzzy evidence is suggested for an agent."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hubbub.crm import customer_merges, identity_links, privacy, services
from hubbub.crm.inputs import CustomerIn
from hubbub.crm.models import Customer, IdentityLink, Interaction, MergeRecord, Order, SocialProfile
from hubbub.inbox.models import Message
from hubbub.ingest.models import QuarantinedEvent, RawEvent


@pytest.fixture
def agent(acme, scope_of):  # type: ignore[no-untyped-def]
    return scope_of(acme["users"]["agent"])


def customer(scope, **kw):  # type: ignore[no-untyped-def]
    return services.create_customer(scope, CustomerIn(**kw))


def test_handle_stored_on_customer_links_the_author(acme, agent, make_event, ingest) -> None:
    ann = customer(agent, name="Ann Lee", handles=["@AnnLee"])
    ingest(acme["org"], [make_event("my bag is lost", author="annlee")])
    p = SocialProfile.objects.get(external_id="annlee")
    assert p.customer_id == ann.pk
    link = IdentityLink.objects.get(profile=p)
    assert (link.method, link.status, link.confidence) == ("handle", "auto", 1.0)


def test_email_or_phone_written_in_a_message_links_the_author(acme, agent, make_event, ingest) -> None:
    bob = customer(agent, name="Bob Ray", email="bob@example.com")
    cy = customer(agent, name="Cy Young", phone="+1 (555) 777-1234")
    ingest(
        acme["org"],
        [
            make_event("it's BOB@example.com, booking ABC", author="b1"),
            make_event("call me on 555-777-1234 please", author="c1"),
            make_event("nothing to see", author="d1"),
        ],
    )
    assert SocialProfile.objects.get(external_id="b1").customer_id == bob.pk
    assert SocialProfile.objects.get(external_id="c1").customer_id == cy.pk
    assert SocialProfile.objects.get(external_id="d1").customer_id is None
    assert IdentityLink.objects.get(profile__external_id="b1").method == "email"


def test_an_identifier_shared_by_two_customers_is_only_suggested(acme, agent, make_event, ingest) -> None:
    customer(agent, name="A", email="shared@example.com")
    customer(agent, name="B", email="shared@example.com")
    ingest(acme["org"], [make_event("shared@example.com", author="s1")])
    p = SocialProfile.objects.get(external_id="s1")
    assert p.customer_id is None
    assert IdentityLink.objects.filter(profile=p, status="suggested").count() == 2


def test_loyal_customer_value_raises_urgency_with_a_reason(acme, agent, make_event, ingest) -> None:
    big = customer(agent, name="Big Spender", handles=["whale"])
    Order.objects.create(
        organization=acme["org"], customer=big, ordered_at=datetime(2026, 1, 1, tzinfo=UTC), amount=25000
    )
    services.recompute_customers(acme["org"].pk, [big.pk])
    ingest(acme["org"], [make_event("my flight was cancelled again", author="whale")])
    msg = Message.objects.get(author__external_id="whale")
    assert any("customer value" in r for r in msg.analysis.get("urgency_reasons", []))


def test_fuzzy_match_is_suggested_then_confirmed_by_an_agent(acme, agent, make_event, ingest) -> None:
    rob = customer(agent, name="Robert Smithers", location="Boston")
    customer(agent, name="Jane Smithers", location="Denver")
    ingest(acme["org"], [make_event("hi", author="u9", author_name="Bob Smithers", author_location="Boston, MA")])
    p = SocialProfile.objects.get(external_id="u9")
    services.tier_rules(acme["org"].pk)
    services.TierRules.objects.filter(organization=acme["org"]).update(auto_link_threshold=1.01)
    made = identity_links.suggest_links(acme["org"].pk, [p.pk])
    best = max(made, key=lambda link: link.confidence)
    assert best.customer_id == rob.pk and best.status == "suggested" and best.confidence > 0.9
    identity_links.confirm_suggestion(agent, best)
    p.refresh_from_db()
    best.refresh_from_db()
    assert p.customer_id == rob.pk
    assert best.confirmed_by == acme["users"]["agent"] and best.confirmed_at is not None
    assert best.method == "fuzzy"


def test_a_rejected_suggestion_is_not_made_again(acme, agent, make_event, ingest) -> None:
    customer(agent, name="Robert Smithers", location="Boston")
    ingest(acme["org"], [make_event("hi", author="u9", author_name="Rob Smithers", author_location="Boston")])
    p = SocialProfile.objects.get(external_id="u9")
    services.TierRules.objects.update_or_create(organization=acme["org"], defaults={"auto_link_threshold": 1.01})
    (link,) = identity_links.suggest_links(acme["org"].pk, [p.pk])
    identity_links.reject_suggestion(agent, link)
    assert identity_links.suggest_links(acme["org"].pk, [p.pk]) == []


def test_merge_and_undo_keep_every_message_profile_and_order(acme, agent, make_event, ingest) -> None:
    a = customer(agent, name="Ann Lee", handles=["ann_x"])
    b = customer(agent, name="Ann L.", email="ann@example.com", handles=["ann_m"])
    ingest(acme["org"], [make_event("one", author="ann_x"), make_event("two", author="ann_m", network="mastodon")])
    for c, amt in ((a, 10), (b, 20)):
        Order.objects.create(
            organization=acme["org"], customer=c, ordered_at=datetime(2026, 1, 1, tzinfo=UTC), amount=amt
        )
    services.log_interaction(agent, b, "phone", "Called about refund")
    services.recompute_customers(acme["org"].pk, [a.pk, b.pk])

    record = customer_merges.merge_customers(agent, a, b)
    a.refresh_from_db()
    assert a.email == "ann@example.com" and a.order_count == 2 and str(a.lifetime_value) == "30.00"
    assert SocialProfile.objects.filter(customer=a).count() == 2
    assert Interaction.objects.filter(customer=a).count() == 1
    assert Message.objects.filter(author__customer=a).count() == 2
    assert not services.customers_qs(agent).filter(pk=b.pk).exists()

    customer_merges.undo_merge(agent, MergeRecord.objects.get(pk=record.pk))
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.email == "" and b.merged_into_id is None
    assert SocialProfile.objects.get(external_id="ann_m").customer_id == b.pk
    assert (a.order_count, b.order_count) == (1, 1)
    assert Message.objects.filter(author__customer=b).count() == 1
    assert Interaction.objects.filter(customer=b).count() == 1
    assert Message.objects.count() == 2


def test_export_and_erase_on_request(acme, scope_of, make_event, ingest) -> None:
    sup = scope_of(acme["users"]["supervisor"])
    ann = customer(sup, name="Ann Lee", email="ann@example.com", handles=["annlee"])
    Order.objects.create(organization=acme["org"], customer=ann, ordered_at=datetime(2026, 1, 1, tzinfo=UTC), amount=5)
    ingest(acme["org"], [make_event("ann@example.com here, my bag is lost", author="annlee", author_name="Ann Lee")])
    raw = RawEvent.objects.get(external_id=Message.objects.get().external_id)
    QuarantinedEvent.objects.create(
        organization=acme["org"],
        source="webhook:x",
        reason="late duplicate",
        raw=json.dumps(raw.payload),
        raw_event=raw,
    )
    data = privacy.export_customer_data(sup, ann)
    assert data["customer"]["email"] == "ann@example.com"
    assert data["messages"][0]["text"].startswith("ann@example.com")
    counts = privacy.erase_customer(sup, ann)
    assert counts == {"profiles": 1, "messages": 1, "orders": 1}
    ann.refresh_from_db()
    assert (ann.name, ann.email, ann.handles) == ("[erased]", "", [])
    assert Message.objects.get(author__customer=ann).text == "[erased]"
    p = SocialProfile.objects.get(customer=ann)
    assert p.display_name == "" and p.handle.startswith("erased-")
    assert Order.objects.filter(customer=ann).count() == 1  # anonymous counts stay for reports
    # The copies ingest keeps (raw event log, quarantine) lose the personal data too; the raw row stays as the
    # idempotency key that keeps a re-delivered event from coming back.
    raw.refresh_from_db()
    assert raw.payload["text"] == "[erased]"
    assert (raw.payload["author_name"], raw.payload["author_handle"], raw.payload["extra"]) == ("", "", {})
    assert "ann@example.com" not in json.dumps(raw.payload) and "Ann Lee" not in json.dumps(raw.payload)
    assert QuarantinedEvent.objects.get(raw_event=raw).raw == "[erased]"
    from hubbub.tenancy.models import AuditEvent

    assert AuditEvent.objects.filter(verb="crm.customer.erased").exists()


def test_erase_is_refused_when_nothing_erases_the_raw_events(acme, scope_of) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from hubbub.crm.models import Customer as CustomerModel
    from hubbub.crm.signals import customer_erased

    sup = scope_of(acme["users"]["supervisor"])
    ann = customer(sup, name="Ann Lee")
    receivers = customer_erased.receivers
    customer_erased.receivers = []
    customer_erased.sender_receivers_cache.clear()
    try:
        assert not customer_erased.has_listeners(CustomerModel)
        with pytest.raises(ImproperlyConfigured):
            privacy.erase_customer(sup, ann)
    finally:
        customer_erased.receivers = receivers
        customer_erased.sender_receivers_cache.clear()
    ann.refresh_from_db()
    assert ann.name == "Ann Lee" and ann.erased_at is None


def test_agents_may_not_erase(acme, agent) -> None:
    from hubbub.tenancy.scoping import PermissionDenied

    c = customer(agent, name="X")
    with pytest.raises(PermissionDenied):
        privacy.erase_customer(agent, c)


def test_another_org_never_sees_customers(acme, make_org, scope_of, agent) -> None:
    customer(agent, name="Ann Lee")
    other = make_org("globex")
    assert services.customers_qs(scope_of(other["users"]["admin"])).count() == 0
    assert Customer.objects.count() == 1


def test_typo_in_last_name_still_finds_the_customer(acme, agent, make_event, ingest) -> None:
    jon = customer(agent, name="Jonathan Smithson", location="Denver")
    ingest(acme["org"], [make_event("hi", author="u7", author_name="Jonathan Smihtson", author_location="Denver")])
    p = SocialProfile.objects.get(external_id="u7")
    made = identity_links.suggest_links(acme["org"].pk, [p.pk])
    assert made and made[0].customer_id == jon.pk


def test_writing_style_of_a_linked_profile_counts_as_evidence() -> None:
    from hubbub.crm.matching import CustomerFacts, ProfileFacts, score_pair

    p = ProfileFacts("Ann Lee", "ann2", "", ["flight delayed again, sooo annoyed!!! #neveragain"])
    same = CustomerFacts("Ann Lee", "", ["my bag is lost, sooo annoyed!!! #neveragain"])
    other = CustomerFacts("Ann Lee", "", ["Please advise on the refund procedure for booking 1234."])
    assert score_pair(p, same)[0] > score_pair(p, other)[0]
    assert "writing" in score_pair(p, same)[1]


def test_nicknames_typos_and_case_score_high_but_other_people_do_not() -> None:
    from hubbub.crm.matching import CustomerFacts, ProfileFacts, score_pair

    rob = CustomerFacts("Robert Fisher", "Boston")
    assert score_pair(ProfileFacts("Bob Fisher", "", "Boston, MA"), rob)[0] >= 0.9
    assert score_pair(ProfileFacts("ROBERT FISHER", "", "Boston"), rob)[0] >= 0.9
    assert score_pair(ProfileFacts("Robret Fisher", "", "Boston"), rob)[0] >= 0.82
    assert score_pair(ProfileFacts("Rachel Fisher", "", "Boston"), rob)[0] < 0.82
    assert score_pair(ProfileFacts("Robert Fisher", "", "Seattle"), rob)[0] < 0.9


def test_new_unlinked_authors_get_suggestions_in_the_background(acme, agent, make_event, ingest) -> None:
    from django.utils import timezone

    from hubbub.crm.tasks import suggest_for_new_profiles

    rob = customer(agent, name="Robert Smithers", location="Boston")
    ingest(acme["org"], [make_event("hi", author="u5", author_name="Rob Smithers", author_location="Boston")])
    SocialProfile.objects.filter(external_id="u5").update(first_seen_at=timezone.now())
    assert suggest_for_new_profiles() == 1
    assert IdentityLink.objects.get(profile__external_id="u5").customer_id == rob.pk
    assert suggest_for_new_profiles() == 0  # scored once
