"""API tokens: only a SHA-256 hash is stored; the secret is shown once when created."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, user: object, organization_id: int, name: str) -> tuple[ApiToken, str]:
        """Create a token; return it and the plain key (never stored)."""
        key = "hbb_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, organization_id=organization_id, name=name, prefix=key[:12], key_hash=cls.hash_key(key)
        )
        return token, key


from hubbub.api.webhook_models import WebhookDelivery, WebhookEndpoint  # noqa: E402

__all__ = ["ApiToken", "WebhookDelivery", "WebhookEndpoint"]
