"""An organisation's sign-in rules, kept beside (not inside) the tenancy models they qualify."""

from __future__ import annotations

from django.db import models


class SecurityPolicy(models.Model):
    """One row per organisation that changed a default; no row means the defaults (two-factor optional)."""

    organization = models.OneToOneField(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="security_policy"
    )
    require_two_factor = models.BooleanField(
        default=False, help_text="Admins and supervisors must sign in with a code from an authenticator app."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.organization}: two-factor {'required' if self.require_two_factor else 'optional'}"
