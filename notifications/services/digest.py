"""The staff digest: what needs attention today, as one email to the staff address."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.calendar import store_today
from orders.models import Order, OrderLine

from ..models import Notification
from .outbox import _create

Kind = Notification.Kind


def staff_digest_facts(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """Low stock, reorder suggestions, unknown ETAs and unreachable customers, for the digest."""
    from inventory.models import LowStockAlert

    today = store_today(now)
    low = (
        LowStockAlert.objects.filter(date=today).select_related("product").order_by("product__sku")
    )
    unknown = (
        OrderLine.objects.filter(quantity_backordered__gt=0, eta_source="unknown")
        .select_related("order", "product")
        .order_by("order__placed_at")[:50]
    )
    unreachable = Order.objects.filter(customer_unreachable_at__isnull=False).select_related(
        "customer"
    )[:50]
    return {
        "date": today.isoformat(),
        "low_stock": [
            {
                "sku": a.product.sku,
                "name": a.product.name,
                "on_hand": a.on_hand,
                "backordered": a.backordered,
                "suggested": a.suggested_quantity,
            }
            for a in low
        ],
        "unknown_etas": [
            {
                "order_number": line.order.number,
                "sku": line.product.sku,
                "backordered": line.backordered,
            }
            for line in unknown
        ],
        "unreachable": [
            {
                "order_number": o.number,
                "email": o.customer.email,
                "reason": o.customer_unreachable_reason,
            }
            for o in unreachable
        ],
    }


@transaction.atomic
def staff_digest_create(*, now: dt.datetime | None = None) -> list[Notification]:
    """Today's digest to each staff address, once a day."""
    facts = staff_digest_facts(now=now)
    return _create(
        [
            Notification(
                kind=Kind.STAFF_DIGEST,
                recipient=address,
                dedupe_key=f"digest:{facts['date']}:{address.lower()}",
                facts=facts,
                send_after=timezone.now(),
            )
            for address in settings.STAFF_NOTIFICATION_EMAILS
        ],
        ignore_conflicts=True,
    )
