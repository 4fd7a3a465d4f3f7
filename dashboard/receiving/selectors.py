"""Reads for the receiving screen."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import (
    QuerySet,
)

from inventory.models import Product, PurchaseOrderLine, StockMovement
from inventory.selectors import open_purchase_lines
from orders.models import Order

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


def receipt_result(*, movement_id: int, units_by_order: dict[int, int]) -> ReceiptResult:
    """What a receipt did: the orders its allocation gave units to (as the receiving service
    reported them) and whether each is now ready to ship."""
    movement = StockMovement.objects.select_related("product").get(pk=movement_id)
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
