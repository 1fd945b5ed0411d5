"""Sending one webhook delivery: claim it, sign it, POST it through the outbound client, record the outcome,
schedule the next attempt or give up, and pause an endpoint that keeps failing.

Why a claim: the task queued after commit and the periodic sweep may both find a delivery due; the claim
(`UPDATE … WHERE next_attempt_at <= now`) moves its next attempt past the request's deadline, so only one of them
sends. A worker that dies mid-request leaves the delivery due again once that lease is over.
"""

from __future__ import annotations

import json
import logging
import random
from datetime import datetime, timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from hubbub.api.webhook_events import forget_subscriptions
from hubbub.api.webhook_models import WebhookDelivery, WebhookEndpoint
from hubbub.api.webhook_secrets import secret_of
from hubbub.api.webhook_signing import SIGNATURE_HEADER, signature_header
from hubbub.outbound_http import OutboundError, outbound_client
from hubbub.tenancy.models import Membership, Role
from hubbub.tenancy.services import audit

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
MAX_RESPONSE_BYTES = 64 * 1024
LEASE = timedelta(seconds=60)  # longer than the request may take (timeout and deadline)
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 6 * 3600
GIVE_UP_AFTER = timedelta(hours=24)
PAUSE_AFTER_FAILURES = 20
PAUSE_AFTER_FAILING_FOR = timedelta(hours=24)
DUE = (WebhookDelivery.State.PENDING, WebhookDelivery.State.FAILED)
KEEP_FINISHED = timedelta(days=30)


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential back-off with jitter (between half and all of the step), so receivers coming back from an
    outage are not hit by every sender at the same second."""
    step = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(0, attempts - 1))
    return timedelta(seconds=step * (rng or random).uniform(0.5, 1.0))


def claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status__in=DUE, next_attempt_at__lte=now, endpoint__active=True
    ).update(next_attempt_at=now + LEASE, attempts=F("attempts") + 1)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)


def post(delivery: WebhookDelivery, now: datetime) -> tuple[bool, int | None, str]:
    """(delivered, status code, short outcome). Never reads the receiver's answer beyond its status."""
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Hubbub-Webhooks/1",
        SIGNATURE_HEADER: signature_header(secret_of(endpoint), int(now.timestamp()), body),
        "X-Hubbub-Event": delivery.event_type,
        "X-Hubbub-Delivery": str(delivery.pk),
    }
    try:
        with outbound_client(timeout=TIMEOUT_SECONDS, max_bytes=MAX_RESPONSE_BYTES, follow_redirects=False) as c:
            r = c.post(endpoint.url, content=body, headers=headers)
    except OutboundError as exc:
        return False, None, exc.outcome[:80]
    if 200 <= r.status_code < 300:
        return True, r.status_code, f"HTTP {r.status_code}"
    return False, r.status_code, f"failed: HTTP {r.status_code}"


def deliver(delivery_id: int, now: datetime | None = None) -> WebhookDelivery | None:
    """Attempt a due delivery once; None when it was not due (delivered, claimed elsewhere, endpoint paused)."""
    now = now or timezone.now()
    delivery = claim(delivery_id, now)
    if delivery is None:
        return None
    ok, code, outcome = post(delivery, now)
    with transaction.atomic():
        delivery.last_status_code = code
        delivery.last_outcome = outcome
        if ok:
            delivery.status = WebhookDelivery.State.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(consecutive_failures=0, failing_since=None)
        elif now - delivery.created_at >= GIVE_UP_AFTER:
            delivery.status = WebhookDelivery.State.GIVEN_UP
            delivery.next_attempt_at = None
        else:
            delivery.status = WebhookDelivery.State.FAILED
            delivery.next_attempt_at = now + retry_delay(delivery.attempts)
        delivery.save(update_fields=["status", "last_status_code", "last_outcome", "delivered_at", "next_attempt_at"])
        if not ok:
            _count_failure(delivery.endpoint, outcome, now)
    return delivery


def _count_failure(endpoint: WebhookEndpoint, outcome: str, now: datetime) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    endpoint.refresh_from_db(fields=["consecutive_failures", "failing_since", "active"])
    failing_since = endpoint.failing_since or now
    if endpoint.active and (
        endpoint.consecutive_failures >= PAUSE_AFTER_FAILURES or now - failing_since >= PAUSE_AFTER_FAILING_FOR
    ):
        pause_failing(endpoint, outcome, now)


def pause_failing(endpoint: WebhookEndpoint, outcome: str, now: datetime) -> None:
    """Stop sending to an endpoint that keeps failing; its admins see why on the Webhooks page (a banner), in
    the audit log and by email. Its pending deliveries wait and go out when it is resumed."""
    reason = (
        f"Paused automatically after {endpoint.consecutive_failures} failed deliveries in a row "
        f"(last: {outcome}). Fix the receiver, then resume."
    )[:300]
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False, paused_reason=reason, paused_at=now)
    endpoint.active, endpoint.paused_reason, endpoint.paused_at = False, reason, now
    audit(endpoint.organization_id, None, "webhook.paused", endpoint, url=endpoint.url, reason=reason)
    forget_subscriptions(endpoint.organization_id)
    transaction.on_commit(lambda: tell_admins(endpoint, reason))
    log.warning("webhook endpoint %s paused: %s", endpoint.pk, outcome)


def tell_admins(endpoint: WebhookEndpoint, reason: str) -> None:
    """Email the organisation's admins and the endpoint's creator (the page's banner waits for a visit)."""
    admins = Membership.objects.filter(organization_id=endpoint.organization_id, role=Role.ADMIN)
    emails = {m.user.email for m in admins.select_related("user") if m.user.email}
    if endpoint.created_by is not None and endpoint.created_by.email:
        emails.add(endpoint.created_by.email)
    if not emails:
        return
    try:
        send_mail(
            subject=f"[Hubbub] Webhook paused: {endpoint.url}"[:200],
            message=f"{reason}\n\nSettings → Webhooks shows its delivery log; resume it there once it answers.",
            from_email=None,
            recipient_list=sorted(emails),
        )
    except Exception as exc:  # SMTP errors vary by server; the banner and the audit entry remain
        log.warning("could not email the pause of webhook %s: %s", endpoint.pk, exc)


def due_delivery_ids(now: datetime, limit: int = 200) -> list[int]:
    return list(
        WebhookDelivery.objects.filter(status__in=DUE, next_attempt_at__lte=now, endpoint__active=True)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def prune_finished(now: datetime) -> int:
    """Delete delivered and given-up deliveries older than `KEEP_FINISHED`; waiting ones are kept."""
    finished = (WebhookDelivery.State.DELIVERED, WebhookDelivery.State.GIVEN_UP)
    deleted, _ = WebhookDelivery.objects.filter(status__in=finished, created_at__lt=now - KEEP_FINISHED).delete()
    return deleted
