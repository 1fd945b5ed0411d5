"""Tracked issues: create, link conversations, write progress updates and approve them."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from hubbub.connectors.outbound import ReplyTooLong
from hubbub.ids import parse_id
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, get_scoped_or_404, require_role, scoped
from hubbub.web.views.common import scoped_view
from hubbub.workflow import issues as issue_services
from hubbub.workflow.models import IssueUpdate, TrackedIssue
from hubbub.workflow.views.form_support import form_error


def _ids(text: str) -> list[int]:
    """Conversation ids typed in a box ("12, #13 14"); what is not an id is left out."""
    return [i for i in map(parse_id, text.replace(",", " ").split()) if i is not None]


@scoped_view
def issues(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.AGENT)
    if request.method == "POST":
        try:
            brand_id = parse_id(request.POST.get("brand_id")) or 0
            ids = _ids(request.POST.get("conversation_ids", ""))
            issue = issue_services.create_issue(scope, brand_id, request.POST.get("title", ""), ids)
            return redirect("workflow:issue", issue_id=issue.pk)
        except ValueError as exc:
            form_error(request, exc)
    rows = scoped(TrackedIssue.objects.all(), scope).order_by("state", "-created_at")
    return render(request, "workflow/issues.html", {"issues": rows, "brands": scope.brands()})


@scoped_view
def issue(request: HttpRequest, scope: Scope, issue_id: int) -> HttpResponse:
    obj = get_scoped_or_404(TrackedIssue.objects.select_related("brand"), scope, id=issue_id)
    if request.method == "POST":
        p = request.POST
        action = p.get("action")
        try:
            if action == "link":
                ids = _ids(p.get("conversation_ids", ""))
                n = issue_services.link_conversations(scope, obj, ids)
                messages.success(request, f"Linked {n} conversation(s).")
            elif action == "unlink":
                issue_services.unlink_conversation(scope, obj, parse_id(p.get("conversation_id")) or 0)
            elif action == "update":
                issue_services.post_update(scope, obj, p.get("text", ""), closing=p.get("closing") == "on")
                messages.success(request, "Update written; it goes out once a supervisor approves it.")
            elif action in ("approve", "reject", "edit"):
                upd = get_scoped_or_404(IssueUpdate.objects.all(), scope, id=parse_id(p.get("update_id")) or 0)
                if action == "reject":
                    issue_services.reject_update(scope, upd, p.get("comment", ""))
                    messages.success(request, "Update rejected.")
                else:
                    issue_services.approve_update(scope, upd, p.get("text") if action == "edit" else None)
                    messages.success(request, "Update approved and sent to every linked conversation.")
        except (ValueError, ReplyTooLong) as exc:
            form_error(request, exc)
        nxt = p.get("next")
        return redirect(nxt if nxt == "/approvals/" else f"/issues/{obj.pk}/")
    updates = list(obj.updates.select_related("author", "approved_by").prefetch_related("deliveries"))
    convs = list(obj.conversations.select_related("author").order_by("-last_message_at"))
    return render(request, "workflow/issue.html", {"issue": obj, "updates": updates, "convs": convs})
