"""What the workflow forms share: the options their selects offer and how a refused save is shown.

A service raises `ValueError` with a sentence meant for the supervisor; every page shows it the
same way, as an error message above the form, so a refused save always says why.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest

from hubbub.analysis.types import INTENTS, SENTIMENTS
from hubbub.connectors.models import Network
from hubbub.crm.models import Customer
from hubbub.inbox.models import CannedResponse, Priority
from hubbub.tenancy.models import Team
from hubbub.tenancy.scoping import Scope
from hubbub.workflow.models import BusinessHours, SLAPolicy


def form_error(request: HttpRequest, exc: Exception) -> None:
    """Show a service's refusal to the user as it was worded."""
    messages.error(request, str(exc))


def form_choices(scope: Scope) -> dict[str, Any]:
    """The options of the rule and policy forms' selects, limited to the caller's organisation."""
    org = scope.organization_id
    return {
        "brands": scope.brands(),
        "networks": Network.choices,
        "intents": INTENTS,
        "sentiments": SENTIMENTS,
        "tiers": Customer.Tier.choices,
        "teams": Team.objects.filter(organization_id=org),
        "priorities": Priority.choices,
        "sla_policies": SLAPolicy.objects.filter(organization_id=org),
        "hours": BusinessHours.objects.filter(organization_id=org),
        "canned": CannedResponse.objects.filter(organization_id=org),
    }
