"""Survey responses: what customers answered when asked (CSAT, NPS), next to what they say on social.

One row per response, keyed by the survey tool's response id within an organisation, so importing
the same export again updates rows instead of adding them twice. The comment carries the same
analysis labels (sentiment, topic, intent) as a social mention, from the same engine, so the two
voices can be compared (`hubbub.insights.voc`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Scale(models.TextChoices):
    CSAT = "csat", "CSAT (1–5)"
    NPS = "nps", "NPS (0–10)"
    OTHER = "other", "Other"


class SurveyResponse(models.Model):
    # indexed as the prefix of the (organization, external_id) unique key
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, db_index=False)
    brand = models.ForeignKey("tenancy.Brand", null=True, blank=True, on_delete=models.SET_NULL)
    external_id = models.CharField(
        max_length=200, help_text="The survey tool's response or respondent id (a hash of the row when it has none)"
    )
    submitted_at = models.DateTimeField()
    score = models.DecimalField(max_digits=8, decimal_places=2)
    scale = models.CharField(max_length=8, choices=Scale.choices)
    scale_min = models.DecimalField(max_digits=8, decimal_places=2)
    scale_max = models.DecimalField(max_digits=8, decimal_places=2)
    customer = models.ForeignKey(
        "crm.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    email = models.CharField(max_length=254, blank=True, help_text="The respondent's e-mail as given, lower-cased")
    customer_ref = models.CharField(max_length=100, blank=True, help_text="The customer id the file gave")
    channel = models.CharField(max_length=60, blank=True)
    comment = models.TextField(blank=True)
    comment_truncated = models.BooleanField(default=False, help_text="Cut on import; the full row is in quarantine")
    sentiment = models.CharField(max_length=10, blank=True)
    sentiment_score = models.FloatField(default=0)
    intent = models.CharField(max_length=20, blank=True)
    topic = models.CharField(max_length=60, blank=True)
    model_version = models.CharField(max_length=60, blank=True)
    source_file = models.CharField(max_length=255, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "external_id"], name="survey_org_external_id")]
        indexes = [
            models.Index(fields=["organization", "submitted_at"], name="survey_org_time"),
            models.Index(fields=["organization", "brand", "submitted_at"], name="survey_org_brand_time"),
        ]
        ordering = ["-submitted_at", "id"]

    def __str__(self) -> str:
        return f"{self.scale} {self.score} {self.external_id}"


class ReportDay(models.Model):
    """Whether one UTC day of an organisation has its rollups built, and whether a change touched it since.

    A day is *clean* when it was built after its last mark (`marked_at < built_at`); the Reports read the
    rollups of clean days and derive every other day from the rows (`insights.rollups`). Marks are written
    after the change commits and a build stamps the instant it started reading, so a change that lands while
    a day is being built leaves that day dirty rather than wrongly clean.
    """

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, db_index=False)
    day = models.DateField()
    built_at = models.DateTimeField(null=True, blank=True)
    marked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "day"], name="reportday_org_day")]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day}"


class ConversationRollup(models.Model):
    """The cohort of one UTC day (customer-started, non-spam conversations by their first message) for one
    brand × team × assignee: counts, duration histograms and SLA outcomes, so a report folds a few hundred
    rows instead of scanning every conversation of the range.

    `first_response` / `resolution`: the sparse histogram over the log-spaced buckets of
    `insights.rollup_hist`, packed as little-endian float64 (bucket indexes, counts, sums of seconds): a
    page unpacks a few hundred of them without parsing text. `sla`: {metric: {"met", "breached",
    "cancelled", "running": n}}; `<metric>_due`: the due instants (epoch seconds, packed float64) of the
    clocks still running: each counts as running until that instant and as breached after it (as the inbox
    shows it overdue), so the stored figures need no rebuild as time goes by.
    """

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, db_index=False)
    day = models.DateField()
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE, db_index=False)
    team = models.ForeignKey("tenancy.Team", null=True, blank=True, on_delete=models.SET_NULL, db_index=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, db_index=False, related_name="+"
    )
    conversations = models.PositiveIntegerField(default=0)
    replied = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    first_response = models.BinaryField(default=b"")
    resolution = models.BinaryField(default=b"")
    sla = models.JSONField(default=dict)
    first_response_due = models.BinaryField(default=b"")
    resolution_due = models.BinaryField(default=b"")

    class Meta:
        indexes = [models.Index(fields=["organization", "day"], name="convrollup_org_day")]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day} {self.brand_id}/{self.team_id}/{self.assignee_id}"


class MessageRollup(models.Model):
    """Messages of one UTC day (by when they were written) per brand × the conversation's team: inbound
    ones per sentiment label (Volume & sentiment), agents' replies per sender (Agents & teams)."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, db_index=False)
    day = models.DateField()
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE, db_index=False)
    team = models.ForeignKey("tenancy.Team", null=True, blank=True, on_delete=models.SET_NULL, db_index=False)
    direction = models.CharField(max_length=3)
    sentiment = models.CharField(max_length=10, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, db_index=False, related_name="+"
    )
    messages = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["organization", "day"], name="msgrollup_org_day")]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day} {self.brand_id} {self.direction} {self.messages}"
