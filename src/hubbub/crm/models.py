"""Customers and the social profiles (authors) linked to them."""

from __future__ import annotations

from django.conf import settings
from django.db import models


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
    external_id = models.CharField(max_length=100, blank=True, db_index=True)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.UNKNOWN)
    lifetime_value = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    order_count = models.PositiveIntegerField(default=0)
    first_purchase_at = models.DateTimeField(null=True, blank=True)
    last_purchase_at = models.DateTimeField(null=True, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name or self.email or f"Customer {self.pk}"


class SocialProfile(models.Model):
    """An author on a network; resolved to a Customer when the evidence allows."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
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

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE)
    profile = models.ForeignKey(SocialProfile, on_delete=models.CASCADE, related_name="links")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="links")
    method = models.CharField(max_length=40)
    confidence = models.FloatField(default=1.0)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


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
