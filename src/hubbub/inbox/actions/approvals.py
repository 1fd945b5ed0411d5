"""A supervisor approves (maybe after editing) or rejects a reply held for approval. A second pair of eyes:
nobody reviews their own reply. The agent is told either way, on the conversation and live."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from hubbub import live, queueing
from hubbub.connectors.outbound import check_length
from hubbub.inbox.inputs import ApproveIn, RejectIn
from hubbub.inbox.models import Note, Reply
from hubbub.inbox.tasks import deliver_reply_task
from hubbub.inputs import checked
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import PermissionDenied, Scope, require_role, scoped
from hubbub.tenancy.services import audit


def pending_replies(scope: Scope) -> QuerySet[Reply]:
    return (
        scoped(Reply.objects.filter(state=Reply.State.PENDING_APPROVAL), scope)
        .select_related("conversation", "conversation__author", "brand", "author")
        .order_by("created_at")
    )


def do_approve_reply(scope: Scope, reply: Reply, text: str | None = None) -> Reply:
    """Approve (optionally after editing) a held reply and queue it on the exactly-once delivery."""
    _check_reviewer(scope, reply)
    edit = checked(ApproveIn, text=text).text
    new_text = reply.text if edit is None else edit
    edited = new_text != reply.text
    if edited:
        check_length(reply.conversation.network, new_text)
    with transaction.atomic():
        claimed = Reply.objects.filter(pk=reply.pk, state=Reply.State.PENDING_APPROVAL).update(
            state=Reply.State.APPROVED, approved_by=scope.user, text=new_text
        )
        if not claimed:
            raise ValueError("This reply is no longer waiting for approval.")
        original = reply.text
        reply.refresh_from_db()
        audit(
            scope.organization_id,
            scope.user,
            "reply.edit_approve" if edited else "reply.approve",
            reply,
            conversation=reply.conversation_id,
            **({"original": original, "text": new_text} if edited else {}),
        )
        who = scope.user.get_username()
        _notify(reply, scope.user, f"Reply {'edited and ' if edited else ''}approved by {who}.")
        transaction.on_commit(lambda: queueing.enqueue(deliver_reply_task, reply.pk))
    return reply


def do_reject_reply(scope: Scope, reply: Reply, comment: str) -> Reply:
    _check_reviewer(scope, reply)
    comment = checked(RejectIn, comment=comment or "").comment
    with transaction.atomic():
        claimed = Reply.objects.filter(pk=reply.pk, state=Reply.State.PENDING_APPROVAL).update(
            state=Reply.State.REJECTED, approved_by=scope.user, review_comment=comment[:2000]
        )
        if not claimed:
            raise ValueError("This reply is no longer waiting for approval.")
        reply.refresh_from_db()
        conversation = reply.conversation_id
        audit(scope.organization_id, scope.user, "reply.reject", reply, conversation=conversation, comment=comment)
        _notify(reply, scope.user, f"Reply rejected by {scope.user.get_username()}: {comment}")
    return reply


def _check_reviewer(scope: Scope, reply: Reply) -> None:
    require_role(scope, Role.SUPERVISOR)
    if reply.organization_id != scope.organization_id or reply.brand_id not in scope.brand_ids:
        raise PermissionDenied("Not part of your brands.")
    if reply.author_id == scope.user.pk:
        raise PermissionDenied("Replies need a second pair of eyes: you cannot approve or reject your own.")


def _notify(reply: Reply, reviewer: Any, text: str) -> None:
    """Tell the agent: a note on the conversation, a notice addressed to them, and the pane reloads."""
    Note.objects.create(
        organization_id=reply.organization_id, conversation_id=reply.conversation_id, author=reviewer, text=text
    )
    org = reply.organization_id
    live.publish_on_commit(
        "notice", org, user_id=reply.author_id, conversation_id=reply.conversation_id, reply_id=reply.pk, text=text
    )
    live.publish_on_commit("conversation", org, conversation_id=reply.conversation_id, reply=reply.state)
