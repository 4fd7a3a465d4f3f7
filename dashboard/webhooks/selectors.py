"""Reads for the webhook delivery log."""

from __future__ import annotations

from django.db.models import QuerySet

from storefront.models import WebhookDelivery


def webhook_delivery_list(*, channel_id: int | None = None, state: str = "") -> QuerySet:
    """Deliveries, newest first, with their subscription and channel (one query a page)."""
    deliveries = WebhookDelivery.objects.select_related("subscription__channel").defer("payload")
    if channel_id is not None:
        deliveries = deliveries.filter(subscription__channel_id=channel_id)
    if state:
        deliveries = deliveries.filter(state=state)
    return deliveries.order_by("-created_at", "-id")
