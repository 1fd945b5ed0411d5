"""A conversation's own state: status, assignee and team, internal notes, tags. Each action checks the role,
writes, audits and announces the change once it has committed. The values are checked against the action's
input schema (`inbox.inputs`), the one the form and the API read, so every caller meets the same rule."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from hubbub import live
from hubbub.inbox.inputs import NoteIn, StatusIn, TagsIn
from hubbub.inbox.models import Conversation, Note, Status, Tag
from hubbub.inbox.signals import conversation_assigned, status_changed
from hubbub.inputs import checked
from hubbub.tenancy.models import Membership, Role, Team
from hubbub.tenancy.scoping import PermissionDenied, Scope, require_role
from hubbub.tenancy.services import audit


def announce(conv: Conversation, **data: object) -> None:
    """Tell the open pages (inbox list, thread pane) that this conversation changed, after commit."""
    live.publish_on_commit(
        "conversation", conv.organization_id, conversation_id=conv.pk, brand_id=conv.brand_id, **data
    )


def do_change_status(scope: Scope, conv: Conversation, status: str) -> Conversation:
    require_role(scope, Role.AGENT)
    status = checked(StatusIn, status=status).status
    with transaction.atomic():
        old = conv.status
        conv.status = status
        conv.resolved_at = timezone.now() if status == Status.RESOLVED else None
        conv.save(update_fields=["status", "resolved_at", "updated_at"])
        status_changed.send(sender=Conversation, conversation=conv, old_status=old)
        audit(scope.organization_id, scope.user, "conversation.status", conv, old=old, new=status)
        announce(conv, status=status)
    return conv


def do_assign(
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
        conversation_assigned.send(sender=Conversation, conversation=conv, old_assignee_id=old)
        audit(scope.organization_id, scope.user, "conversation.assign", conv, old=old, new=assignee_id, team=team_id)
        announce(conv, assignee_id=assignee_id)
    return conv


def do_add_note(scope: Scope, conv: Conversation, text: str) -> Note:
    require_role(scope, Role.AGENT)
    text = checked(NoteIn, text=text).text
    with transaction.atomic():
        note = Note.objects.create(
            organization_id=scope.organization_id, conversation=conv, author_id=scope.user.pk, text=text
        )
        audit(scope.organization_id, scope.user, "conversation.note", conv, note_id=note.pk)
        announce(conv, note=True)
    return note


def do_set_tags(scope: Scope, conv: Conversation, names: list[str]) -> list[Tag]:
    require_role(scope, Role.AGENT)
    clean = checked(TagsIn, tags=names).tags
    with transaction.atomic():
        tags = [Tag.objects.get_or_create(organization_id=scope.organization_id, name=n)[0] for n in clean]
        conv.tags.set(tags)
        audit(scope.organization_id, scope.user, "conversation.tags", conv, tags=clean)
        announce(conv, tags=clean)
    return tags
