from __future__ import annotations

from django.db import models
from django.db.models import Q

from orders.models import Order


class Notification(models.Model):
    """One email in the outbox: written with the change that causes it, sent after commit."""

    class Kind(models.TextChoices):
        ORDER_CONFIRMATION = "order_confirmation", "Order confirmation"
        ETA_CHANGED = "eta_changed", "ETA changed"
        SHIPMENT_SENT = "shipment_sent", "Shipment sent"
        ITEMS_ALLOCATED = "items_allocated", "Backordered items allocated"
        CANCELLATION = "cancellation", "Cancellation and refund"
        DISCONTINUED = "discontinued", "Item discontinued"
        DELAY_NOTICE = "delay_notice", "Delay option notice"
        RENEWED_NOTICE = "renewed_notice", "Renewed option notice"
        CONSENT_CONFIRMED = "consent_confirmed", "Consent confirmed"
        STAFF_BACKORDER_ALERT = "staff_backorder_alert", "Staff: new backorder"
        STAFF_DIGEST = "staff_digest", "Staff: daily digest"
        WAITLIST_INVITATION = "waitlist_invitation", "Waitlist: back in stock"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Not needed"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="notifications"
    )
    recipient = models.EmailField()
    dedupe_key = models.CharField(max_length=120, unique=True)
    facts = models.JSONField(default=dict, help_text="Everything the email says, as data.")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    send_after = models.DateTimeField(help_text="Not sent before this (batching window).")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True, db_index=True)
    resend_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="resends"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["send_after"],
                name="notification_pending_idx",
                condition=Q(state__in=["pending", "sending"]),
            ),
            models.Index(fields=["order", "kind", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient} ({self.state})"


class DeliveryEvent(models.Model):
    """A provider's tracking event (delivered, bounced, ...), recorded once by its event id."""

    event_id = models.CharField(max_length=200, unique=True)
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    event_type = models.CharField(max_length=40)
    message_id = models.CharField(max_length=200, blank=True)
    recipient = models.EmailField(blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    description = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_type} for {self.message_id}"
