"""Workflow: how conversations are routed, assigned, timed and approved.

Routing rules and policies are per organisation; SLA clocks and their history are
per conversation; progress-update "issues" link many conversations to one update.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class BusinessHours(models.Model):
    """Opening hours per weekday plus holidays; evaluated in the team's time zone.

    `schedule` maps weekday ("0" = Monday … "6" = Sunday) to a list of
    ["HH:MM", "HH:MM"] intervals in local wall-clock time; `holidays` lists ISO dates.
    `timezone` is a fallback for conversations without a team.
    """

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    name = models.CharField(max_length=120)
    timezone = models.CharField(max_length=64, default="UTC")
    schedule = models.JSONField(default=dict, blank=True)
    holidays = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name_plural = "business hours"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SLAPolicy(models.Model):
    """Targets (minutes of business time) per metric and priority.

    `targets` = {"first_response": {"0": 240, "1": 60, "2": 30, "3": 15}, "next_response": {...},
    "resolution": {...}}; a missing metric or priority means "no clock".
    """

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    name = models.CharField(max_length=120)
    brand = models.ForeignKey("tenancy.Brand", null=True, blank=True, on_delete=models.CASCADE)
    is_default = models.BooleanField(default=False, help_text="Used when no routing rule picks a policy")
    business_hours = models.ForeignKey(BusinessHours, null=True, blank=True, on_delete=models.SET_NULL)
    targets = models.JSONField(default=dict, blank=True)
    warn_at_pct = models.PositiveSmallIntegerField(default=75)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def target_minutes(self, metric: str, priority: int) -> int | None:
        value = (self.targets or {}).get(metric, {}).get(str(priority))
        return int(value) if value not in (None, "") else None


class Metric(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    NEXT_RESPONSE = "next_response", "Next response"
    RESOLUTION = "resolution", "Resolution"


class SLAClock(models.Model):
    """One running (or paused, or stopped) target on one conversation.

    Business seconds already consumed are kept in `used_seconds` while the clock is
    paused; `due_at`/`warn_at` are wall-clock instants valid while it runs.
    """

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        STOPPED = "stopped", "Stopped"

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    # indexed by slaclock_conv (conversation, metric)
    conversation = models.ForeignKey(
        "inbox.Conversation", on_delete=models.CASCADE, related_name="sla_clocks", db_index=False
    )
    policy = models.ForeignKey(SLAPolicy, null=True, blank=True, on_delete=models.SET_NULL)
    metric = models.CharField(max_length=20, choices=Metric.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    target_seconds = models.PositiveIntegerField()
    used_seconds = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    running_since = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, blank=True, help_text="met | breached | cancelled")

    class Meta:
        indexes = [
            models.Index(fields=["state", "warn_at"], name="slaclock_warn"),
            models.Index(fields=["state", "due_at"], name="slaclock_due"),
            models.Index(fields=["conversation", "metric"], name="slaclock_conv"),
        ]


class SLAEvent(models.Model):
    """History of a conversation's SLA clocks (started, paused, warning, breached, met …) for reports."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    conversation = models.ForeignKey("inbox.Conversation", on_delete=models.CASCADE, related_name="sla_events")
    clock = models.ForeignKey(SLAClock, on_delete=models.CASCADE, related_name="events")
    metric = models.CharField(max_length=20, choices=Metric.choices)
    kind = models.CharField(max_length=20)
    at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["organization", "kind", "at"], name="slaevent_org_kind")]


class RoutingRule(models.Model):
    """Ordered per organisation; conditions and actions are JSON (see workflow/rules.py)."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    stop_processing = models.BooleanField(default=False, help_text="Later rules are skipped when this one matches")
    conditions = models.JSONField(default=dict, blank=True)
    actions = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class AssignmentPolicy(models.Model):
    class Mode(models.TextChoices):
        MANUAL = "manual", "Manual"
        ROUND_ROBIN = "round_robin", "Round-robin"
        LOAD_BALANCED = "load_balanced", "Load-balanced"

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    team = models.OneToOneField("tenancy.Team", on_delete=models.CASCADE, related_name="assignment_policy")
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.MANUAL)
    capacity = models.PositiveIntegerField(default=20, help_text="Open conversations per agent")
    last_assigned_user_id = models.IntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.team} · {self.get_mode_display()}"


class ApprovalPolicy(models.Model):
    """A reply needs approval when every non-empty criterion of an active policy matches."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    name = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)
    roles = models.JSONField(default=list, blank=True, help_text="Author roles, e.g. ['agent']")
    brand_ids = models.JSONField(default=list, blank=True)
    intents = models.JSONField(default=list, blank=True)
    topics = models.JSONField(default=list, blank=True)
    sensitive_words = models.JSONField(default=list, blank=True)
    during_incident = models.BooleanField(default=False, help_text="Only while the brand has an active incident")

    class Meta:
        verbose_name_plural = "approval policies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ComposerPresence(models.Model):
    """Who has a conversation's reply composer open right now (collision warning)."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    conversation = models.ForeignKey("inbox.Conversation", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField()

    class Meta:
        unique_together = [("conversation", "user")]


class TrackedIssue(models.Model):
    """A known problem ("outage on check-in") linking every conversation it affects."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        FIXED = "fixed", "Fixed"

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE)
    title = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    conversations = models.ManyToManyField("inbox.Conversation", blank=True, related_name="tracked_issues")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    fixed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class IssueUpdate(models.Model):
    """One progress update, approved once, sent as one reply per linked conversation."""

    class State(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Needs approval"
        REJECTED = "rejected", "Rejected"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE)
    issue = models.ForeignKey(TrackedIssue, on_delete=models.CASCADE, related_name="updates")
    text = models.TextField()
    is_closing = models.BooleanField(default=False)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING_APPROVAL)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]


class IssueDelivery(models.Model):
    """Delivery status of one update to one conversation (through the exactly-once reply path)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    update = models.ForeignKey(IssueUpdate, on_delete=models.CASCADE, related_name="deliveries")
    conversation = models.ForeignKey("inbox.Conversation", on_delete=models.CASCADE, related_name="+")
    reply = models.ForeignKey("inbox.Reply", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)

    class Meta:
        unique_together = [("update", "conversation")]
