"""Saved views: the inbox's usual questions one click away, each with how many conversations it holds.

Why: an agent starts the day from "what is mine", a lead from "what breaches in the next 15 minutes" and "what
negative post has nobody taken", a team from its queue. Filters answer each, but five selects a time is slow,
and a count tells where to look first. The built-in views come from the organisation's teams; an agent can save
the filters in front of them under a name of their own (personal, audited like every change).

The counts are loaded by the page after the list (`hx-trigger="load"`), so a slow count never holds the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hubbub.ids import parse_id
from hubbub.inbox.models import SavedView
from hubbub.inbox.queries import InboxFilters, filter_conversations
from hubbub.tenancy.models import Team
from hubbub.tenancy.scoping import Scope
from hubbub.tenancy.services import audit
from hubbub.web.views.common import scoped_view

MAX_SAVED_VIEWS = 30
#: The inbox filters a saved view keeps (a cursor or the open conversation is a place, not a view).
FILTER_KEYS = ("q", "status", "sentiment", "lang", "assignee", "team", "network", "brand", "sort", "due", "overdue")
BREACHING_MINUTES = 15


@dataclass(frozen=True)
class View:
    name: str
    query: str  # the inbox query string, without "?"
    saved_id: int | None = None  # the agent's own view (deletable), or None for a built-in one


def clean_query(query: QueryDict | dict[str, str]) -> str:
    """The filters of `query` that make a view, in a stable order, empty ones left out."""
    return urlencode([(k, str(query.get(k))) for k in FILTER_KEYS if query.get(k)])


def built_in(scope: Scope) -> list[View]:
    views = [
        View("Mine", "assignee=me&status=open"),
        View(f"Breaching in {BREACHING_MINUTES} min", f"status=open&due={BREACHING_MINUTES}&sort=sla"),
        View("Overdue", "status=open&overdue=1&sort=sla"),
        View("Unassigned negative", "assignee=none&sentiment=negative&status=open"),
    ]
    teams = Team.objects.filter(organization_id=scope.organization_id).order_by("name").values_list("id", "name")
    views += [View(f"{name} queue", f"team={tid}&status=open") for tid, name in teams]
    return views


def views_for(scope: Scope) -> list[View]:
    own = SavedView.objects.filter(organization_id=scope.organization_id, user_id=scope.user.pk)
    return built_in(scope) + [View(v.name, v.query, v.pk) for v in own]


def count(scope: Scope, query: str) -> int:
    """How many conversations the view holds for this user: the same filters and scope as the list."""
    return filter_conversations(scope, InboxFilters.from_params(QueryDict(query))).count()


@scoped_view
def saved_views(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The views with their counts (loaded after the page), the current one marked."""
    current = clean_query(request.GET)
    rows = [(v, count(scope, v.query)) for v in views_for(scope)]
    return render(request, "inbox/_saved_views.html", {"views": rows, "current": current})


@require_POST
@scoped_view
def save_view(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Save the filters the agent is looking at under a name; back to the inbox in that view."""
    name = " ".join(request.POST.get("name", "").split())[:60]
    query = clean_query(QueryDict(_shown_query(request)))
    problem = _refusal(scope, name, query)
    if problem:
        return HttpResponse(problem, status=400, content_type="text/plain; charset=utf-8")
    try:
        with transaction.atomic():
            view = SavedView.objects.create(
                organization_id=scope.organization_id, user_id=scope.user.pk, name=name, query=query
            )
            audit(scope.organization_id, scope.user, "inbox.view_saved", view, name=name, query=query)
    except IntegrityError:
        return HttpResponse(f"You already have a view named “{name}”.", status=400, content_type="text/plain")
    response: HttpResponse = redirect(f"/?{query}")
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = f"/?{query}"
    return response


def _shown_query(request: HttpRequest) -> str:
    """The filters on screen: htmx sends the page's address (the filters push it as they change); without
    JavaScript each filter change loads the page, so the form's hidden copy is current."""
    current = request.headers.get("HX-Current-URL", "")
    if getattr(request, "htmx", False) and current:
        return urlsplit(current).query
    return request.POST.get("query", "")


def _refusal(scope: Scope, name: str, query: str) -> str:
    if not name:
        return "Give the view a name."
    if not query:
        return "Choose some filters first: this view would show the whole inbox."
    if (
        SavedView.objects.filter(organization_id=scope.organization_id, user_id=scope.user.pk).count()
        >= MAX_SAVED_VIEWS
    ):
        return f"You have {MAX_SAVED_VIEWS} saved views already; delete one first."
    return ""


@require_POST
@scoped_view
def delete_view(request: HttpRequest, scope: Scope, view_id: int) -> HttpResponse:
    """Delete one of the agent's own views (another user's answers 404, as if it did not exist)."""
    pk = parse_id(str(view_id))  # the URL takes any digits; the database does not
    own = SavedView.objects.filter(organization_id=scope.organization_id, user_id=scope.user.pk)
    view = own.filter(pk=pk).first() if pk is not None else None
    if view is None:
        raise Http404("No such view")
    with transaction.atomic():
        audit(scope.organization_id, scope.user, "inbox.view_deleted", view, name=view.name)
        view.delete()
    return saved_views(request)
