"""Reply approval: why a reply is held, the supervisors' queue, approve and reject.

`approval_reasons` is the one gate every reply passes (agent, bulk and auto-replies): routing
rules, an active war-room incident and the approval policies. Approving claims the held reply
once (`pending_approval → approved`) and queues its delivery on commit; the agent is told the
outcome by a note and a live notice.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.db import transaction

from hubbub import live
from hubbub.inbox.models import Conversation, Note, Reply
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import PermissionDenied, Scope, require_role
from hubbub.tenancy.services import audit
from hubbub.workflow.models import ApprovalPolicy

log = logging.getLogger("hubbub.workflow")


def _changed(conv_or_org: Conversation | int, **data: Any) -> None:
    if isinstance(conv_or_org, Conversation):
        live.publish("conversation", conv_or_org.organization_id, conversation_id=conv_or_org.pk, **data)
    else:
        live.publish("conversation", conv_or_org, **data)


def _active_incident(brand_id: int) -> Any:
    """The listening app's war-room incident for this brand, if that feature is installed."""
    try:
        from hubbub.listening import services as listening_services
    except ImportError:  # pragma: no cover
        return None
    fn = getattr(listening_services, "active_incident", None)
    if fn is None:
        return None
    try:
        return fn(brand_id)
    except Exception:  # never let a war-room bug open the gate: treat as "incident" below
        log.exception("active_incident(%s) failed; holding the reply for approval", brand_id)
        return True


def approval_reasons(role: str | None, conv: Conversation, brand_id: int, text: str) -> list[str]:
    """Why a reply with this text by this role on this conversation needs approval (empty: none)."""
    reasons = []
    if conv.requires_approval:
        reasons.append("routing rule requires approval for this conversation")
    incident: Any = _active_incident(brand_id)
    if incident:
        reasons.append("the brand has an active incident (war room): every reply needs approval")
    lowered = text.lower()
    for p in ApprovalPolicy.objects.filter(organization_id=conv.organization_id, is_active=True):
        if p.roles and role not in p.roles:
            continue
        if p.brand_ids and brand_id not in p.brand_ids:
            continue
        if p.intents and conv.intent not in p.intents:
            continue
        if p.topics and conv.topic not in p.topics:
            continue
        detail = ""
        if p.sensitive_words:
            hit = [w for w in p.sensitive_words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", lowered)]
            if not hit:
                continue
            detail = f": contains {', '.join(repr(w) for w in hit)}"
        if p.during_incident:
            if not incident:
                continue
            detail += " during an active incident"
        reasons.append(f"policy '{p.name}'{detail}")
    return reasons


def reply_needs_approval(scope: Scope | None, reply: Reply) -> list[str]:
    """Reasons this reply must be approved before sending (empty: send now)."""
    return approval_reasons(scope.role if scope else None, reply.conversation, reply.brand_id, reply.text)


def pending_replies(scope: Scope) -> Any:
    from hubbub.tenancy.scoping import scoped

    return (
        scoped(Reply.objects.filter(state=Reply.State.PENDING_APPROVAL), scope)
        .select_related("conversation", "conversation__author", "brand", "author")
        .order_by("created_at")
    )


def _check_reviewer(scope: Scope, reply: Reply) -> None:
    require_role(scope, Role.SUPERVISOR)
    if reply.organization_id != scope.organization_id or reply.brand_id not in scope.brand_ids:
        raise PermissionDenied("Not part of your brands.")
    if reply.author_id == scope.user.pk:
        raise PermissionDenied("Replies need a second pair of eyes: you cannot approve or reject your own.")


def _notify(reply: Reply, reviewer: Any, text: str) -> None:
    """Tell the agent: a notice on the conversation (a note) and a live event addressed to them."""
    Note.objects.create(
        organization_id=reply.organization_id, conversation_id=reply.conversation_id, author=reviewer, text=text
    )
    live.publish(
        "notice",
        reply.organization_id,
        user_id=reply.author_id,
        conversation_id=reply.conversation_id,
        reply_id=reply.pk,
        text=text,
    )


def approve_reply(scope: Scope, reply: Reply, text: str | None = None) -> Reply:
    """Approve (optionally after editing) a held reply and send it through the exactly-once path."""
    from hubbub.connectors.outbound import check_length
    from hubbub.inbox.tasks import deliver_reply_task

    _check_reviewer(scope, reply)
    new_text = reply.text if text is None or not text.strip() else text.strip()
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
        transaction.on_commit(lambda: deliver_reply_task(reply.pk))
    _changed(reply.conversation, reply=reply.state)
    return reply


def reject_reply(scope: Scope, reply: Reply, comment: str) -> Reply:
    _check_reviewer(scope, reply)
    comment = (comment or "").strip()
    if not comment:
        raise ValueError("Say why: a rejection needs a comment for the agent.")
    with transaction.atomic():
        claimed = Reply.objects.filter(pk=reply.pk, state=Reply.State.PENDING_APPROVAL).update(
            state=Reply.State.REJECTED, approved_by=scope.user, review_comment=comment[:2000]
        )
        if not claimed:
            raise ValueError("This reply is no longer waiting for approval.")
        reply.refresh_from_db()
        audit(
            scope.organization_id,
            scope.user,
            "reply.reject",
            reply,
            conversation=reply.conversation_id,
            comment=comment,
        )
        _notify(reply, scope.user, f"Reply rejected by {scope.user.get_username()}: {comment}")
    _changed(reply.conversation, reply=reply.state)
    return reply
