"""Inbox actions. Each is one plainly named function that does the write, the audit
entry and the live event together; the UI, the API, the CLI and the pipeline call these.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from hubbub import live
from hubbub.inbox.models import Conversation, Direction, Message, Note, Reply, Status, Tag
from hubbub.inbox.threading import ThreadResult, thread_events
from hubbub.tenancy.models import Membership, Role, Team
from hubbub.tenancy.scoping import PermissionDenied, Scope, require_role
from hubbub.tenancy.services import audit

__all__ = [
    "ThreadResult",
    "thread_events",
    "change_status",
    "assign_conversation",
    "add_note",
    "set_tags",
    "create_reply",
    "deliver_reply",
]

log = logging.getLogger("hubbub.inbox")
User = get_user_model()


def _changed(conv: Conversation, **data: object) -> None:
    live.publish("conversation", conv.organization_id, conversation_id=conv.pk, **data)


def change_status(scope: Scope, conv: Conversation, status: str) -> Conversation:
    require_role(scope, Role.AGENT)
    if status not in Status.values:
        raise ValueError(f"Unknown status {status!r}; use one of {', '.join(Status.values)}")
    with transaction.atomic():
        old = conv.status
        conv.status = status
        conv.resolved_at = timezone.now() if status == Status.RESOLVED else None
        conv.save(update_fields=["status", "resolved_at", "updated_at"])
        from hubbub.workflow.services.sla_hooks import on_status_changed

        on_status_changed(conv, old)
        audit(scope.organization_id, scope.user, "conversation.status", conv, old=old, new=status)
    _changed(conv, status=status)
    return conv


def assign_conversation(
    scope: Scope, conv: Conversation, assignee_id: int | None = None, team_id: int | None = None
) -> Conversation:
    """Assign to a user and/or team of the same organisation; agents may only take it themselves."""
    require_role(scope, Role.AGENT)
    if assignee_id is not None:
        if not Membership.objects.filter(organization_id=scope.organization_id, user_id=assignee_id).exists():
            raise PermissionDenied("That user is not a member of this organisation.")
        if not scope.can(Role.SUPERVISOR) and assignee_id != scope.user.pk:
            raise PermissionDenied("Agents can assign conversations only to themselves.")
    if team_id is not None and not Team.objects.filter(organization_id=scope.organization_id, id=team_id).exists():
        raise PermissionDenied("That team is not part of this organisation.")
    with transaction.atomic():
        old = conv.assignee_id
        conv.assignee_id = assignee_id
        if team_id is not None:
            conv.team_id = team_id
        conv.save(update_fields=["assignee", "team", "updated_at"])
        audit(scope.organization_id, scope.user, "conversation.assign", conv, old=old, new=assignee_id, team=team_id)
    _changed(conv, assignee_id=assignee_id)
    return conv


NOTE_MAX_CHARS = 10_000


def add_note(scope: Scope, conv: Conversation, text: str) -> Note:
    require_role(scope, Role.AGENT)
    text = text.strip()
    if not text:
        raise ValueError("A note needs some text.")
    if len(text) > NOTE_MAX_CHARS:
        raise ValueError(
            f"A note is at most {NOTE_MAX_CHARS:,} characters; this one has {len(text):,}. Shorten it or split it."
        )
    note = Note.objects.create(
        organization_id=scope.organization_id, conversation=conv, author_id=scope.user.pk, text=text
    )
    audit(scope.organization_id, scope.user, "conversation.note", conv, note_id=note.pk)
    _changed(conv, note=True)
    return note


def set_tags(scope: Scope, conv: Conversation, names: list[str]) -> list[Tag]:
    require_role(scope, Role.AGENT)
    clean = sorted({n.strip().lower()[:60] for n in names if n.strip()})
    tags = [Tag.objects.get_or_create(organization_id=scope.organization_id, name=n)[0] for n in clean]
    conv.tags.set(tags)
    audit(scope.organization_id, scope.user, "conversation.tags", conv, tags=clean)
    _changed(conv, tags=clean)
    return tags


def create_reply(scope: Scope, conv: Conversation, text: str) -> Reply:
    """Store the agent's reply; send it now, or hold it for approval if a policy says so."""
    require_role(scope, Role.AGENT)
    text = text.strip()
    if not text:
        raise ValueError("The reply is empty.")
    from hubbub.connectors.outbound import check_length
    from hubbub.workflow.services.approvals import reply_needs_approval

    check_length(conv.network, text)
    with transaction.atomic():
        reply = Reply.objects.create(
            organization_id=scope.organization_id,
            brand_id=conv.brand_id,
            conversation=conv,
            author_id=scope.user.pk,
            text=text,
        )
        reasons = reply_needs_approval(scope, reply)
        if reasons:
            reply.state = Reply.State.PENDING_APPROVAL
            reply.review_comment = "; ".join(reasons)
        else:
            reply.state = Reply.State.APPROVED
        reply.save(update_fields=["state", "review_comment"])
        audit(scope.organization_id, scope.user, "reply.create", reply, conversation=conv.pk, state=reply.state)
    if reply.state == Reply.State.APPROVED:
        from hubbub.inbox.tasks import deliver_reply_task

        transaction.on_commit(lambda: deliver_reply_task(reply.pk))
    _changed(conv, reply=reply.state)
    return reply


