"""Sales channels (the storefronts that send orders), their API keys and the API's memory."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from .origins import validate_origins


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
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_origins],
        help_text="The web addresses of the store's pages (e.g. https://shop.example) that may "
        "show the availability widget with a publishable key.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A channel's key: only its prefix and the SHA-256 of the whole key are kept (and, for a
    publishable key, which every visitor of the store's pages sees anyway, the key itself)."""

    class Kind(models.TextChoices):
        SECRET = "secret", "Secret (the store's server: everything)"
        PUBLISHABLE = "publishable", "Publishable (web pages: read availability only)"

    channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE, related_name="api_keys")
    kind = models.CharField(max_length=11, choices=Kind.choices, default=Kind.SECRET)
    name = models.CharField(max_length=100, blank=True, help_text="What uses it, e.g. 'shop 2026'.")
    publishable_key = models.CharField(max_length=100, blank=True, editable=False)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["channel", "-created_at"]
        verbose_name = "API key"
        constraints = [
            # A secret key is never kept; a publishable one always is (staff copy it again).
            models.CheckConstraint(
                condition=Q(kind="secret", publishable_key="")
                | (Q(kind="publishable") & ~Q(publishable_key="")),
                name="apikey_only_publishable_kept",
            )
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.channel})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def is_publishable(self) -> bool:
        return self.kind == self.Kind.PUBLISHABLE


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


class WebhookEvent(models.TextChoices):
    ORDER_BACKORDERED = "order.backordered", "Order backordered"
    LINE_ETA_CHANGED = "line.eta_changed", "Line ETA changed"
    LINE_ALLOCATED = "line.allocated", "Line allocated"
    SHIPMENT_CREATED = "shipment.created", "Shipment created"
    LINE_CANCELLED = "line.cancelled", "Line cancelled"
    ORDER_CANCELLED = "order.cancelled", "Order cancelled"
    REFUND_DUE = "refund.due", "Refund due"
    REFUND_ISSUED = "refund.issued", "Refund issued"
    NOTICE_SENT = "notice.sent", "Delay notice sent"
    CONSENT_ANSWERED = "consent.answered", "Consent answered"
    STOCK_CHANGED = "stock.changed", "Stock changed"
    GOODWILL_GRANTED = "goodwill.granted", "Goodwill granted"
    WAITLIST_JOINED = "waitlist.joined", "Waitlist joined"
    WAITLIST_INVITED = "waitlist.invited", "Waitlist invited"


class WebhookSubscription(models.Model):
    """Where a channel wants to hear about events, and which ones."""

    channel = models.ForeignKey(
        SalesChannel, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    url = models.URLField("URL", max_length=500)
    event_types = models.JSONField(
        default=list, help_text="The events sent to this URL (see the README for each payload)."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["channel", "url"]

    def __str__(self) -> str:
        return f"{self.channel}: {self.url}"


class WebhookDelivery(models.Model):
    """One event for one subscription: written with the change, sent by the worker."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=30, choices=WebhookEvent.choices)
    order_number = models.CharField(max_length=20, blank=True)
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            # The worker's queue: rows still to send, by when they are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "sending"]),
                name="webhookdelivery_due_idx",
            ),
        ]
        constraints = [
            # One row per event and subscription: a re-send reuses it, never copies it.
            models.UniqueConstraint(
                fields=["subscription", "event_id"], name="webhookdelivery_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class WaitlistEntry(models.Model):
    """A shopper who asked to be told when a product is back: told in the order of joining,
    once every backordered line has its units, never more of them than units free."""

    product = models.ForeignKey(
        "inventory.Product", on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    email = models.EmailField(help_text="Kept in lower case: one entry per address.")
    channel = models.ForeignKey(
        SalesChannel,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="waitlist_entries",
        help_text="The storefront it came through; empty for the embeddable form.",
    )
    product_url = models.URLField(
        "product page",
        max_length=500,
        blank=True,
        help_text="Where the shopper buys it (given by the storefront): the email links here.",
    )
    joined_at = models.DateTimeField(db_index=True)
    invited_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at", "id"]
        verbose_name_plural = "waitlist entries"
        indexes = [
            # The invitation queue: a product's entries still waiting, oldest first.
            models.Index(
                fields=["product", "joined_at", "id"],
                condition=Q(invited_at=None, left_at=None),
                name="waitlist_waiting_idx",
            ),
        ]
        constraints = [
            # Joining twice is one entry: a second join finds the first.
            models.UniqueConstraint(
                fields=["product", "email"],
                condition=Q(invited_at=None, left_at=None),
                name="waitlist_one_waiting_entry",
            ),
            models.CheckConstraint(
                condition=Q(invited_at=None) | Q(invited_at__gte=models.F("joined_at")),
                name="waitlist_invited_after_joining",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} for {self.product_id}"
