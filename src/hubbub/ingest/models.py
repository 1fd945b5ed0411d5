"""The durable raw event log and the quarantine.

A RawEvent is committed before anything else happens to a mention, and the
unique key `(organization, network, external_id)` makes every source idempotent:
re-sending or re-importing adds nothing twice.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class RawEvent(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        QUARANTINED = "quarantined", "Quarantined"

    # indexed as the prefix of the (organization, network, external_id) unique key
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, db_index=False)
    network = models.CharField(max_length=20)
    external_id = models.CharField(max_length=200)
    source = models.CharField(max_length=60, help_text="import:airline, webhook:x, demo, ...")
    payload = models.JSONField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        unique_together = [("organization", "network", "external_id")]
        # Only pending events are indexed: processing removes the entry instead of moving it.
        indexes = [models.Index(fields=["id"], condition=Q(state="pending"), name="raw_pending_only")]


class QuarantinedEvent(models.Model):
    """Input we could not accept, kept with the reason so nothing is lost silently."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    source = models.CharField(max_length=60)
    location = models.CharField(max_length=200, blank=True, help_text="file:line or request id")
    reason = models.CharField(max_length=500)
    raw = models.TextField(blank=True)
    raw_event = models.ForeignKey(RawEvent, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="quarantine_recent")]
