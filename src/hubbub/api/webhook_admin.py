"""Settings → Webhooks and its API: an organisation's admins add endpoints (the secret is shown once), pause,
resume, delete, send a test event, read the delivery log and resend. Admins only, scoped to the organisation
(another organisation's endpoint is a 404), every change audited. The UI and the API call these."""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from hubbub.api.tasks import deliver_webhook_task
from hubbub.api.webhook_events import forget_subscriptions, queue_event
from hubbub.api.webhook_models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint
from hubbub.api.webhook_secrets import seal
from hubbub.api.webhook_signing import new_secret
from hubbub.outbound_http import OutboundRefused, validate_user_url
from hubbub.queueing import enqueue
from hubbub.tenancy.models import Role
from hubbub.tenancy.scoping import Scope, require_role
from hubbub.tenancy.services import audit

MAX_ENDPOINTS = 20
LOG_LIMIT = 100
PING = "ping"
URL_MAX = 500


class WebhookError(ValueError):
    """A request that cannot be done as asked; the message says why and what to do."""


def endpoints_of(scope: Scope) -> QuerySet[WebhookEndpoint]:
    require_role(scope, Role.ADMIN)
    return WebhookEndpoint.objects.filter(organization_id=scope.organization_id).order_by("-created_at")


def endpoint_or_404(scope: Scope, endpoint_id: int) -> WebhookEndpoint:
    found = endpoints_of(scope).filter(pk=endpoint_id).first()
    if found is None:
        raise Http404("Not found")
    return found


def deliveries_of(scope: Scope, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    require_role(scope, Role.ADMIN)
    return WebhookDelivery.objects.filter(organization_id=scope.organization_id, endpoint=endpoint).order_by(
        "-created_at", "-pk"
    )[:LOG_LIMIT]


def delivery_or_404(scope: Scope, delivery_id: int) -> WebhookDelivery:
    require_role(scope, Role.ADMIN)
    found = (
        WebhookDelivery.objects.filter(organization_id=scope.organization_id, pk=delivery_id)
        .select_related("endpoint")
        .first()
    )
    if found is None:
        raise Http404("Not found")
    return found


def _clean_events(events: list[str]) -> list[str]:
    chosen = sorted(set(events))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise WebhookError(f"Unknown event {unknown[0]!r}; choose among {', '.join(EVENT_TYPES)}.")
    if not chosen:
        raise WebhookError("Choose at least one event to send to this endpoint.")
    return chosen


def create_endpoint(scope: Scope, url: str, events: list[str], description: str = "") -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its signing secret in plain text (shown once; stored encrypted)."""
    require_role(scope, Role.ADMIN)
    if len(url.strip()) > URL_MAX:
        raise WebhookError(f"The URL is longer than {URL_MAX} characters; use a shorter address.")
    try:
        url = validate_user_url(url)
    except OutboundRefused as exc:
        raise WebhookError(f"This URL cannot receive webhooks: {exc}") from exc
    chosen = _clean_events(events)
    if WebhookEndpoint.objects.filter(organization_id=scope.organization_id).count() >= MAX_ENDPOINTS:
        raise WebhookError(f"An organisation has at most {MAX_ENDPOINTS} endpoints; delete one you no longer use.")
    secret = new_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            organization_id=scope.organization_id,
            url=url,
            description=description.strip()[:200],
            secret_encrypted=seal(secret),
            events=chosen,
            created_by=scope.user,
        )
        audit(scope.organization_id, scope.user, "webhook.created", endpoint, url=url, events=chosen)
    forget_subscriptions(scope.organization_id)
    return endpoint, secret


def set_active(scope: Scope, endpoint: WebhookEndpoint, active: bool) -> WebhookEndpoint:
    """Pause or resume; resuming clears the failure count, and the deliveries waiting go out again."""
    require_role(scope, Role.ADMIN)
    with transaction.atomic():
        endpoint.active = active
        endpoint.paused_at = None if active else timezone.now()
        endpoint.paused_reason = "" if active else "Paused by an admin."
        if active:
            endpoint.consecutive_failures, endpoint.failing_since = 0, None
        endpoint.save(update_fields=["active", "paused_at", "paused_reason", "consecutive_failures", "failing_since"])
        verb = "webhook.resumed" if active else "webhook.paused"
        audit(scope.organization_id, scope.user, verb, endpoint, url=endpoint.url)
        if active:
            WebhookDelivery.objects.filter(
                endpoint=endpoint, status__in=[WebhookDelivery.State.PENDING, WebhookDelivery.State.FAILED]
            ).update(next_attempt_at=timezone.now())
    forget_subscriptions(scope.organization_id)
    return endpoint


def delete_endpoint(scope: Scope, endpoint: WebhookEndpoint) -> None:
    require_role(scope, Role.ADMIN)
    with transaction.atomic():
        audit(scope.organization_id, scope.user, "webhook.deleted", endpoint, url=endpoint.url)
        endpoint.delete()
    forget_subscriptions(scope.organization_id)


def send_test(scope: Scope, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `ping` event (`X-Hubbub-Event: ping`), signed and logged like any other, so an integrator can check
    their receiver and its signature check before real events flow."""
    require_role(scope, Role.ADMIN)
    if not endpoint.active:
        raise WebhookError("This endpoint is paused; resume it to send a test event.")
    with transaction.atomic():
        data = {"test": True, "message": "A test event from Hubbub: your endpoint receives and verifies."}
        (delivery,) = queue_event(scope.organization_id, PING, data, endpoints=[endpoint])
        audit(scope.organization_id, scope.user, "webhook.test_sent", endpoint, delivery_id=delivery.pk)
    return delivery


def resend(scope: Scope, delivery: WebhookDelivery) -> WebhookDelivery:
    """A new delivery (new id, same event id and payload): the receiver sees it again even if it had it."""
    require_role(scope, Role.ADMIN)
    endpoint = delivery.endpoint
    if not endpoint.active:
        raise WebhookError("This endpoint is paused; resume it before resending.")
    with transaction.atomic():
        again = WebhookDelivery.objects.create(
            organization_id=scope.organization_id,
            endpoint=endpoint,
            event_type=delivery.event_type,
            event_id=delivery.event_id,
            payload=delivery.payload,
            next_attempt_at=timezone.now(),
        )
        audit(scope.organization_id, scope.user, "webhook.resent", endpoint, delivery_id=delivery.pk, new=again.pk)
        transaction.on_commit(partial(enqueue, deliver_webhook_task, again.pk))
    return again
