"""Outbound webhooks for integrators: an organisation's endpoints and the log of every delivery to them.

The retry schedule lives in the database (`WebhookDelivery.next_attempt_at`), not in the task queue, so a
restarted worker picks up every delivery that is still due. The endpoint's signing secret is stored encrypted
(the same Fernet key as channel credentials) because Hubbub must sign with it; it is shown once, at creation.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

EVENT_TYPES: tuple[str, ...] = (
    "mention.created",
    "conversation.assigned",
    "conversation.resolved",
    "reply.sent",
    "alert.raised",
)


class WebhookEndpoint(models.Model):
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    secret_encrypted = models.TextField()
    events = models.JSONField(default=list)  # a subset of EVENT_TYPES
    active = models.BooleanField(default=True)
    paused_reason = models.CharField(max_length=300, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "active"], name="webhook_org_active")]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"  # the last attempt failed; another is scheduled
        GIVEN_UP = "given_up"

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, db_index=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=40)
    event_id = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_outcome = models.CharField(max_length=80, blank=True)  # "HTTP 200", "failed: timed out", never a body
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log"),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "failed"]),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"
