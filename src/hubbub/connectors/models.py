"""A Channel is one connected account or source of one brand on one network."""

from __future__ import annotations

from typing import Any

from django.db import models

from hubbub.connectors.crypto import decrypt_json, encrypt_json


class Network(models.TextChoices):
    X = "x", "X / Twitter"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
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
}


class Channel(models.Model):
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    brand = models.ForeignKey("tenancy.Brand", on_delete=models.CASCADE, related_name="channels")
    network = models.CharField(max_length=20, choices=Network.choices)
    name = models.CharField(max_length=200, help_text="Account handle or source name")
    credentials_encrypted = models.TextField(blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        unique_together = [("organization", "network", "name")]

    def __str__(self) -> str:
        return f"{self.get_network_display()} · {self.name}"

    @property
    def credentials(self) -> dict[str, Any]:
        return decrypt_json(self.credentials_encrypted)

    @credentials.setter
    def credentials(self, value: dict[str, Any]) -> None:
        self.credentials_encrypted = encrypt_json(value) if value else ""
