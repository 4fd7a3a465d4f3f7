"""Sales channels (the storefronts that send orders), their API keys and the API's memory."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q


class SalesChannel(models.Model):
    class Kind(models.TextChoices):
        CUSTOM = "custom", "Custom API"
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.CUSTOM)
    webhook_secret = models.CharField(
        "webhook signing secret",
        max_length=200,
        blank=True,
        help_text="Signs what the channel sends us (Shopify, WooCommerce) and what we send it.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A channel's key: only its prefix and the SHA-256 of the whole key are kept."""

    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True, help_text="What uses it, e.g. 'shop 2026'.")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["channel", "-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.channel})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """One order request per (channel, Idempotency-Key): its body's hash and the response sent."""

    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    order_number = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "key"], name="idempotency_key_per_channel")
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.key}"


class HeldQuote(models.Model):
    """A quote a storefront showed its buyer: an order citing it gets exactly these ETAs."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="+")
    lines = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["channel"], name="heldquote_channel_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="heldquote_expires_later"
            )
        ]

    def __str__(self) -> str:
        return str(self.id)


class IntakeRecord(models.Model):
    """One webhook delivery from a Shopify or WooCommerce store, and what became of it."""

    class Outcome(models.TextChoices):
        CREATED = "created", "Order created"
        DUPLICATE = "duplicate", "Duplicate (order already taken)"
        CANCELLED = "cancelled", "Order cancelled"
        REFUSED = "refused", "Refused"
        IGNORED = "ignored", "Ignored"

    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="intake")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    topic = models.CharField(max_length=100)
    delivery_id = models.CharField(
        max_length=255, help_text="The platform's id of this delivery (the same on redeliveries)."
    )
    source = models.CharField(
        max_length=255, blank=True, help_text="The store that sent it (its domain or address)."
    )
    external_id = models.CharField("order id in the store", max_length=100, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    detail = models.TextField(blank=True)
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="intake_records",
    )

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "delivery_id"], name="intake_delivery_once_per_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.topic}:{self.delivery_id} {self.outcome}"
