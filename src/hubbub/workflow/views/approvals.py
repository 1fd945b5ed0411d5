"""The approvals queue: held replies and issue updates, and the supervisor's approve, edit or reject."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hubbub.connectors.outbound import ReplyTooLong
from hubbub.inbox.actions.approvals import do_approve_reply, do_reject_reply, pending_replies
from hubbub.inbox.inputs import ApproveIn, RejectIn
from hubbub.inbox.models import Reply
from hubbub.inputs import form_input
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, get_scoped_or_404, require_role, scoped
from hubbub.web.views.common import scoped_view
from hubbub.workflow.models import IssueUpdate
from hubbub.workflow.views.form_support import form_error, pressed


@scoped_view
def approvals(request: HttpRequest, scope: Scope) -> HttpResponse:
    require_role(scope, Role.SUPERVISOR)
    updates = scoped(IssueUpdate.objects.filter(state=IssueUpdate.State.PENDING_APPROVAL), scope).select_related(
        "issue", "author"
    )
    return render(
        request,
        "workflow/approvals.html",
        {"replies": list(pending_replies(scope)), "updates": list(updates)},
    )


@require_POST
@scoped_view
def approval_decide(request: HttpRequest, scope: Scope, reply_id: int) -> HttpResponse:
    """Approve, edit and approve, or reject (the button pressed); the text and the comment are read into the
    API's own inputs (`ApproveIn`, `RejectIn`), so a rejection without a comment is refused in the same words."""
    reply = get_scoped_or_404(Reply.objects.select_related("conversation"), scope, id=reply_id)
    action = pressed(request)
    try:
        if action == "approve":
            do_approve_reply(scope, reply)
            messages.success(request, f"Approved and sent the reply on #{reply.conversation_id}.")
        elif action == "edit":
            do_approve_reply(scope, reply, form_input(ApproveIn, request.POST).text)
            messages.success(request, f"Edited, approved and sent the reply on #{reply.conversation_id}.")
        elif action == "reject":
            do_reject_reply(scope, reply, form_input(RejectIn, request.POST).comment)
            messages.success(request, "Rejected; the agent has been told why.")
        else:
            messages.error(request, "Choose approve, edit and approve, or reject.")
    except (ValueError, ReplyTooLong) as exc:
        form_error(request, exc)
    return redirect("workflow:approvals")
