"""Conversations, their messages, replies, notes and tags: what agents work on."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Status(models.TextChoices):
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    RESOLVED = "resolved", "Resolved"


class Priority(models.IntegerChoices):
    LOW = 0, "Low"
    NORMAL = 1, "Normal"
    HIGH = 2, "High"
    URGENT = 3, "Urgent"


class Tag(models.Model):
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    name = models.CharField(max_length=60)

    class Meta:
        unique_together = [("organization", "name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Conversation(models.Model):
    """A customer's mentions of one brand, threaded, plus the brand's replies."""

    # indexed as the prefix of conv_org_recent and the other inbox indexes
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, db_index=False)
    # indexed as the prefix of conv_thread_lookup (brand, author, status)
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE, db_index=False)
    network = models.CharField(max_length=20)
    author = models.ForeignKey("crm.SocialProfile", on_delete=models.PROTECT, related_name="conversations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    priority = models.SmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    # Optional foreign keys get partial indexes (rows that have one): most rows leave them empty,
    # and an index entry per empty row only slowed ingestion.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
        db_index=False,
    )
    team = models.ForeignKey("tenancy.Team", null=True, blank=True, on_delete=models.SET_NULL, db_index=False)
    tags = models.ManyToManyField(Tag, blank=True)
    preview = models.CharField(max_length=280, blank=True)
    search_text = models.TextField(blank=True, help_text="Lower-cased author and recent text, for inbox search")
    sentiment = models.CharField(max_length=10, blank=True)
    sentiment_score = models.FloatField(default=0)
    intent = models.CharField(max_length=20, blank=True)
    topic = models.CharField(max_length=60, blank=True)
    urgency = models.SmallIntegerField(default=0)
    message_count = models.PositiveIntegerField(default=0)
    first_message_at = models.DateTimeField()
    last_message_at = models.DateTimeField()
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    routing_log = models.JSONField(default=list, blank=True)
    # Set by workflow routing rules: replies always need approval; spam is kept but out of the inbox.
    requires_approval = models.BooleanField(default=False)
    is_spam = models.BooleanField(default=False)
    sla_policy = models.ForeignKey(
        "workflow.SLAPolicy", null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "-last_message_at", "-id"], name="conv_org_recent"),
            models.Index(fields=["organization", "brand", "-last_message_at"], name="conv_brand_recent"),
            models.Index(fields=["organization", "status", "-last_message_at"], name="conv_status_recent"),
            models.Index(fields=["organization", "-urgency", "-last_message_at"], name="conv_org_urgent"),
            models.Index(fields=["organization", "assignee", "-last_message_at"], name="conv_assignee_recent"),
            models.Index(fields=["organization", "sla_due_at"], name="conv_org_sla"),
            models.Index(fields=["brand", "author", "status"], name="conv_thread_lookup"),
            models.Index(fields=["assignee"], condition=Q(assignee__isnull=False), name="conv_assignee_set"),
            models.Index(fields=["team"], condition=Q(team__isnull=False), name="conv_team_set"),
            models.Index(fields=["sla_policy"], condition=Q(sla_policy__isnull=False), name="conv_policy_set"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.brand} · {self.author}"


class Direction(models.TextChoices):
    IN = "in", "Inbound"
    OUT = "out", "Outbound"


class Message(models.Model):
    # indexed as the prefix of the (organization, network, external_id) unique key
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, db_index=False)
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE)
    # indexed by msg_thread (conversation, created_at): a second index only slows inserts
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False)
    network = models.CharField(max_length=20)
    external_id = models.CharField(max_length=200)
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.IN)
    author = models.ForeignKey("crm.SocialProfile", null=True, on_delete=models.SET_NULL)
    text = models.TextField()
    created_at = models.DateTimeField()
    in_reply_to = models.CharField(max_length=200, blank=True)
    # True while the parent (`in_reply_to`) is not stored: out-of-order delivery. When the parent
    # arrives, threading finds these replies through the partial index below and joins them to it.
    awaiting_parent = models.BooleanField(default=False)
    url = models.URLField(max_length=500, blank=True)
    lang = models.CharField(max_length=10, blank=True)
    retweets = models.PositiveIntegerField(default=0)
    likes = models.PositiveIntegerField(default=0)
    sentiment = models.CharField(max_length=10, blank=True)
    sentiment_score = models.FloatField(default=0)
    intent = models.CharField(max_length=20, blank=True)
    topic = models.CharField(max_length=60, blank=True)
    journey_stage = models.CharField(max_length=20, blank=True)
    urgency = models.SmallIntegerField(default=0)
    analysis = models.JSONField(default=dict, blank=True)
    model_version = models.CharField(max_length=60, blank=True)
    # when the accurate tier relabelled this message in the background (`ingest/refinement.py`); null = the
    # fast tier's labels from ingest. `model_version` is then the accurate tier's version.
    refined_at = models.DateTimeField(null=True, blank=True)
    # only the brand's replies have one: a partial index (see Meta) instead of an entry per message
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )

    class Meta:
        unique_together = [("organization", "network", "external_id")]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="msg_thread"),
            models.Index(fields=["organization", "brand", "created_at"], name="msg_brand_time"),
            models.Index(fields=["sent_by"], condition=Q(sent_by__isnull=False), name="msg_sent_by_set"),
            models.Index(
                fields=["organization", "network", "in_reply_to"],
                condition=Q(awaiting_parent=True),
                name="msg_awaiting_parent",
            ),
            # the refinement queue: inbound messages the accurate tier has not relabelled yet, newest first
            models.Index(fields=["-id"], condition=Q(refined_at__isnull=True, direction="in"), name="msg_unrefined"),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.direction} {self.external_id}: {self.text[:40]}"


class Reply(models.Model):
    """A brand's answer in the making: draft → (approval) → sending → sent, exactly once."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        PENDING_APPROVAL = "pending_approval", "Needs approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True)
    external_id = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # who asked for it: an agent in the inbox, a bulk reply, a routing rule's auto-reply, an issue's progress
    # update, or the API (every origin goes through `inbox.actions.replies.do_create_reply`)
    origin = models.CharField(max_length=10, default="agent")
    # delivery: each claim (approved → sending) counts an attempt and stamps the time, so a reply left in
    # `sending` by a dead worker is re-claimed, and a later attempt asks the network before posting again
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # the network id of the customer's message the reply answers, fixed before the first attempt posts: a later
    # attempt asks the network about the post under that message, even when the customer wrote again meanwhile
    in_reply_to = models.CharField(max_length=200, blank=True, default="")
    # a submission sent twice (an API retry with the same Idempotency-Key, a composer form posted twice) is
    # one reply: the key the client gave ("api:…", "form:…"; empty when none) is unique per organisation, so
    # two concurrent requests cannot both insert, and `request_hash` tells a replay from a reused key
    client_key = models.CharField(max_length=200, blank=True, default="")
    request_hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["state", "claimed_at"], name="reply_state_claimed")]
        verbose_name_plural = "replies"  # not "Replys" in the admin
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "client_key"], condition=~Q(client_key=""), name="reply_client_key_once"
            )
        ]


class Note(models.Model):
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]


class CannedResponse(models.Model):
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    brand = models.ForeignKey("tenancy.Brand", null=True, blank=True, on_delete=models.CASCADE)
    title = models.CharField(max_length=120)
    body = models.TextField(help_text="Variables: {first_name}, {agent_name}, {case_number}, {brand}")

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class ConversationAlias(models.Model):
    """The id of a conversation merged into another (`inbox.merging`), so links to it still lead somewhere.

    Written in the merge's transaction. `conversation` is always the current survivor: when a survivor is
    itself absorbed later, its aliases move with every other row pointing at it (one UPDATE), so a chain
    A → B → C resolves in one lookup. Resolving goes through `merging.merged_into`, within a user's scope.
    """

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    old_id = models.BigIntegerField(unique=True)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="aliases")
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"#{self.old_id} → #{self.conversation_id}"


class SavedView(models.Model):
    """An agent's own inbox view: a name for a set of filters (the inbox's query string), shown with its count
    beside the built-in ones (`inbox.saved_views`). Personal: only its owner sees, opens or deletes it."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=500, help_text="The inbox filters, as a query string")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user", "name"], name="saved_view_unique_name"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
