"""Every reply, whatever asked for it, is created here and passes the same approval check.

An agent in the inbox, a bulk reply, a routing rule's auto-reply, an issue's progress update and the API all
call `do_create_reply`. The approval rules belong to workflow, which sits above the inbox in the app tree, so
the inbox asks the checks workflow registers at start-up (`register_approval_check`). With no check
registered it refuses to create a reply rather than send one unchecked.

A submission that arrives twice (an API client retrying with the same `Idempotency-Key`, a composer form
posted twice) carries a client key: the first creates the reply, the second gets that same reply back and
nothing is created or sent again. The key is unique per organisation in the database, so two requests
racing each other cannot both insert; the loser finds the winner's reply.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, models, transaction

from hubbub import live, queueing
from hubbub.connectors.outbound import check_length
from hubbub.inbox.inputs import ReplyIn
from hubbub.inbox.models import Conversation, Reply
from hubbub.inbox.tasks import deliver_reply_task
from hubbub.inputs import checked
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import PermissionDenied, Scope, require_role
from hubbub.tenancy.services import audit


class Origin(models.TextChoices):
    AGENT = "agent", "Agent"
    BULK = "bulk", "Bulk reply"
    AUTO = "auto", "Auto-reply"
    ISSUE = "issue", "Issue update"
    API = "api", "API"


MAX_CLIENT_KEY = 200  # characters, prefix included (the column's size)


class ReplyKeyReused(ValueError):
    """A client key already used for a different reply: the client must send a new key for new words."""


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
    client_key: str = "",
) -> Reply:
    """Create a reply and queue it for delivery, or hold it for approval when a check asks for that.

    `scope` is who acts: an agent (agent, bulk, API), the supervisor who approved an issue update (`issue`,
    with `approved_with` naming it: that approval covers the check's reasons), or None for the system's
    auto-reply. `author` defaults to the acting user. `client_key` (the API's Idempotency-Key, the composer's
    form token; namespaced by the caller) makes a repeated submission return the reply it created the first
    time. Raises ValueError (`InvalidInput`: empty; too long, `ReplyKeyReused`) or PermissionDenied.
    """
    text = checked(ReplyIn, text=text).text
    _check_actor(scope, conv, origin)
    if len(client_key) > MAX_CLIENT_KEY:
        raise ValueError(f"The idempotency key is longer than {MAX_CLIENT_KEY} characters.")
    request_hash = hashlib.sha256(f"{conv.pk}\n{text}".encode()).hexdigest() if client_key else ""
    if client_key and (earlier := _earlier_reply(conv, client_key, request_hash)) is not None:
        return earlier
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
    reply = Reply(
        organization_id=conv.organization_id,
        brand_id=conv.brand_id,
        conversation=conv,
        author_id=writer.pk if writer is not None else None,
        approved_by_id=approver.pk if approver is not None and reasons else None,
        text=text,
        origin=origin,
        state=state,
        review_comment=comment,
        client_key=client_key,
        request_hash=request_hash,
    )
    try:
        with transaction.atomic():
            _insert(scope, conv, reply, reasons)
    except IntegrityError:
        # a concurrent request with the same key committed first: its reply is the answer to both
        earlier = _earlier_reply(conv, client_key, request_hash) if client_key else None
        if earlier is None:
            raise
        return earlier
    return reply


def _insert(scope: Scope | None, conv: Conversation, reply: Reply, reasons: list[str]) -> None:
    """Write the reply and its audit entry; deliver it after commit, or tell the approvers it waits."""
    reply.save(force_insert=True)
    audit(
        conv.organization_id,
        scope.user if scope else None,
        "reply.create",
        reply,
        conversation=conv.pk,
        state=reply.state,
        origin=reply.origin,
        **({"reasons": reasons} if reasons else {}),
    )
    if reply.state == Reply.State.APPROVED:
        transaction.on_commit(lambda: queueing.enqueue(deliver_reply_task, reply.pk))
    else:
        live.publish_on_commit("approvals", conv.organization_id, reply=reply.pk)
    live.publish_on_commit("conversation", conv.organization_id, conversation_id=conv.pk, reply=reply.state)


def _earlier_reply(conv: Conversation, client_key: str, request_hash: str) -> Reply | None:
    """The reply this organisation already created under `client_key`, if the submission is the same one;
    the key used for other words or another conversation raises `ReplyKeyReused`."""
    earlier = Reply.objects.filter(organization_id=conv.organization_id, client_key=client_key).first()
    if earlier is not None and earlier.request_hash != request_hash:
        raise ReplyKeyReused(
            "This idempotency key was already used for a different reply; nothing was sent. "
            "Send new words with a new key."
        )
    return earlier


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
