"""Listening tables: rollups maintained during ingest (so charts never scan raw
mentions), listening queries, alert rules and alerts, incidents (war room mode).
"""

from __future__ import annotations

import math

from django.conf import settings
from django.db import models


class Grain(models.TextChoices):
    MINUTE = "m", "Minute"
    HOUR = "h", "Hour"
    DAY = "d", "Day"


class MentionRollup(models.Model):
    """Counts per brand per minute/hour/day bucket, added to by every ingest batch."""

    Grain = Grain

    # indexed by rollup_org_time (organization, grain, bucket)
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, db_index=False)
    # indexed as the prefix of the (brand, grain, bucket) unique key
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE, db_index=False)
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


class ListeningQuery(models.Model):
    """A saved boolean query (see `query_language`) about one brand: the own brand or a competitor.

    It is matched against every inbound mention of the organisation, whichever
    brand the mention was collected for, so a query can find talk about a
    competitor in the own brand's stream too.
    """

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE, related_name="listening_queries")
    name = models.CharField(max_length=120)
    query = models.TextField()
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["brand__name", "name"]
        unique_together = [("organization", "brand", "name")]

    def __str__(self) -> str:
        return f"{self.name}: {self.query}"


class QueryRollup(models.Model):
    """Counts per listening query per minute/hour/day bucket (same additive upsert as MentionRollup)."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE)  # the query's brand
    query = models.ForeignKey(ListeningQuery, on_delete=models.CASCADE, related_name="rollups")
    grain = models.CharField(max_length=1, choices=Grain.choices)
    bucket = models.DateTimeField()
    total = models.PositiveIntegerField(default=0)
    negative = models.PositiveIntegerField(default=0)
    neutral = models.PositiveIntegerField(default=0)
    positive = models.PositiveIntegerField(default=0)
    engagement = models.PositiveIntegerField(default=0)

    class Meta:
        unique_together = [("query", "grain", "bucket")]
        indexes = [models.Index(fields=["organization", "grain", "bucket"], name="qrollup_org_time")]


class DimensionRollup(models.Model):
    """Mentions per brand per hour/day by a categorical dimension (language, place on the map)."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE)
    grain = models.CharField(max_length=1, choices=Grain.choices)
    bucket = models.DateTimeField()
    dimension = models.CharField(max_length=10)  # "lang" | "place" (`places.place_of`: "US-MA", "GB")
    value = models.CharField(max_length=20)
    total = models.PositiveIntegerField(default=0)

    class Meta:
        unique_together = [("brand", "grain", "bucket", "dimension", "value")]
        indexes = [models.Index(fields=["organization", "grain", "bucket"], name="drollup_org_time")]


# The CUSUM's evidence floor (DetectorConfig.cusum_min_volume): one default for the model, the API and the
# form, since a higher one (the API once said 18) keeps a mid-size brand's slow burst from ever firing.
MIN_VOLUME_DEFAULT = 5


class AlertRule(models.Model):
    """How the detectors treat one brand (or, with no brand, every brand of the organisation)."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    brand = models.ForeignKey("tenancy.Brand", null=True, blank=True, on_delete=models.CASCADE)
    name = models.CharField(max_length=120, default="Default")
    is_active = models.BooleanField(default=True)
    sensitivity = models.FloatField(default=1.0, help_text="1 = default; 2 alerts more readily; 0.5 is stricter")
    min_volume = models.PositiveIntegerField(
        default=MIN_VOLUME_DEFAULT, help_text="Negatives in the burst before a spike can fire"
    )
    quiet_start = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Local hour, e.g. 22")
    quiet_end = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Local hour, e.g. 7")
    quiet_mode = models.CharField(max_length=10, default="defer", choices=[("defer", "Defer"), ("suppress", "Drop")])
    tz_offset_minutes = models.IntegerField(default=0)
    max_alerts_per_hour = models.PositiveSmallIntegerField(default=4)
    kinds = models.JSONField(default=list, blank=True, help_text="Alert kinds; empty means all")
    email_to = models.JSONField(default=list, blank=True)
    webhook_url = models.URLField(blank=True)

    class Meta:
        ordering = ["brand__name", "name"]

    def __str__(self) -> str:
        return self.name


class Alert(models.Model):
    """One detected condition: what was seen, how unusual, example posts."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE)
    query = models.ForeignKey(ListeningQuery, null=True, blank=True, on_delete=models.SET_NULL)
    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=20)
    key = models.CharField(max_length=120, blank=True)
    detected_at = models.DateTimeField()
    window_start = models.DateTimeField()
    expected = models.FloatField()
    observed = models.FloatField()
    score = models.FloatField(default=0)
    message = models.TextField()
    examples = models.JSONField(default=list, blank=True)
    terms = models.JSONField(default=list, blank=True, help_text="What a spike is about: its top terms")
    notified = models.JSONField(default=dict, blank=True)  # channel -> "ok" | error text
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        indexes = [models.Index(fields=["organization", "-detected_at"], name="alert_org_recent")]

    def __str__(self) -> str:
        return f"{self.kind} {self.brand_id} {self.detected_at:%Y-%m-%d %H:%M}"

    @property
    def building_minutes(self) -> int:
        """How long the condition had been building when it was detected, in started minutes (as the message)."""
        return max(math.ceil((self.detected_at - self.window_start).total_seconds() / 60.0), 1)


class DetectorWatermark(models.Model):
    """The last message id the periodic detector job has fed, per organisation."""

    organization = models.OneToOneField("tenancy.Organization", on_delete=models.CASCADE)
    last_message_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)


class DetectorState(models.Model):
    """What a brand's crisis detectors have learnt (baselines, CUSUM evidence, open alerts), per stream key.

    Written once per brand per detector run, read when a process first needs the brand's detector,
    so a worker restart neither forgets the baseline nor relearns it from a burst.
    """

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    brand = models.OneToOneField("tenancy.Brand", on_delete=models.CASCADE)
    state = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)


class Incident(models.Model):
    """War room mode for one brand: replies need approval, a timeline records everything."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class StatementState(models.TextChoices):
        NONE = "", "None"
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"
        SENT = "sent", "Sent"

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE)
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents")
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField()
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    holding_statement = models.TextField(blank=True)
    statement_state = models.CharField(max_length=10, choices=StatementState.choices, default="", blank=True)
    statement_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    statement_sent_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(default=dict, blank=True)
    conversations = models.ManyToManyField("inbox.Conversation", through="IncidentConversation", blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["brand", "status"], name="incident_brand_status")]

    def __str__(self) -> str:
        return self.title


class IncidentConversation(models.Model):
    """A conversation affected by an incident (our own through-model; inbox tables stay untouched)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="links")
    conversation = models.ForeignKey("inbox.Conversation", on_delete=models.CASCADE, related_name="+")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        unique_together = [("incident", "conversation")]


class IncidentEvent(models.Model):
    """One line of an incident's timeline: what happened and who did it."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    verb = models.CharField(max_length=40)
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
