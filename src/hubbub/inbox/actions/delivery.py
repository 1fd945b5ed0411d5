"""Delivery of approved replies to the network: each reply is posted exactly once, and never lost.

The road: `do_deliver_reply` claims the reply (approved → sending, one conditional UPDATE that counts the
attempt and stamps the time), posts it, and records it as the brand's message. What can go wrong on the way:

- a *transient* error (timeout, 5xx, 429): the reply goes back to approved with the reason, and the task is
  tried again later with a growing delay (`retry_delay`); after `MAX_ATTEMPTS` it is marked failed;
- a *permanent* error (a 4xx: the network refuses this reply for good): failed at once, with the network's
  reason, which the agent sees beside the reply with a Retry button (`do_retry_reply`);
- the worker dies (at any point): the reply stays in `sending`; `reclaim_stuck_replies`, a periodic task,
  puts it back after `settings.REPLY_STUCK_AFTER_SECONDS` and queues it again. Approved replies whose task
  was lost with a worker or a queue are queued again too.

Any attempt after the first asks the network whether the post already exists (`find_posted`, by the reply's
idempotency key) before posting, so a post that reached the network before the worker died is recorded, not
posted a second time. That delay is far longer than the outbound client's timeout, so a slow but alive
attempt has always ended before its reply can be claimed again.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from hubbub import live, metrics
from hubbub.connectors.outbound import PermanentDeliveryError, TransientDeliveryError, find_posted, send_reply
from hubbub.faults import crash_point
from hubbub.inbox.models import Conversation, Direction, Message, Reply
from hubbub.inbox.signals import reply_sent
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import PermissionDenied, Scope, require_role
from hubbub.tenancy.services import audit

log = logging.getLogger("hubbub.inbox.delivery")

MAX_ATTEMPTS = 8
#: The database went away (a restart, a fail-over) during an attempt: nothing is wrong with the reply.
DATABASE_AWAY = (OperationalError, InterfaceError)
FIRST_RETRY_SECONDS = 5.0
State = Reply.State


def do_deliver_reply(reply_id: int, claim_at: datetime | None = None, resume_claims: Sequence[datetime] = ()) -> Reply:
    """Post an approved reply once. Raises `TransientDeliveryError` when it is worth trying again (the reply is
    approved again, with the reason); returns the reply, sent or failed, otherwise. A reply that is not
    approved (held, refused, being sent by another worker, already sent) is returned untouched.

    `claim_at` is the claim's time stamp (now by default). `resume_claims` are the claim times of earlier
    attempts of the same task that the database interrupted (`DATABASE_AWAY`): a reply still in `sending`
    under one of them is that task's own, so it is taken over at once (asking the network first whether the
    post exists) instead of waiting `REPLY_STUCK_AFTER_SECONDS` for the reclaim."""
    now = claim_at or timezone.now()
    claimed = Reply.objects.filter(id=reply_id, state=State.APPROVED).update(
        state=State.SENDING, attempts=F("attempts") + 1, claimed_at=now, error=""
    )
    resumed = (
        not claimed
        and bool(resume_claims)
        and bool(
            Reply.objects.filter(id=reply_id, state=State.SENDING, claimed_at__in=list(resume_claims)).update(
                attempts=F("attempts") + 1
            )
        )
    )
    reply = Reply.objects.select_related("conversation", "conversation__brand", "brand", "author").get(id=reply_id)
    if not (claimed or resumed):
        return reply
    crash_point("deliver.claimed")
    try:
        answering = _answering(reply)
        asked = find_posted(reply, **answering) if reply.attempts > 1 or resumed else None
        external_id = asked or send_reply(reply, **answering)
    except PermanentDeliveryError as exc:
        return _mark_failed(reply, exc.reason)
    except TransientDeliveryError as exc:
        _release(reply, exc.reason)
        raise
    except DATABASE_AWAY:
        raise  # the task tries again with this claim among `resume_claims`
    except Exception as exc:  # a bug or an unknown error: tried again like a transient one, and logged
        log.exception("delivering reply %s failed", reply_id)
        _release(reply, f"Unexpected error: {exc}")
        raise TransientDeliveryError(f"Unexpected error: {exc}") from exc
    crash_point("deliver.posted")
    return _record_sent(reply, external_id, answering.get("in_reply_to", ""))


def retry_delay(reply_id: int, error: TransientDeliveryError) -> float | None:
    """Seconds until the next attempt after a transient error, or None when the reply has had its
    `MAX_ATTEMPTS` (it is then marked failed, with the last reason, for the agent to retry)."""
    reply = Reply.objects.select_related("conversation").get(id=reply_id)
    if reply.state != State.APPROVED:
        return None  # someone else dealt with it meanwhile (sent by a reclaim, say)
    if reply.attempts >= MAX_ATTEMPTS:
        _mark_failed(reply, f"Gave up after {reply.attempts} attempts: {error.reason}", from_state=State.APPROVED)
        return None
    backoff = FIRST_RETRY_SECONDS * 2 ** (reply.attempts - 1) * random.uniform(0.8, 1.2)
    return min(max(backoff, error.retry_after or 0.0), float(settings.REPLY_STUCK_AFTER_SECONDS))


def reclaim_stuck_replies(enqueue: Callable[[int], object], now: datetime | None = None) -> list[int]:
    """Put back replies left in `sending` by a dead worker and queue every approved reply that has waited
    longer than `REPLY_STUCK_AFTER_SECONDS` (its task was lost, or it is one of those just put back). Safe to
    run anywhere, any number of times: delivery claims a reply before posting it."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.REPLY_STUCK_AFTER_SECONDS)
    stuck = Reply.objects.filter(state=State.SENDING, claimed_at__lt=cutoff)
    for reply_id in stuck.values_list("id", flat=True):
        if Reply.objects.filter(id=reply_id, state=State.SENDING, claimed_at__lt=cutoff).update(
            state=State.APPROVED, error="The worker sending it stopped; sending again."
        ):
            log.warning("reply %s was left in sending by a worker that stopped; queued again", reply_id)
    waiting = Reply.objects.filter(state=State.APPROVED).filter(
        Q(claimed_at__lt=cutoff) | Q(claimed_at__isnull=True, created_at__lt=cutoff)
    )
    ids = list(waiting.values_list("id", flat=True))
    for reply_id in ids:
        enqueue(reply_id)
    return ids


