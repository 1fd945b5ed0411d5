"""The demo's workspace as a care team would have set it up: hours, an SLA, routing, canned replies, listening.

Why: a visitor opens Workflow and Listening to see what they are for. Empty pages teach nothing, and an inbox
without routing shows none of the queues a team works from. Everything here is made through the services the
Settings pages call (as the demo's admin), so the demo exercises the same validation, audit entries and events
a user's own set-up would; and each item is made only if missing, so running the demo again adds nothing.
"""

from __future__ import annotations

from typing import Any

from hubbub.inbox.models import CannedResponse, Priority
from hubbub.listening.models import ListeningQuery
from hubbub.listening.services import save_query
from hubbub.tenancy.models import Brand, Organization, Team
from hubbub.tenancy.scoping import Scope, scope_for
from hubbub.workflow.inputs import BusinessHoursIn, CannedIn, RuleIn, SLAPolicyIn
from hubbub.workflow.models import BusinessHours, RoutingRule, SLAPolicy
from hubbub.workflow.services.canned import save_canned
from hubbub.workflow.services.policies import save_business_hours, save_sla_policy
from hubbub.workflow.services.rule_admin import create_rule

HOURS_NAME = "Care desk (Chicago)"
SLA_NAME = "Standard care"
# First and next response targets in minutes, by priority (`inbox.models.Priority`: 3 urgent, 2 high, 1 normal,
# 0 low). No resolution target: the
# history's answers come from the brands' timelines, which say when a customer was answered, not when the
# matter was settled, so every past conversation would show a resolution breach it never had.
SLA_TARGETS = {
    "first_response": {"3": 15, "2": 30, "1": 60, "0": 240},
    "next_response": {"3": 30, "2": 60, "1": 120, "0": 480},
}
BAGGAGE_WORDS = ["bag", "bags", "baggage", "luggage", "suitcase", "lost bag", "delayed bag"]
CANNED = {
    "Baggage claim": "Hi {first_name}, sorry your bag didn't arrive with you. Please DM us your file reference "
    "(it starts with your airport code) and we'll chase it with the baggage team. ^{agent_name}",
    "Rebooking": "Hi {first_name}, we're sorry about the disruption. We can rebook you on the next available "
    "flight at no cost: DM us your confirmation number and preferred times. ^{agent_name}",
}
# Per brand: what a care team listens for beyond mentions of its handle.
LISTENING = {
    "Baggage": "bag* OR luggage OR suitcase",
    "Delays and cancellations": 'delay* OR cancel* OR "stuck on the tarmac" OR "missed my connection"',
    "Praise": 'thank* OR "great service" OR love OR amazing',
}


def configure_workspace(org: Organization, admin: Any) -> None:
    """Set up hours, routing rules, canned responses and listening queries as `admin`, each only if missing.
    The organisation has the teams "Care" and "Baggage" and its brands already."""
    scope = _scope(org, admin)
    _business_hours(scope, org)
    _canned_responses(scope, org)
    _routing_rules(scope, org)
    _listening_queries(scope, org)


def adopt_sla(org: Organization, admin: Any) -> SLAPolicy:
    """The default SLA policy, in the team's business hours. The demo adopts it before importing the history,
    whose brand answers then meet or miss it as they did (`hubbub.demo_history`)."""
    scope = _scope(org, admin)
    return SLAPolicy.objects.filter(organization=org, name=SLA_NAME).first() or save_sla_policy(
        scope,
        SLAPolicyIn(
            name=SLA_NAME, targets=SLA_TARGETS, business_hours_id=_business_hours(scope, org).pk, is_default=True
        ),
    )


def _scope(org: Organization, admin: Any) -> Scope:
    scope = scope_for(admin, org.pk)
    if scope is None:
        raise RuntimeError("the demo's admin is not a member of the demo organisation")
    return scope


def _business_hours(scope: Scope, org: Organization) -> BusinessHours:
    return BusinessHours.objects.filter(organization=org, name=HOURS_NAME).first() or save_business_hours(
        scope,
        BusinessHoursIn(
            name=HOURS_NAME, timezone="America/Chicago", schedule="mon-fri 07:00-22:00\nsat-sun 09:00-18:00"
        ),
    )


def _canned_responses(scope: Scope, org: Organization) -> None:
    for title, body in CANNED.items():
        if not CannedResponse.objects.filter(organization=org, title=title).exists():
            save_canned(scope, CannedIn(title=title, body=body))


def _routing_rules(scope: Scope, org: Organization) -> None:
    """Baggage to its team, angry or urgent posts first, the rest to Care; in that order, the first match wins
    for the team (later rules still add tags and priority unless a rule stops processing)."""
    baggage = Team.objects.get(organization=org, name="Baggage")
    care = Team.objects.get(organization=org, name="Care")
    rules: list[dict[str, Any]] = [
        {
            "name": "Baggage questions to the Baggage team",
            "conditions": {"keywords": BAGGAGE_WORDS},
            "actions": {"team_id": baggage.pk, "tags": ["baggage"]},
            "stop_processing": True,
        },
        {
            "name": "Urgent complaints first",
            "conditions": {"sentiments": ["negative"], "min_urgency": 60},
            "actions": {"team_id": care.pk, "priority": int(Priority.URGENT), "tags": ["urgent"]},
            "stop_processing": True,
        },
        {
            "name": "Everything else to Care",
            "conditions": {},
            "actions": {"team_id": care.pk},
        },
    ]
    for rule in rules:
        if not RoutingRule.objects.filter(organization=org, name=rule["name"]).exists():
            create_rule(scope, RuleIn.model_validate(rule))


def _listening_queries(scope: Scope, org: Organization) -> None:
    for brand in Brand.objects.filter(organization=org).order_by("name"):
        for name, query in LISTENING.items():
            if not ListeningQuery.objects.filter(brand=brand, name=name).exists():
                save_query(scope, brand_id=brand.pk, name=name, query=query)
