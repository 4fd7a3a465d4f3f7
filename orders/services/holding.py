"""Order.holds_stock: set on every order one of whose lines holds allocated units.

Stored by every service that changes a line's allocated units, in its transaction. Giving
units sets it, without waiting for the order's lock unless the flag is still clear. It is
cleared only where no other transaction can be giving the order units at the same time: when
the order has no line holding units and none still waiting for a product whose stock lock the
caller does not hold (a giver holds the stock lock of what it gives). Else it stays set until
the order next ships or is cancelled, and readers check the lines as well.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from django.db.models import Exists, OuterRef

from ..models import Order, OrderLine


def _orders_hold_stock_mark(*, order_ids: Iterable[int]) -> int:
    """These orders' lines were just given units: set the flag where it is clear. Returns
    how many changed."""
    ids = sorted(set(order_ids))
    if not ids:
        return 0
    return Order.objects.filter(pk__in=ids, holds_stock=False).update(holds_stock=True)


def _orders_hold_stock_clear(*, order_ids: Iterable[int], product_ids: Collection[int]) -> int:
    """Units were taken from these orders' lines by a caller holding the stock locks of
    `product_ids`: clear the flag of those left with no line holding units and none waiting
    for another product. Returns how many changed."""
    ids = sorted(set(order_ids))
    if not ids:
        return 0
    lines = OrderLine.objects.filter(order=OuterRef("pk"))
    return (
        Order.objects.filter(pk__in=ids, holds_stock=True)
        .exclude(Exists(lines.filter(quantity_allocated__gt=0)))
        .exclude(
            Exists(lines.filter(quantity_backordered__gt=0).exclude(product_id__in=product_ids))
        )
        .update(holds_stock=False)
    )


def _orders_hold_stock_store(
    *,
    orders: Mapping[int, Order],
    lines_of: Mapping[int, Sequence[OrderLine]],
    product_ids: Collection[int],
) -> int:
    """Locked orders whose lines (all of them, as now saved) are at hand, changed by a caller
    holding the stock locks of `product_ids`: store the flag where it changed (see the module
    for when it may be cleared), on the rows and on the objects. Returns how many changed."""
    changed: dict[bool, list[int]] = {True: [], False: []}
    for pk, order in orders.items():
        lines = lines_of.get(pk, ())
        if any(line.quantity_allocated > 0 for line in lines):
            holds = True
        elif any(line.backordered > 0 and line.product_id not in product_ids for line in lines):
            holds = order.holds_stock
        else:
            holds = False
        if order.holds_stock != holds:
            order.holds_stock = holds
            changed[holds].append(pk)
    for holds, ids in changed.items():
        if ids:
            Order.objects.filter(pk__in=ids).update(holds_stock=holds)
    return len(changed[True]) + len(changed[False])
