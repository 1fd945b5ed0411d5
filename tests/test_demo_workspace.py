"""The demo opens on a configured workspace: posts land in the teams' queues under an SLA, Listening has
queries, and running the set-up again adds nothing."""

# The demo adopts the SLA before its history import (see `adopt_sla`); here both come before the posts.

from __future__ import annotations

from typing import Any

from hubbub.demo_workspace import CANNED, LISTENING, SLA_NAME, adopt_sla, configure_workspace
from hubbub.inbox.models import CannedResponse, Conversation, Priority
from hubbub.listening.models import ListeningQuery
from hubbub.tenancy.models import AuditEvent, Team
from hubbub.workflow.models import RoutingRule, SLAClock, SLAPolicy


def _counts(org: Any) -> tuple[int, ...]:
    return (
        RoutingRule.objects.filter(organization=org).count(),
        SLAPolicy.objects.filter(organization=org).count(),
        CannedResponse.objects.filter(organization=org).count(),
        ListeningQuery.objects.filter(organization=org).count(),
    )


def test_posts_are_routed_to_the_teams_queues_under_the_demo_sla(acme, make_event, ingest) -> None:
    org = acme["org"]
    baggage = Team.objects.create(organization=org, name="Baggage")
    configure_workspace(org, acme["users"]["admin"])
    adopt_sla(org, acme["users"]["admin"])

    ingest(
        org,
        [
            make_event("@AcmeAir my suitcase never arrived in Denver", author="ann"),
            make_event("@AcmeAir what time does boarding start for AC12?", author="bob"),
            make_event(  # furious and widely seen: urgency well above the rule's 60
                "@AcmeAir worst airline ever, stranded 9 hours, no help, disgusting!!",
                author="cy",
                author_followers=50_000,
                retweets=40,
            ),
        ],
    )

    by_author = {c.author.handle: c for c in Conversation.objects.select_related("author")}
    assert by_author["ann"].team_id == baggage.pk and by_author["ann"].tags.filter(name="baggage").exists()
    assert by_author["bob"].team_id == acme["team"].pk
    sla = SLAPolicy.objects.get(organization=org, name=SLA_NAME)
    assert sla.is_default and SLAClock.objects.filter(conversation=by_author["bob"]).exists()
    # the urgent rule makes a furious post urgent, and urgent has the shortest first-response target
    cy = by_author["cy"]
    assert cy.priority == Priority.URGENT, (cy.sentiment, cy.urgency, cy.routing_log)
    assert by_author["cy"].tags.filter(name="urgent").exists()
    targets = [sla.target_minutes("first_response", int(p)) for p in (Priority.URGENT, Priority.NORMAL, Priority.LOW)]
    assert targets == sorted(targets) and targets[0] < targets[-1]
    names = set(ListeningQuery.objects.filter(brand=acme["brands"]["Acme Air"]).values_list("name", flat=True))
    assert names == set(LISTENING)
    assert set(CANNED) <= set(CannedResponse.objects.filter(organization=org).values_list("title", flat=True))
    # made through the services, so the admin's set-up is in the audit log like anyone's
    verbs = set(AuditEvent.objects.filter(organization=org).values_list("verb", flat=True))
    assert {"rule.create", "sla_policy.save", "canned.save", "listening.query.save"} <= verbs


def test_running_the_set_up_again_adds_nothing(acme) -> None:
    org, admin = acme["org"], acme["users"]["admin"]
    Team.objects.create(organization=org, name="Baggage")
    configure_workspace(org, admin)
    adopt_sla(org, admin)
    first = _counts(org)
    configure_workspace(org, admin)
    adopt_sla(org, admin)
    assert _counts(org) == first and all(first)
