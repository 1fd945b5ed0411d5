"""Every reply, whatever asked for it, is created here and passes the same approval check.

An agent in the inbox, a bulk reply, a routing rule's auto-reply, an issue's progress update and the API all
call `do_create_reply`. The approval rules belong to workflow, which sits above the inbox in the app tree, so
the inbox asks the checks workflow registers at start-up (`register_approval_check`). With no check
registered it refuses to create a reply rather than send one unchecked.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction

from hubbub import live
from hubbub.connectors.outbound import check_length
from hubbub.inbox.models import Conversation, Reply
from hubbub.inbox.tasks import deliver_reply_task
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import PermissionDenied, Scope, require_role
from hubbub.tenancy.services import audit


class Origin(models.TextChoices):
    AGENT = "agent", "Agent"
    BULK = "bulk", "Bulk reply"
    AUTO = "auto", "Auto-reply"
    ISSUE = "issue", "Issue update"
    API = "api", "API"


# (role of who writes it or None for the system, conversation, text) → reasons it must be approved first
ApprovalCheck = Callable[[str | None, Conversation, str], list[str]]
_approval_checks: list[ApprovalCheck] = []


def register_approval_check(check: ApprovalCheck) -> None:
    if check not in _approval_checks:
        _approval_checks.append(check)


def approval_reasons(role: str | None, conv: Conversation, text: str) -> list[str]:
    """Why a reply with this text, by this role, on this conversation must be approved (empty: it need not)."""
    if not _approval_checks:
        raise ImproperlyConfigured("No reply approval check is registered: is hubbub.workflow installed?")
    return [reason for check in _approval_checks for reason in check(role, conv, text)]


def do_create_reply(
    scope: Scope | None,
    conv: Conversation,
    text: str,
    origin: str = Origin.AGENT,
    *,
    author: AbstractBaseUser | None = None,
    approved_with: str = "",
) -> Reply:
    """Create a reply and queue it for delivery, or hold it for approval when a check asks for that.

    `scope` is who acts: an agent (agent, bulk, API), the supervisor who approved an issue update (`issue`,
    with `approved_with` naming it: that approval covers the check's reasons), or None for the system's
    auto-reply. `author` defaults to the acting user. Raises ValueError (empty, too long) or PermissionDenied.
    """
    text = text.strip()
    if not text:
        raise ValueError("The reply is empty.")
    _check_actor(scope, conv, origin)
    check_length(conv.network, text)
    writer = author if author is not None else (scope.user if scope else None)
    role = scope.role if scope is not None and origin != Origin.ISSUE else None
    reasons = approval_reasons(role, conv, text)
    approver = scope.user if origin == Origin.ISSUE and scope is not None else None
    if approver is not None and writer is not None and approver.pk == writer.pk:
        approver = None  # a second pair of eyes: nobody approves their own words
    state = Reply.State.APPROVED if not reasons or approver is not None else Reply.State.PENDING_APPROVAL
    comment = "; ".join(reasons)
    if approved_with:
        comment = f"{approved_with}{': ' + comment if comment else ''}"
    with transaction.atomic():
        reply = Reply.objects.create(
            organization_id=conv.organization_id,
            brand_id=conv.brand_id,
            conversation=conv,
            author_id=writer.pk if writer is not None else None,
            approved_by_id=approver.pk if approver is not None and reasons else None,
            text=text,
            origin=origin,
            state=state,
            review_comment=comment,
        )
        audit(
            conv.organization_id,
            scope.user if scope else None,
            "reply.create",
            reply,
            conversation=conv.pk,
            state=state,
            origin=origin,
            **({"reasons": reasons} if reasons else {}),
        )
        if state == Reply.State.APPROVED:
            transaction.on_commit(lambda: deliver_reply_task(reply.pk))
        else:
            live.publish_on_commit("approvals", conv.organization_id, reply=reply.pk)
        live.publish_on_commit("conversation", conv.organization_id, conversation_id=conv.pk, reply=state)
    return reply


def _check_actor(scope: Scope | None, conv: Conversation, origin: str) -> None:
    if origin not in Origin.values:
        raise ValueError(f"Unknown reply origin {origin!r}.")
    if scope is None:
        if origin != Origin.AUTO:
            raise PermissionDenied("Only the system's auto-reply is sent without a user.")
        return
    require_role(scope, Role.SUPERVISOR if origin == Origin.ISSUE else Role.AGENT)
    if conv.organization_id != scope.organization_id or conv.brand_id not in scope.brand_ids:
        raise PermissionDenied("Not part of your brands.")
