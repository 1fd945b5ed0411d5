"""What the workflow forms share: the row and button a form posts, the options their selects offer and how a
refused save is shown.

The fields themselves are read into the action's input schema (`workflow.inputs`, shared with the API) by
`hubbub.inputs.form_input`. A bad value (`InvalidInput`) or a service's refusal (`ValueError`) is a sentence
meant for the supervisor, naming the field; every page shows it the same way, as an error message above the
form, so a refused save always says why.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import messages
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from ninja import Schema

from hubbub.analysis.types import INTENTS, SENTIMENTS
from hubbub.api.schemas import Id
from hubbub.connectors.models import Network
from hubbub.crm.models import Customer
from hubbub.inbox.models import CannedResponse, Priority
from hubbub.inputs import InvalidInput, form_input
from hubbub.tenancy.models import Team
from hubbub.tenancy.scoping import Scope, get_scoped_or_404
from hubbub.workflow.models import BusinessHours, SLAPolicy

M = TypeVar("M", bound=Model)


class Button(Schema):
    """The submit button pressed (`name="action"`: "delete", "up", "reject", …); "" for a form's default."""

    action: str = ""


class Picked(Button):
    """The row a form edits besides its fields (`id`, none for a new one), and the button pressed."""

    id: Id | None = None


def pressed(request: HttpRequest) -> str:
    """Which button of the posted form was pressed."""
    return form_input(Button, request.POST).action


def picked(request: HttpRequest, scope: Scope, rows: QuerySet[M]) -> tuple[M | None, str]:
    """The row a posted form edits, among the organisation's `rows`, and the button pressed. An id of no row
    the caller may see, or not an id at all, is a 404, never a new row."""
    try:
        form = form_input(Picked, request.POST)
    except InvalidInput:
        raise Http404("No such row.") from None
    return (get_scoped_or_404(rows, scope, None, id=form.id) if form.id else None), form.action


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
