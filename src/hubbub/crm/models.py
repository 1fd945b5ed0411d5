"""Customers, their orders, and the social profiles (authors) linked to them.

A profile is linked to at most one customer (`SocialProfile.customer`); the
`IdentityLink` rows say *why* (method, confidence, who confirmed and when) and
also carry fuzzy suggestions and rejections, so an agent's "no" is remembered.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Customer(models.Model):
    class Tier(models.TextChoices):
        UNKNOWN = "unknown", "Unknown"
        ONE_TIME = "one_time", "One-time"
        REGULAR = "regular", "Regular"
        LOYAL = "loyal", "Loyal"

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True, db_index=True)
    phone = models.CharField(max_length=40, blank=True)
    address = models.TextField(blank=True)
    location = models.CharField(max_length=200, blank=True, help_text="City / region, used for fuzzy matching")
    handles = models.JSONField(default=list, blank=True, help_text="Social handles the brand knows, without @")
    external_id = models.CharField(max_length=100, blank=True, db_index=True)
    hubspot_id = models.CharField(max_length=40, blank=True, db_index=True)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.UNKNOWN)
    lifetime_value = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    order_count = models.PositiveIntegerField(default=0)
    first_purchase_at = models.DateTimeField(null=True, blank=True)
    last_purchase_at = models.DateTimeField(null=True, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    name_key = models.CharField(max_length=60, blank=True, help_text="Blocking key for fuzzy matching (last name)")
    first_key = models.CharField(max_length=60, blank=True, help_text="Formal first name, second blocking key")
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_customers"
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, null=True)
    synced_at = models.DateTimeField(null=True, blank=True, help_text="Last successful external CRM sync")
    sync_snapshot = models.JSONField(default=dict, blank=True, help_text="Field values both sides agreed on last sync")

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-lifetime_value", "id"], name="cust_org_ltv"),
            models.Index(fields=["organization", "name_key"], name="cust_org_namekey"),
            models.Index(fields=["organization", "first_key", "name_key"], name="cust_org_firstkey"),
            models.Index(fields=["organization", "name"], name="cust_org_name"),
        ]

    def __str__(self) -> str:
        return self.name or self.email or f"Customer {self.pk}"


class CustomerIdentifier(models.Model):
    """Exact identifiers of a customer ("email:…", "phone:+…", "handle:…"), one indexed lookup per batch."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identifiers")
    value = models.CharField(max_length=260)

    class Meta:
        indexes = [models.Index(fields=["organization", "value"], name="custid_org_value")]


class TierRules(models.Model):
    """Per-organisation loyalty rules; a customer is loyal if either loyal threshold is met."""

    organization = models.OneToOneField("tenancy.Organization", on_delete=models.CASCADE, related_name="tier_rules")
    regular_min_orders = models.PositiveIntegerField(default=2)
    loyal_min_orders = models.PositiveIntegerField(default=6)
    loyal_min_value = models.DecimalField(max_digits=12, decimal_places=2, default=1000)
    auto_link_threshold = models.FloatField(default=0.82, help_text="Fuzzy scores at or above link automatically")
    suggest_threshold = models.FloatField(default=0.55, help_text="Fuzzy scores at or above are suggested")


class SocialProfile(models.Model):
    """An author on a network; resolved to a Customer when the evidence allows."""

    # indexed as the prefix of the (organization, network, external_id) unique key
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, db_index=False)
    network = models.CharField(max_length=20)
    external_id = models.CharField(max_length=200)
    handle = models.CharField(max_length=200, blank=True)
    display_name = models.CharField(max_length=200, blank=True)
    followers = models.PositiveIntegerField(default=0)
    location = models.CharField(max_length=200, blank=True)
    is_brand_account = models.BooleanField(default=False)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="profiles")
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        unique_together = [("organization", "network", "external_id")]

    def __str__(self) -> str:
        return f"@{self.handle or self.external_id} ({self.network})"


class IdentityLink(models.Model):
    """Why a profile is believed to be a customer: method, confidence, who confirmed."""

    class Status(models.TextChoices):
        AUTO = "auto", "Linked automatically"
        SUGGESTED = "suggested", "Suggested"
        CONFIRMED = "confirmed", "Confirmed by an agent"
        REJECTED = "rejected", "Rejected by an agent"

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    profile = models.ForeignKey(SocialProfile, on_delete=models.CASCADE, related_name="links")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="links")
    method = models.CharField(max_length=40, help_text="email, phone, handle, mapping, fuzzy, manual")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.AUTO)
    confidence = models.FloatField(default=1.0)
    evidence = models.JSONField(default=dict, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["profile", "status"], name="link_profile_status"),
            models.Index(fields=["customer", "status"], name="link_customer_status"),
        ]


class Order(models.Model):
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    external_id = models.CharField(max_length=100, blank=True)
    ordered_at = models.DateTimeField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    product = models.CharField(max_length=200, blank=True)
    channel = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["-ordered_at"]
        indexes = [
            models.Index(fields=["customer", "-ordered_at"], name="order_customer_recent"),
            models.Index(fields=["organization", "external_id"], name="order_org_ext"),
        ]


