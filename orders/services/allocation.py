"""Allocation: stock handed to the queue first come first served, receipts and adjustments."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from inventory.bounds import MAX_QUANTITY
from inventory.locks import lock_stock
from inventory.models import (
    Product,
    PurchaseOrderLine,
    Stock,
    StockMovement,
)
from inventory.stock import stock_allocate, stock_movement_record

from ..models import (
    OrderEvent,
    OrderLine,
)
from ..selectors import products_with_idle_stock
from ._common import (
    ALLOCATION_BATCH_SIZE,
    _allocation_enqueue,
    _events_record,
    _positive_quantity,
    _required_reason,
    _user,
)
from .eta import _eta_refresh_locked
from .fifo import hand_out
from .holding import _orders_hold_stock_clear, _orders_hold_stock_mark
from .purchasing import purchase_order_line_receive

# Reverse of "most recently allocated first", ties broken by reverse queue order.
TAKEBACK_ORDER = (F("last_allocated_at").desc(nulls_last=True), "priority", "-queued_at", "-id")


@dataclass
class AllocationResult:
    """What one allocation run handed out: counts, and the units per order served (a small
    int per order; the lines themselves are read one batch at a time)."""

    product_id: int
    units: int = 0
    lines: int = 0
    orders: int = 0
    # Lines now allocated in full, and units given per order id (one small int per order
    # served: what a receipt's page lists).
    lines_filled: int = 0
    units_by_order: dict[int, int] = field(default_factory=dict)


@dataclass
class StockChangeResult:
    movement: StockMovement
    allocation: AllocationResult | None = None
    # (order number, line id, units taken back) for a downward adjustment
    taken_back: list[tuple[str, int, int]] = field(default_factory=list)


def _allocate_locked(
    *, stock: Stock, now: dt.datetime, actor: Any = None, reason: str = "", mark: bool = True
) -> AllocationResult:
    """Hand the product's available units to its queue, head first. Caller holds the lock.
    With mark=False the caller marks the orders served as holding stock (several products'
    orders at once, so it locks them in one go, in id order)."""
    result = AllocationResult(product_id=stock.pk)
    available = stock.on_hand - stock.allocated
    if available <= 0:
        return result
    handout = hand_out(
        product_id=stock.pk,
        sku=Product.objects.values_list("sku", flat=True).get(pk=stock.pk),
        available=available,
        now=now,
        reason=reason,
        actor=_user(actor),
        mark=mark,
    )
    result.units = handout.units
    result.lines = handout.lines
    result.orders = len(handout.units_by_order)
    result.lines_filled = handout.lines_filled
    result.units_by_order = handout.units_by_order
    stock_allocate(stock=stock, units=result.units, now=now)
    return result


def _refresh_products_locked(
    *, stocks: Mapping[int, Stock], now: dt.datetime, reason: str = "", actor: Any = None
) -> None:
    """Allocate, then recompute ETAs, for each locked product."""
    served: set[int] = set()
    for product_id in sorted(stocks):
        result = _allocate_locked(
            stock=stocks[product_id], now=now, actor=actor, reason=reason, mark=False
        )
        served.update(result.units_by_order)
        _eta_refresh_locked(product_id=product_id, now=now, reason=reason, actor=actor)
    _orders_hold_stock_mark(order_ids=served)


@transaction.atomic
def product_allocate(*, product_id: int, actor: Any = None) -> AllocationResult:
    """Give a product's available units to its waiting lines, first come first served, then
    recompute the ETAs of the lines still waiting. Running it again changes nothing."""
    stock = lock_stock(product_id=product_id)
    now = timezone.now()
    result = _allocate_locked(stock=stock, now=now, actor=actor)
    _eta_refresh_locked(product_id=product_id, now=now, actor=actor)
    return result


def allocation_sweep(*, limit: int = 500) -> list[int]:
    """Allocate wherever free stock meets a waiting line; the products that got units.

    Each product in its own transaction under its stock lock (product_allocate), so a sweep
    running beside another sweep or beside the allocation tasks hands out each unit once, and
    a second sweep finds nothing left to do.
    """
    return [
        product_id
        for product_id in products_with_idle_stock(limit=limit)
        if product_allocate(product_id=product_id).units
    ]


def _take_back_locked(
    *, stock: Stock, units: int, now: dt.datetime, reason: str, actor: Any = None
) -> list[tuple[str, int, int]]:
    """Return `units` allocated units to the queue, most recently allocated lines first."""
    taken: list[tuple[str, int, int]] = []
    remaining = units
    rows = (
        OrderLine.objects.filter(product_id=stock.pk, quantity_allocated__gt=0)
        .order_by(*TAKEBACK_ORDER)
        .values_list("id", "order_id", "order__number", "quantity_allocated")
    )
    by_order: dict[int, dict[int, int]] = defaultdict(dict)
    for line_id, order_id, number, allocated in rows.iterator(chunk_size=ALLOCATION_BATCH_SIZE):
        take = min(allocated, remaining)
        taken.append((number, line_id, take))
        by_order[order_id][line_id] = take
        remaining -= take
        if remaining == 0:
            break
    if remaining:
        raise ValidationError("Fewer units are allocated than the adjustment takes back.")
    OrderLine.objects.filter(pk__in=[line_id for _, line_id, _ in taken]).update(
        quantity_allocated=F("quantity_allocated")
        - Case(
            *(When(pk=line_id, then=Value(take)) for _, line_id, take in taken),
            default=Value(0),
        )
    )
    sku = Product.objects.values_list("sku", flat=True).get(pk=stock.pk)
    _events_record(
        OrderEvent(
            order_id=order_id,
            kind=OrderEvent.Kind.DEALLOCATED,
            message=f"{sum(lines.values())} × {sku} taken back and returned to the queue: {reason}",
            data={"sku": sku, "lines": {str(k): v for k, v in lines.items()}},
            actor=_user(actor),
        )
        for order_id, lines in by_order.items()
    )
    stock_allocate(stock=stock, units=-units, now=now)
    _orders_hold_stock_clear(order_ids=by_order, product_ids=[stock.pk])
    return taken


@transaction.atomic
def stock_receive(
    *,
    product: Product,
    quantity: int,
    reference: str = "",
    reason: str = "Received without a purchase order",
    actor: Any = None,
) -> StockMovement:
    """Receive units into stock; the allocation task hands them to the queue after commit."""
    _positive_quantity(quantity)
    stock = lock_stock(product_id=product.pk)
    movement = stock_movement_record(
        stock=stock,
        kind=StockMovement.Kind.RECEIPT,
        quantity=quantity,
        reason=reason,
        reference=reference,
        actor=_user(actor),
    )
    _allocation_enqueue(product.pk)
    return movement


@transaction.atomic
def stock_adjust(
    *,
    product: Product,
    quantity: int,
    reason: str,
    reference: str = "",
    actor: Any = None,
) -> StockChangeResult:
    """Correct on hand by a signed quantity (a count, damage, loss, a find).

    Going below what is allocated takes units back from the most recently allocated lines
    first; they return to the queue and the result says which.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0:
        raise ValidationError("An adjustment must be a whole number other than zero.")
    if abs(quantity) > MAX_QUANTITY:
        raise ValidationError(f"An adjustment can be at most {MAX_QUANTITY:,} units either way.")
    reason = _required_reason(reason, what="A stock adjustment")
    stock = lock_stock(product_id=product.pk)
    now = timezone.now()
    if stock.on_hand + quantity < 0:
        raise ValidationError(
            f"{product.sku} has only {stock.on_hand} on hand; it cannot go down by {-quantity}."
        )
    taken_back: list[tuple[str, int, int]] = []
    shortfall = stock.allocated - (stock.on_hand + quantity)
    if shortfall > 0:
        taken_back = _take_back_locked(
            stock=stock, units=shortfall, now=now, reason=reason, actor=actor
        )
    movement = stock_movement_record(
        stock=stock,
        kind=StockMovement.Kind.ADJUSTMENT,
        quantity=quantity,
        reason=reason,
        reference=reference,
        actor=_user(actor),
    )
    allocation = _allocate_locked(stock=stock, now=now, actor=actor) if quantity > 0 else None
    _eta_refresh_locked(product_id=product.pk, now=now, reason=reason, actor=actor)
    return StockChangeResult(movement=movement, allocation=allocation, taken_back=taken_back)


@transaction.atomic
def stock_receive_and_allocate(
    *,
    product: Product,
    quantity: int,
    purchase_line: PurchaseOrderLine | None = None,
    reference: str = "",
    reason: str = "Received without a purchase order",
    actor: Any = None,
) -> StockChangeResult:
    """Receive units (against a PO line, or without one) and hand them to the queue at once,
    in the same transaction: the result says which orders got how many.

    For the receiving screen, which shows who got the units; the allocation task queued by
    the receipt then finds nothing left to do.
    """
    if purchase_line is not None:
        if purchase_line.product_id != product.pk:
            raise ValidationError("That purchase order line is for another product.")
        movement = purchase_order_line_receive(line=purchase_line, quantity=quantity, actor=actor)
    else:
        movement = stock_receive(
            product=product, quantity=quantity, reference=reference, reason=reason, actor=actor
        )
    stock = lock_stock(product_id=product.pk)
    now = timezone.now()
    allocation = _allocate_locked(stock=stock, now=now, actor=actor)
    _eta_refresh_locked(product_id=product.pk, now=now, actor=actor)
    return StockChangeResult(movement=movement, allocation=allocation)
