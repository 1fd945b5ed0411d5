"""Rollups maintained during ingest so charts never scan raw mentions."""

from __future__ import annotations

from django.db import models


class MentionRollup(models.Model):
    """Counts per brand per minute bucket (hour and day rollups are sums of these or stored alike)."""

    class Grain(models.TextChoices):
        MINUTE = "m", "Minute"
        HOUR = "h", "Hour"
        DAY = "d", "Day"

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE)
    grain = models.CharField(max_length=1, choices=Grain.choices)
    bucket = models.DateTimeField()
    total = models.PositiveIntegerField(default=0)
    negative = models.PositiveIntegerField(default=0)
    neutral = models.PositiveIntegerField(default=0)
    positive = models.PositiveIntegerField(default=0)
    engagement = models.PositiveIntegerField(default=0)

    class Meta:
        unique_together = [("brand", "grain", "bucket")]
        indexes = [models.Index(fields=["organization", "grain", "bucket"], name="rollup_org_time")]
