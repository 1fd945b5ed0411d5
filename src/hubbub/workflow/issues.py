"""Progress updates to everyone affected: one known issue links many conversations; one
update is approved once and then sent as an individual reply to every linked
conversation, through the inbox's exactly-once delivery, with a status per conversation.

("Don't know the answer? Admit it, and update the asker on progress.")

What a person types (a title, an update, a review) is checked against the input schemas the API and the
issue pages read (`workflow.inputs`, `inbox.inputs`), whoever calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from django.db import transaction
from django.utils import timezone

from hubbub import live
from hubbub.connectors.outbound import TransientDeliveryError, check_length
from hubbub.inbox.actions.delivery import do_deliver_reply
from hubbub.inbox.actions.replies import Origin, do_create_reply
from hubbub.inbox.inputs import ApproveIn, RejectIn
from hubbub.inbox.models import Conversation, Reply
from hubbub.inputs import InvalidInput, checked
from hubbub.queueing import enqueue
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import PermissionDenied, Scope, require_role
from hubbub.tenancy.services import audit
from hubbub.workflow.inputs import IssueIn, UpdateIn
from hubbub.workflow.models import IssueDelivery, IssueUpdate, TrackedIssue
from hubbub.workflow.services.canned import render_template


def _in_scope(scope: Scope, obj: TrackedIssue | IssueUpdate) -> None:
    if obj.organization_id != scope.organization_id or obj.brand_id not in scope.brand_ids:
        raise PermissionDenied("Not part of your brands.")


def create_issue(scope: Scope, brand_id: int, title: str, conversation_ids: Sequence[int] = ()) -> TrackedIssue:
    require_role(scope, Role.AGENT)
    title = checked(IssueIn, brand_id=brand_id, title=title).title
    if brand_id not in scope.brand_ids:
        raise InvalidInput.of("brand_id", "Choose one of your brands.")
    issue = TrackedIssue.objects.create(
        organization_id=scope.organization_id, brand_id=brand_id, title=title, created_by=scope.user
    )
    audit(scope.organization_id, scope.user, "issue.create", issue, title=issue.title)
    if conversation_ids:
        link_conversations(scope, issue, conversation_ids)
    return issue


def link_conversations(scope: Scope, issue: TrackedIssue, conversation_ids: Sequence[int]) -> int:
    """Link conversations of the issue's brand (others are ignored: never another tenant's)."""
    require_role(scope, Role.AGENT)
    _in_scope(scope, issue)
    convs = list(
        Conversation.objects.filter(
            organization_id=scope.organization_id, brand_id=issue.brand_id, id__in=list(conversation_ids)
        ).values_list("id", flat=True)
    )
    issue.conversations.add(*convs)
    if convs:
        audit(scope.organization_id, scope.user, "issue.link", issue, conversations=convs)
    return len(convs)


def unlink_conversation(scope: Scope, issue: TrackedIssue, conversation_id: int) -> None:
    require_role(scope, Role.AGENT)
    _in_scope(scope, issue)
    issue.conversations.remove(conversation_id)
    audit(scope.organization_id, scope.user, "issue.unlink", issue, conversation=conversation_id)


def post_update(scope: Scope, issue: TrackedIssue, text: str, closing: bool = False) -> IssueUpdate:
    """Write an update; it always waits for one approval before going to everyone."""
    require_role(scope, Role.AGENT)
    _in_scope(scope, issue)
    text = checked(UpdateIn, text=text).text
    if issue.state == TrackedIssue.State.FIXED:
        raise ValueError("This issue is closed; open a new one for a new problem.")
    _check_lengths(issue, text)
    update = IssueUpdate.objects.create(
        organization_id=scope.organization_id,
        brand_id=issue.brand_id,
        issue=issue,
        text=text,
        is_closing=closing,
        author=scope.user,
    )
    audit(scope.organization_id, scope.user, "issue_update.create", update, issue=issue.pk, closing=closing)
    live.publish("approvals", scope.organization_id, issue_update=update.pk, brand_id=update.brand_id)
    return update


def _check_lengths(issue: TrackedIssue, text: str) -> None:
    """The rendered update must fit every linked conversation's network."""
    for conv in issue.conversations.select_related("author", "author__customer", "brand"):
        check_length(conv.network, render_template(text, conv, None))


