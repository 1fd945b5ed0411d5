"""Agents' corrections of the engine's labels: the data that teaches the next model.

Each row records what the model said (`old_value`), what the agent says
(`new_value`) and who said it. The evaluation page reads them for the agreement
rate; `hubbub analysis train --from-db` turns them into training rows that
outweigh the public data.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

# The labels an agent may correct (the names used by `hubbub.analysis.train.Correction`).
CORRECTABLE_LABELS = ("sentiment", "intent", "topic", "journey_stage")


class LabelCorrection(models.Model):
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    message = models.ForeignKey("inbox.Message", on_delete=models.CASCADE, related_name="label_corrections")
    label_name = models.CharField(max_length=20, choices=[(n, n.replace("_", " ")) for n in CORRECTABLE_LABELS])
    old_value = models.CharField(max_length=60, blank=True)
    new_value = models.CharField(max_length=60)
    model_version = models.CharField(max_length=60, blank=True, help_text="Model that produced old_value")
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="label_corrections"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="labelcorr_org_recent")]

    def __str__(self) -> str:
        return f"{self.label_name}: {self.old_value or '∅'} → {self.new_value} (message {self.message_id})"

    @property
    def agreed(self) -> bool:
        """True when the agent confirmed the model's label instead of changing it."""
        return self.old_value == self.new_value


class BrandTopic(models.Model):
    """One complaint topic a brand defines itself, with a few example posts (`topics.TopicModel.from_examples`).

    A brand with at least one topic is labelled with its own list instead of its industry's default; the
    examples are matched by nearest neighbour on the fast tier's word vectors, so a handful per topic works
    and nothing is retrained.
    """

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE, related_name="topics")
    name = models.CharField(max_length=60)
    examples = models.JSONField(default=list, help_text="Example posts, one string each")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["brand_id", "name"]
        constraints = [models.UniqueConstraint(fields=["brand", "name"], name="brandtopic_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({len(self.examples)} examples)"
