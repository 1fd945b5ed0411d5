"""Tracked issues: create, link conversations, write progress updates and approve them. Each form is read into
the input the API's endpoint for the same action takes (`workflow.inputs`, `inbox.inputs`)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from ninja import Schema

from hubbub.api.schemas import Id
from hubbub.connectors.outbound import ReplyTooLong
from hubbub.inbox.inputs import ApproveIn, RejectIn
from hubbub.inputs import form_input
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, get_scoped_or_404, require_role, scoped
from hubbub.web.views.common import scoped_view
from hubbub.workflow import issues as issue_services
from hubbub.workflow.inputs import IssueIn, LinkIn, UnlinkIn, UpdateIn
from hubbub.workflow.models import IssueUpdate, TrackedIssue
from hubbub.workflow.views.form_support import form_error, pressed


class ReviewIn(Schema):
    """Which progress update a supervisor's approve / edit / reject button is for."""

    update_id: Id


@scoped_view
def issues(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The issues; the form opens one (`IssueIn`, as the API's `POST /workflow/issues`)."""
    require_role(scope, Role.AGENT)
    status = 200
    if request.method == "POST":
        try:
            form = form_input(IssueIn, request.POST)
            issue = issue_services.create_issue(scope, form.brand_id, form.title, form.conversation_ids)
            return redirect("workflow:issue", issue_id=issue.pk)
        except ValueError as exc:
            form_error(request, exc)
            status = 400
    rows = scoped(TrackedIssue.objects.all(), scope).order_by("state", "-created_at")
    return render(request, "workflow/issues.html", {"issues": rows, "brands": scope.brands()}, status=status)


def _act(request: HttpRequest, scope: Scope, issue: TrackedIssue, action: str) -> None:
    """Carry out the button pressed on the issue page, each reading the API's input for that action."""
    p = request.POST
    if action == "link":
        n = issue_services.link_conversations(scope, issue, form_input(LinkIn, p).conversation_ids)
        messages.success(request, f"Linked {n} conversation(s).")
    elif action == "unlink":
        issue_services.unlink_conversation(scope, issue, form_input(UnlinkIn, p).conversation_id)
    elif action == "update":
        form = form_input(UpdateIn, p)
        issue_services.post_update(scope, issue, form.text, closing=form.closing)
        messages.success(request, "Update written; it goes out once a supervisor approves it.")
    elif action in ("approve", "reject", "edit"):
        upd = get_scoped_or_404(IssueUpdate.objects.all(), scope, id=form_input(ReviewIn, p).update_id)
        if action == "reject":
            issue_services.reject_update(scope, upd, form_input(RejectIn, p).comment)
            messages.success(request, "Update rejected.")
        else:
            issue_services.approve_update(scope, upd, form_input(ApproveIn, p).text if action == "edit" else None)
            messages.success(request, "Update approved and sent to every linked conversation.")


@scoped_view
def issue(request: HttpRequest, scope: Scope, issue_id: int) -> HttpResponse:
    obj = get_scoped_or_404(TrackedIssue.objects.select_related("brand"), scope, id=issue_id)
    if request.method == "POST":
        try:
            _act(request, scope, obj, pressed(request))
        except (ValueError, ReplyTooLong) as exc:  # InvalidInput included: the field and why
            form_error(request, exc)
        nxt = request.POST.get("next")  # the approvals page sends its reviews back there
        return redirect(nxt if nxt == "/approvals/" else f"/issues/{obj.pk}/")
    updates = list(obj.updates.select_related("author", "approved_by").prefetch_related("deliveries"))
    convs = list(obj.conversations.select_related("author").order_by("-last_message_at"))
    return render(request, "workflow/issue.html", {"issue": obj, "updates": updates, "convs": convs})