def do_retry_reply(scope: Scope, reply: Reply, enqueue: Callable[[int], object]) -> Reply:
    """An agent sends a failed reply again (after fixing what the network said, or because it was down)."""
    require_role(scope, Role.AGENT)
    if reply.organization_id != scope.organization_id or reply.brand_id not in scope.brand_ids:
        raise PermissionDenied("Not part of your brands.")
    with transaction.atomic():
        if not Reply.objects.filter(id=reply.pk, state=State.FAILED).update(state=State.APPROVED, attempts=0):
            raise ValueError("Only a failed reply can be sent again.")
        reply.refresh_from_db()
        audit(scope.organization_id, scope.user, "reply.retry", reply, conversation=reply.conversation_id)
        transaction.on_commit(lambda: enqueue(reply.pk))
        live.publish_on_commit("conversation", reply.organization_id, conversation_id=reply.conversation_id)
    return reply


def _release(reply: Reply, reason: str) -> None:
    """Back to approved after a transient error (unless a reclaim already took it), the reason kept."""
    Reply.objects.filter(id=reply.pk, state=State.SENDING, claimed_at=reply.claimed_at).update(
        state=State.APPROVED, error=reason[:2000]
    )


def _mark_failed(reply: Reply, reason: str, from_state: str = State.SENDING) -> Reply:
    with transaction.atomic():
        if Reply.objects.filter(id=reply.pk, state=from_state).update(state=State.FAILED, error=reason[:2000]):
            audit(reply.organization_id, None, "reply.failed", reply, conversation=reply.conversation_id, error=reason)
            transaction.on_commit(metrics.record_delivery_failure)
            live.publish_on_commit(
                "conversation", reply.organization_id, conversation_id=reply.conversation_id, reply=State.FAILED
            )
    reply.refresh_from_db()
    return reply


def _record_sent(reply: Reply, external_id: str, in_reply_to: str = "") -> Reply:
    """The network has the post: record it as the brand's message, once (the conditional UPDATE decides)."""
    conv = reply.conversation
    now = timezone.now()
    with transaction.atomic():
        if not Reply.objects.filter(id=reply.pk, state__in=[State.SENDING, State.APPROVED]).update(
            state=State.SENT, external_id=external_id, sent_at=now, error=""
        ):
            reply.refresh_from_db()
            return reply  # recorded by another attempt
        Message.objects.create(
            organization_id=conv.organization_id,
            brand_id=conv.brand_id,
            conversation=conv,
            network=conv.network,
            external_id=external_id,
            direction=Direction.OUT,
            author=_brand_profile(conv),
            text=reply.text,
            created_at=now,
            in_reply_to=in_reply_to,
            sent_by=reply.author,
        )
        conv.message_count += 1
        conv.last_message_at = now
        if conv.first_response_at is None:
            conv.first_response_at = now
        conv.save(update_fields=["message_count", "last_message_at", "first_response_at", "updated_at"])
        reply.refresh_from_db()
        reply_sent.send(sender=Reply, conversation=conv, reply=reply)
        audit(conv.organization_id, reply.author, "reply.sent", reply, conversation=conv.pk, external_id=external_id)
        live.publish_on_commit("conversation", conv.organization_id, conversation_id=conv.pk, reply=State.SENT)
    return reply


def _brand_profile(conv: Conversation) -> Any:
    """The brand's own account on the network, as the author of its messages. The model is the one a
    message's author points at (crm's SocialProfile: crm is above the inbox, which never imports it)."""
    profiles: Any = Message._meta.get_field("author").related_model
    handle = (conv.brand.handles or [conv.brand.slug])[0]
    profile, _ = profiles.objects.get_or_create(
        organization_id=conv.organization_id,
        network=conv.network,
        external_id=handle,
        defaults={"handle": handle, "display_name": conv.brand.name, "is_brand_account": True},
    )
    return profile


def _answering(reply: Reply) -> dict[str, str]:
    """The customer's message a reply answers and its author's handle: what the network threads it under.

    The first attempt takes the conversation's newest message and writes its id on the reply before posting;
    every later attempt answers that one, so it asks the network about the post the first attempt made even
    when the customer wrote again meanwhile (asking about the newest message instead posted such a reply
    twice: tests/faults)."""
    inbound = reply.conversation.messages.filter(direction=Direction.IN)
    if reply.in_reply_to:
        handle = inbound.filter(external_id=reply.in_reply_to).values_list("author__handle", flat=True).first()
        return {"in_reply_to": reply.in_reply_to, "recipient": handle or ""}
    row = inbound.order_by("-created_at", "-id").values_list("external_id", "author__handle").first()
    if row is None:
        return {}
    Reply.objects.filter(id=reply.pk, in_reply_to="").update(in_reply_to=row[0])  # committed before posting
    reply.in_reply_to = row[0]
    return {"in_reply_to": row[0], "recipient": row[1] or ""}