def approve_update(scope: Scope, update: IssueUpdate, text: str | None = None) -> IssueUpdate:
    """Approve once, then send one reply per linked conversation (each exactly once)."""
    require_role(scope, Role.SUPERVISOR)
    _in_scope(scope, update)
    if update.author_id == scope.user.pk:
        raise PermissionDenied("Updates need a second pair of eyes: you cannot approve your own.")
    edit = checked(ApproveIn, text=text).text
    new_text = update.text if edit is None else edit
    if new_text != update.text:
        _check_lengths(update.issue, new_text)
    with transaction.atomic():
        claimed = IssueUpdate.objects.filter(pk=update.pk, state=IssueUpdate.State.PENDING_APPROVAL).update(
            state=IssueUpdate.State.SENDING, approved_by=scope.user, text=new_text
        )
        if not claimed:
            raise ValueError("This update is no longer waiting for approval.")
        update.refresh_from_db()
        audit(scope.organization_id, scope.user, "issue_update.approve", update, edited=new_text != update.text)
        convs = list(update.issue.conversations.select_related("author", "author__customer", "brand"))
        deliveries = []
        for conv in convs:
            # the same road as every reply: this supervisor's approval of the update covers the approval check
            reply = do_create_reply(
                scope,
                conv,
                render_template(new_text, conv, update.author),
                Origin.ISSUE,
                author=update.author,
                approved_with=f"progress update #{update.pk}",
            )
            deliveries.append(
                IssueDelivery(organization_id=update.organization_id, update=update, conversation=conv, reply=reply)
            )
        IssueDelivery.objects.bulk_create(deliveries)
        from hubbub.workflow.tasks import send_issue_update_task  # tasks imports this module: a cycle

        transaction.on_commit(partial(enqueue, send_issue_update_task, update.pk))
    return update


def reject_update(scope: Scope, update: IssueUpdate, comment: str) -> IssueUpdate:
    require_role(scope, Role.SUPERVISOR)
    _in_scope(scope, update)
    comment = checked(RejectIn, comment=comment).comment
    claimed = IssueUpdate.objects.filter(pk=update.pk, state=IssueUpdate.State.PENDING_APPROVAL).update(
        state=IssueUpdate.State.REJECTED, approved_by=scope.user, review_comment=comment[:2000]
    )
    if not claimed:
        raise ValueError("This update is no longer waiting for approval.")
    update.refresh_from_db()
    audit(scope.organization_id, scope.user, "issue_update.reject", update, comment=comment)
    return update


_DELIVERY_STATUS: dict[str, str] = {
    Reply.State.SENT: IssueDelivery.Status.SENT,
    Reply.State.FAILED: IssueDelivery.Status.FAILED,
}


def send_update(update_id: int) -> dict[str, int]:
    """Deliver every queued reply of an approved update; safe to run again (exactly once each)."""
    update = IssueUpdate.objects.select_related("issue").get(pk=update_id)
    counts = {"sent": 0, "failed": 0}
    for d in IssueDelivery.objects.filter(update=update).exclude(status=IssueDelivery.Status.SENT):
        if d.reply_id is None:
            continue
        try:
            reply = do_deliver_reply(d.reply_id)
        except TransientDeliveryError as exc:  # the reply's own delivery task tries again later
            d.status, d.error = IssueDelivery.Status.QUEUED, exc.reason[:500]
        else:  # sent, failed for good, or still on its way with its own task (sending, waiting to retry)
            d.status = _DELIVERY_STATUS.get(reply.state, IssueDelivery.Status.QUEUED)
            d.error = reply.error[:500]
        d.save(update_fields=["status", "error"])
        counts[d.status] = counts.get(d.status, 0) + 1
    IssueUpdate.objects.filter(pk=update.pk).update(state=IssueUpdate.State.SENT)
    if update.is_closing and update.issue.state != TrackedIssue.State.FIXED:
        TrackedIssue.objects.filter(pk=update.issue_id).update(state=TrackedIssue.State.FIXED, fixed_at=timezone.now())
    audit(update.organization_id, update.approved_by, "issue_update.sent", update, **counts)
    live.publish("issue", update.organization_id, issue_id=update.issue_id, brand_id=update.brand_id, **counts)
    return counts
