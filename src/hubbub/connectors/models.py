"""A Channel is one connected account or source of one brand on one network."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models

from hubbub.connectors.crypto import decrypt_json, encrypt_json


class Network(models.TextChoices):
    X = "x", "X / Twitter"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    THREADS = "threads", "Threads"
    MASTODON = "mastodon", "Mastodon"
    BLUESKY = "bluesky", "Bluesky"
    RSS = "rss", "Blog / RSS"
    FORUM = "forum", "Forum"
    REVIEW = "review", "Reviews"
    EMAIL = "email", "Email"
    OTHER = "other", "Other"


MAX_REPLY_CHARS = {
    Network.X: 280,
    Network.MASTODON: 500,
    Network.BLUESKY: 300,
    Network.INSTAGRAM: 2200,
    Network.FACEBOOK: 8000,
    Network.THREADS: 500,
}


class ChannelStatus(models.TextChoices):
    CONNECTED = "connected", "Connected"
    DEGRADED = "degraded", "Degraded"  # a failed poll or two, or waiting out a rate limit
    FAILING = "failing", "Failing"  # FAILING_AFTER polls in a row failed
    RECONNECT_NEEDED = "reconnect_needed", "Reconnect needed"  # credentials expired or revoked: polling stopped


class Channel(models.Model):
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE, related_name="channels")
    network = models.CharField(max_length=20, choices=Network.choices)
    name = models.CharField(max_length=200, help_text="Account handle or source name")
    credentials_encrypted = models.TextField(blank=True, editable=False)
    # The network's own id of the account (X user id, Facebook page id, Instagram / Threads user id): how a
    # webhook delivery, which names only that id, finds its channel without decrypting every channel.
    account_id = models.CharField(max_length=64, blank=True, default="")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Polling: where the last accepted poll ended (saved only after its events were committed), and when next.
    cursor = models.JSONField(default=dict, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    # Health, shown on Settings → Channels and by `hubbub channels list`.
    status = models.CharField(max_length=20, choices=ChannelStatus.choices, default=ChannelStatus.CONNECTED)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    rate_limit_remaining = models.IntegerField(null=True, blank=True)
    rate_limit_reset_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        unique_together = [("organization", "network", "name")]
        indexes = [
            models.Index(fields=["is_active", "next_poll_at"], name="channel_due"),
            models.Index(fields=["network", "account_id"], name="channel_account"),
        ]

    def __str__(self) -> str:
        return f"{self.get_network_display()} · {self.name}"

    @property
    def credentials(self) -> dict[str, Any]:
        return decrypt_json(self.credentials_encrypted)

    @credentials.setter
    def credentials(self, value: dict[str, Any]) -> None:
        self.credentials_encrypted = encrypt_json(value) if value else ""

    def lag_seconds(self, now: datetime) -> float | None:
        """How far behind the network this channel may be: the time since the last poll that succeeded."""
        if self.last_success_at is None:
            return None
        return max(0.0, (now - self.last_success_at).total_seconds())


class WatchRest(models.TextChoices):
    """Why the holder of a channel's lease does not watch it live for a while (`email_watchers.REST_SECONDS`);
    the labels complete "Polled: …" on Settings → Channels."""

    NO_IDLE = "no_idle", "the mail server does not offer IMAP IDLE"
    REFUSED = "refused", "the mail server refused the login"
    FAILED = "failed", "the live watch failed (the worker's log says why); it is tried again in a few minutes"


class ChannelWatch(models.Model):
    """Which worker process watches a channel live (IMAP IDLE, `connectors.email_watchers`), and until when.

    A lease, not a lock: the holder renews it while it runs, so when a process dies its lease runs out and
    another takes the channel over; two processes never watch one channel at once. Bookkeeping of the workers
    (no customer data): the organisation is the channel's.

    The holder also writes what it does with the channel, because holding is not watching: a channel whose
    server has no IDLE rests with its lease kept (so no other process tries), and Settings → Channels must not
    call it watched live (`connectors.email_watch_status`)."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, primary_key=True, related_name="watch")
    owner = models.CharField(max_length=120)  # the holding process: host, pid and a random part
    lease_until = models.DateTimeField()
    renewed_at = models.DateTimeField(null=True, blank=True)  # the holder's last renewal (null: before 0005)
    watching_since = models.DateTimeField(null=True, blank=True)  # the holder's watcher started; null: none runs
    rest_reason = models.CharField(max_length=20, choices=WatchRest.choices, blank=True)  # why none runs

    def __str__(self) -> str:
        return f"{self.channel_id} watched by {self.owner} until {self.lease_until:%H:%M:%S}"