def deliver_reply(reply_id: int) -> Reply:
    """Send an approved reply exactly once: a conditional state change claims it first."""
    claimed = Reply.objects.filter(id=reply_id, state=Reply.State.APPROVED).update(state=Reply.State.SENDING)
    reply = Reply.objects.select_related("conversation", "brand").get(id=reply_id)
    if not claimed:
        return reply  # already sent, being sent, or not approved: never post twice
    from hubbub.connectors.outbound import send_reply

    try:
        external_id = send_reply(reply)
    except Exception as exc:
        log.exception("sending reply %s failed", reply_id)
        reply.state = Reply.State.FAILED
        reply.error = str(exc)[:2000]
        reply.save(update_fields=["state", "error"])
        _changed(reply.conversation, reply=reply.state)
        return reply
    conv = reply.conversation
    now = timezone.now()
    with transaction.atomic():
        brand_profile = _brand_profile(conv)
        Message.objects.create(
            organization_id=conv.organization_id,
            brand_id=conv.brand_id,
            conversation=conv,
            network=conv.network,
            external_id=external_id,
            direction=Direction.OUT,
            author=brand_profile,
            text=reply.text,
            created_at=now,
            in_reply_to=_last_inbound_external_id(conv),
            sent_by=reply.author,
        )
        reply.state = Reply.State.SENT
        reply.external_id = external_id
        reply.sent_at = now
        reply.save(update_fields=["state", "external_id", "sent_at"])
        conv.message_count += 1
        conv.last_message_at = now
        if conv.first_response_at is None:
            conv.first_response_at = now
        conv.save(update_fields=["message_count", "last_message_at", "first_response_at", "updated_at"])
        from hubbub.workflow.services.sla_hooks import on_reply_sent

        on_reply_sent(conv)
        audit(conv.organization_id, reply.author, "reply.sent", reply, conversation=conv.pk, external_id=external_id)
    _changed(conv, reply=reply.state)
    return reply


def _brand_profile(conv: Conversation):  # type: ignore[no-untyped-def]
    from hubbub.crm.models import SocialProfile

    handle = (conv.brand.handles or [conv.brand.slug])[0]
    profile, _ = SocialProfile.objects.get_or_create(
        organization_id=conv.organization_id,
        network=conv.network,
        external_id=handle,
        defaults={"handle": handle, "display_name": conv.brand.name, "is_brand_account": True},
    )
    return profile


def _last_inbound_external_id(conv: Conversation) -> str:
    last = conv.messages.filter(direction=Direction.IN).order_by("-created_at").values_list("external_id", flat=True)
    return last.first() or ""
