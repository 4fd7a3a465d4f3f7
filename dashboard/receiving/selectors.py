"""Reads for the receiving screen."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import (
    QuerySet,
)

from inventory.models import Product, PurchaseOrderLine, StockMovement
from inventory.selectors import open_purchase_lines
from orders.models import Order, OrderEvent

from ..shipping.selectors import shipping_orders

# --- receiving ---------------------------------------------------------------------------


def receivable_purchase_lines() -> QuerySet[PurchaseOrderLine]:
    """Open purchase-order lines to receive against, soonest expected first."""
    return (
        open_purchase_lines()
        .select_related("purchase_order__supplier", "product")
        .order_by("expected_date", "purchase_order__number", "id")
    )


def product_by_sku(*, sku: str) -> Product | None:
    return Product.objects.filter(sku__iexact=sku.strip()).first()


def last_event_id() -> int:
    """The newest timeline event's id, to find what a receipt's allocation wrote after it."""
    return OrderEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@dataclass
class ReceiptAllocation:
    order: Order
    units: int
    ready_to_ship: bool


@dataclass
class ReceiptResult:
    movement: StockMovement
    allocations: list[ReceiptAllocation] = field(default_factory=list)

    @property
    def units_allocated(self) -> int:
        return sum(a.units for a in self.allocations)

    @property
    def units_left(self) -> int:
        return max(0, self.movement.quantity - self.units_allocated)


def receipt_result(*, movement_id: int, event_ids: list[int]) -> ReceiptResult:
    """What a receipt did: the orders its allocation gave units to (from the ALLOCATED events
    it wrote) and whether each is now ready to ship."""
    movement = StockMovement.objects.select_related("product").get(pk=movement_id)
    events = OrderEvent.objects.filter(
        pk__in=event_ids, kind=OrderEvent.Kind.ALLOCATED, data__sku=movement.product.sku
    ).order_by("id")
    units_by_order: dict[int, int] = {}
    for order_id, data in events.values_list("order_id", "data"):
        units = sum(int(u) for u in (data or {}).get("lines", {}).values())
        units_by_order[order_id] = units_by_order.get(order_id, 0) + units
    orders = shipping_orders().filter(pk__in=units_by_order).in_bulk()
    result = ReceiptResult(movement=movement)
    for order_id, units in units_by_order.items():
        order = orders.get(order_id)
        if order is not None:
            result.allocations.append(
                ReceiptAllocation(
                    order=order,
                    units=units,
                    ready_to_ship=bool(getattr(order, "ready_to_ship", False)),
                )
            )
    return result


def allocation_event_ids(*, after_id: int, sku: str) -> list[int]:
    return list(
        OrderEvent.objects.filter(
            pk__gt=after_id, kind=OrderEvent.Kind.ALLOCATED, data__sku=sku
        ).values_list("id", flat=True)
    )
