"""Replenishment: low-stock alerts and purchase orders from reorder suggestions."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from config.calendar import store_today
from inventory.models import LowStockAlert, PurchaseOrder, Supplier
from inventory.services import PurchaseLineRequest

from ..selectors import product_replenishment
from .purchasing import purchase_order_create


@transaction.atomic
def low_stock_alerts_record(*, now: dt.datetime | None = None) -> int:
    """Record today's low-stock alerts, one per product per day; returns how many are new."""
    today = store_today(now)
    # Annotated rows (on_hand, suggested_quantity, ...): typed Any for the type checker.
    replenishment: Any = product_replenishment()
    rows = replenishment.filter(suggested_quantity__gt=0)
    alerts = [
        LowStockAlert(
            product_id=p.pk,
            date=today,
            on_hand=p.on_hand,
            available=p.available,
            backordered=p.backordered,
            incoming=p.incoming,
            projected=p.projected,
            suggested_quantity=p.suggested_quantity,
        )
        for p in rows
    ]
    before = LowStockAlert.objects.filter(date=today).count()
    LowStockAlert.objects.bulk_create(alerts, ignore_conflicts=True)
    return LowStockAlert.objects.filter(date=today).count() - before


@transaction.atomic
def purchase_orders_from_suggestions(
    *, product_ids: Iterable[int], send: bool = False, actor: Any = None
) -> list[PurchaseOrder]:
    """Turn chosen reorder suggestions into draft purchase orders, one per supplier."""
    ids = list(product_ids)
    replenishment: Any = product_replenishment()
    rows: list[Any] = list(replenishment.filter(pk__in=ids).order_by("sku"))
    errors = [f"{p.sku}: no preferred supplier." for p in rows if p.preferred_supplier is None]
    errors += [f"{p.sku}: nothing to reorder." for p in rows if p.suggested_quantity <= 0]
    missing = set(ids) - {p.pk for p in rows}
    errors += [f"Product {pk} does not exist." for pk in sorted(missing)]
    if errors:
        raise ValidationError(errors)
    today = store_today()
    by_supplier: dict[Supplier, list[PurchaseLineRequest]] = defaultdict(list)
    for product in rows:
        supplier = product.preferred_supplier
        assert supplier is not None  # noqa: S101 - checked above
        lead = product.effective_lead_time_days or supplier.lead_time_days
        by_supplier[supplier].append(
            PurchaseLineRequest(
                product=product,
                quantity=product.suggested_quantity,
                expected_date=today + dt.timedelta(days=lead),
            )
        )
    return [
        purchase_order_create(
            supplier=supplier, lines=lines, send=send, note="From reorder suggestions", actor=actor
        )
        for supplier, lines in sorted(by_supplier.items(), key=lambda item: item[0].name)
    ]
