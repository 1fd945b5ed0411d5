"""Who owns what, and who may see it.

An Organization is a sealed tenant (a brand owner or an agency's client); a
user reaches data only through a Membership, optionally narrowed to some brands.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    SUPERVISOR = "supervisor", "Supervisor"
    AGENT = "agent", "Agent"
    ANALYST = "analyst", "Analyst"


class Organization(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    is_agency = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Days the raw event log keeps a mention's payload as received (None: forever). Conversations, rollups and
    # reports are kept whatever this says (ops.retention).
    raw_retention_days = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class Industry(models.TextChoices):
    AIRLINE = "airline", "Airline"
    BANKING = "banking", "Banking and finance"
    TELECOM = "telecom", "Telecom and internet"
    RETAIL = "retail", "Retail and e-commerce"
    FOOD = "food", "Food and delivery"
    SOFTWARE = "software", "Software and apps"
    TRAVEL = "travel", "Travel and hospitality"
    UTILITIES = "utilities", "Utilities"
    OTHER = "other", "Other"


# Handles and names of the airlines in the shipped data sets (the airline import, the TWCS sample): a brand
# created for one of them by an import or the demo is an airline, so it keeps the airline topic preset.
KNOWN_AIRLINES = frozenset(
    {
        "virginamerica", "virgin america", "united", "southwestair", "southwest", "jetblue", "delta",
        "usairways", "us airways", "americanair", "american", "alaskaair", "british_airways",
        "virginatlantic", "aircanada", "airasiasupport", "spiritairlines", "hawaiianair",
    }
)  # fmt: skip


def industry_for(*names: str) -> str:
    """Industry "airline" when any of `names` (slug, name, handles) is a known airline, else "" (general topics)."""
    return Industry.AIRLINE if any(n.lower().lstrip("@") in KNOWN_AIRLINES for n in names if n) else ""


class Brand(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="brands")
    name = models.CharField(max_length=200)
    slug = models.SlugField()
    handles = models.JSONField(default=list, blank=True, help_text="Account handles, e.g. ['united']")
    keywords = models.JSONField(default=list, blank=True)
    hashtags = models.JSONField(default=list, blank=True)
    competitors = models.ManyToManyField("self", blank=True, symmetrical=False)
    # Chooses the brand's default complaint topics: "airline" gets the airline preset, any other industry the
    # general care taxonomy (`analysis/general_topics.py`), unless the brand defines its own topics.
    industry = models.CharField(max_length=20, choices=Industry.choices, blank=True, default="")

    class Meta:
        unique_together = [("organization", "slug")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="hubbub_teams")

    class Meta:
        unique_together = [("organization", "name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.AGENT)
    brands = models.ManyToManyField(Brand, blank=True, help_text="Empty means every brand of the organisation")
    is_available = models.BooleanField(default=True)

    class Meta:
        unique_together = [("user", "organization")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


class AuditEvent(models.Model):
    """Who did what, when; written by the same service call that made the change."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="audit_events")
    # The brand the change belongs to (None: organisation-wide), so brand-restricted users see only theirs.
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    verb = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.verb} {self.target_type}:{self.target_id}"
