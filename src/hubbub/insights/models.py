"""Survey responses: what customers answered when asked (CSAT, NPS), next to what they say on social.

One row per response, keyed by the survey tool's response id within an organisation, so importing
the same export again updates rows instead of adding them twice. The comment carries the same
analysis labels (sentiment, topic, intent) as a social mention, from the same engine, so the two
voices can be compared (`hubbub.insights.voc`).
"""

from __future__ import annotations

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
