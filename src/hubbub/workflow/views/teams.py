"""Teams: each team's assignment policy, and agents' availability (online or away)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from hubbub.inputs import InvalidInput, form_input
from hubbub.tenancy.models import Membership, Role, Team
from hubbub.tenancy.scoping import Scope, get_scoped_or_404, require_role
from hubbub.web.views.common import scoped_view
from hubbub.workflow.inputs import AssignmentIn, AvailabilityIn
from hubbub.workflow.models import AssignmentPolicy
from hubbub.workflow.services.assignment import save_assignment_policy, set_availability
from hubbub.workflow.views.form_support import form_error


@scoped_view
def teams(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.AGENT)
    org = scope.organization_id
    team_rows = []
    for t in Team.objects.filter(organization_id=org).prefetch_related("members"):
        policy = AssignmentPolicy.objects.filter(team=t).first()
        team_rows.append((t, policy))
    members = Membership.objects.filter(organization_id=org).select_related("user").order_by("user__username")
    return render(
        request,
        "workflow/teams.html",
        {"team_rows": team_rows, "members": members, "modes": AssignmentPolicy.Mode.choices},
    )


@require_POST
@scoped_view
def team_policy(request: HttpRequest, scope: Scope, team_id: int) -> HttpResponse:
    team = get_scoped_or_404(Team.objects.all(), scope, None, id=team_id)
    try:
        form = form_input(AssignmentIn, request.POST)
        save_assignment_policy(scope, team, form.mode, form.capacity)
        messages.success(request, f"Assignment for {team.name} saved.")
    except ValueError as exc:
        form_error(request, exc)
    return redirect("workflow:teams")


@require_POST
@scoped_view
def availability(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Online ("1") or away ("0"), yours or (supervisors) a member's; then back where the form was."""
    try:
        form = form_input(AvailabilityIn, request.POST)
        set_availability(scope, form.user_id or scope.user.pk, form.available)
        messages.success(request, "Availability saved.")
    except InvalidInput as exc:
        form_error(request, exc)
    nxt = request.POST.get("next", "")  # where to go back to: a link, not an input of the action
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        return redirect(nxt)
    return redirect("workflow:teams")