class Interaction(models.Model):
    """Contact outside social networks, logged by an agent (phone call, email) or a CSAT answer."""

    class Kind(models.TextChoices):
        PHONE = "phone", "Phone call"
        EMAIL = "email", "Email"
        NOTE = "note", "Note"
        CSAT = "csat", "CSAT answer"

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NOTE)
    text = models.TextField(blank=True)
    score = models.SmallIntegerField(null=True, blank=True, help_text="CSAT 1–5")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    occurred_at = models.DateTimeField()
    hubspot_id = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["customer", "-occurred_at"], name="interaction_customer_recent")]


class MergeRecord(models.Model):
    """What moved when `merged` was folded into `survivor`, so the merge can be undone exactly."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    survivor = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges_won")
    merged = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges_lost")
    moved = models.JSONField(default=dict)
    survivor_before = models.JSONField(default=dict)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )


class SyncConflict(models.Model):
    """A field edited on both sides since the last sync; resolved by the documented rule, shown to agents."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="sync_conflicts")
    field = models.CharField(max_length=60)
    local_value = models.TextField(blank=True)
    remote_value = models.TextField(blank=True)
    kept = models.CharField(max_length=10, help_text="local or remote")
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class SyncedActivity(models.Model):
    """A conversation or logged interaction already written to the external CRM (never twice).

    `local_id` is the conversation's or the interaction's id (no foreign key: one table for both kinds).
    When conversations are merged, `sync.move_synced_conversations` moves the row of an absorbed
    conversation to its survivor; `merged_remote_ids` keeps the notes written for conversations merged
    into one that already had its own (they exist in the CRM; their ids are not dropped).

    A row with an empty `remote_id` is a claim: a sync is writing that note now
    (`activity_log.claim_activity`, committed before HubSpot is called, so a second sync skips it); it gets the
    note's id when HubSpot answers, is deleted if HubSpot fails for a while (429, 5xx, a timeout), and is taken
    over after `activity_log.CLAIM_TTL` if its sync died. A claim with an `error` is an item HubSpot refused for
    good (a 400 validation error, …): it is skipped by every sync, listed on Customers → HubSpot, and deleted by
    "Retry" (`activity_log.retry_rejected`).

    Kind `contact` (the customer's id) is a claim only: a sync creating that customer's contact; it is removed
    when the contact's id is stored on the customer."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    kind = models.CharField(max_length=20, help_text="conversation or interaction")
    local_id = models.BigIntegerField()
    remote_id = models.CharField(max_length=60)
    merged_remote_ids = models.JSONField(
        default=list, blank=True, help_text="Notes written for conversations since merged into this one"
    )
    error = models.TextField(
        blank=True, help_text="Why HubSpot refused this note for good (e.g. a validation error); retried on request"
    )
    failed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        unique_together = [("organization", "kind", "local_id")]


class ImportJob(models.Model):
    """One CSV upload imported in the background: the file itself, its column mapping and live progress.

    The file is kept in the database (`content`) so any worker machine can read it; it is cleared
    when the job ends. Progress is written once per chunk, so the job page can poll it cheaply.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Waiting for the column mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    fmt = models.CharField(max_length=20, default="customers", help_text="customers, orders or mapping")
    file_name = models.CharField(max_length=255)
    file_size = models.PositiveBigIntegerField(default=0)
    content = models.BinaryField(default=b"", help_text="The uploaded file (UTF-8 CSV); emptied when the job ends")
    header = models.JSONField(default=list, blank=True)
    sample = models.JSONField(default=list, blank=True, help_text="First rows, shown on the mapping step")
    mapping = models.JSONField(default=dict, blank=True, help_text="Field → column chosen by the user")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0, help_text="Rows repeated in the file")
    rejected_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="First rejected rows: [{row, reason}]")
    unknown_columns = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True, help_text="Why the job failed")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(null=True, blank=True, help_text="Last progress (heartbeat)")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="importjob_org_recent"),
            models.Index(fields=["status", "updated_at"], name="importjob_status"),
        ]

    def __str__(self) -> str:
        return f"{self.fmt} import {self.file_name} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    def progress(self) -> dict[str, object]:
        """What the job page shows and polls: percentage, rows per second, counts."""
        total, done = self.total_rows, self.processed_rows
        if self.status == self.Status.DONE:
            percent = 100.0
        else:
            percent = round(min(100.0, 100.0 * done / total), 1) if total else 0.0
        end = self.finished_at or timezone.now()
        seconds = (end - self.started_at).total_seconds() if self.started_at else 0.0
        return {
            "id": self.pk,
            "status": self.status,
            "status_label": self.get_status_display(),
            "finished": self.status in (self.Status.DONE, self.Status.FAILED),
            "total_rows": total,
            "processed_rows": done,
            "percent": percent,
            "rows_per_second": round(done / seconds) if seconds > 0 else 0,
            "seconds": round(seconds, 1),
            "created": self.created_count,
            "updated": self.updated_count,
            "skipped": self.skipped_count,
            "rejected": self.rejected_count,
        }


class OAuthState(models.Model):
    """One "Connect HubSpot" click waiting for HubSpot to send the browser back.

    The OAuth `state` handed to HubSpot is `<id>.<secret>`; only a SHA-256 of the secret is kept. It is
    bound to the user and organisation that started it, expires after a few minutes and is used once
    (`used_at`, set by one conditional UPDATE). `redirect_uri` is the exact one sent to the authorize URL,
    which the code exchange must repeat.
    """

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=20, default="hubspot")
    secret_hash = models.CharField(max_length=64)
    redirect_uri = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.provider} authorisation by user {self.user_id} ({'used' if self.used_at else 'pending'})"
