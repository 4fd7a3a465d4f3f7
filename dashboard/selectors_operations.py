"""The dashboard's reads for the queue, products, receiving and shipping screens.

Each returns a queryset (or a small dataclass) that already carries everything its template
shows, so a page costs the same queries for 10 rows as for 500.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import overload

from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce, RowNumber

from compliance.models import OrderCompliance
from inventory.models import Product, PurchaseOrderLine, StockMovement, Supplier
from inventory.selectors import open_purchase_lines, product_ledger
from orders.models import Order, OrderLine, Shipment
from orders.selectors import QUEUE_ORDER, order_list, product_replenishment, store_today

CONSENT_LABELS = dict(OrderCompliance.State.choices)
CONSENT_SHORT = {
    "on_time": "On time",
    "notice_sent": "Notice sent",
    "renewed_notice_sent": "Renewed notice sent",
    "consented": "Consented",
    "consented_indefinitely": "Consented, any delay",
    "awaiting_payment": "Awaiting payment",
    "exempt": "Exempt",
    "shipped": "Shipped",
    "cancelled": "Cancelled",
}
CONSENT_BADGES = {
    "on_time": "ok",
    "consented": "info",
    "consented_indefinitely": "info",
    "notice_sent": "warn",
    "renewed_notice_sent": "warn",
}

# --- backorder queue ---------------------------------------------------------------------


def _waiting_ahead(aggregate: Count | Sum) -> CombinedExpression:
    """A subquery over the waiting lines of the outer line's product that come before it in
    allocation order, or are it (priority first, then queued_at, then id). Two index ranges
    of orderline_queue_idx: higher priority, then the same priority up to the line."""

    def over(lines: QuerySet[OrderLine]) -> Coalesce:
        return Coalesce(
            Subquery(
                lines.filter(quantity_backordered__gt=0, product_id=OuterRef("product_id"))
                .values("product_id")
                .annotate(total=aggregate)
                .values("total")[:1],
                output_field=IntegerField(),
            ),
            0,
            output_field=IntegerField(),
        )

    higher = OrderLine.objects.filter(priority__gt=OuterRef("priority"))
    same = OrderLine.objects.filter(
        # queued_at <= the line's bounds the index range; the Q() settles ties by id.
        Q(queued_at__lt=OuterRef("queued_at")) | Q(id__lte=OuterRef("id")),
        priority=OuterRef("priority"),
        queued_at__lte=OuterRef("queued_at"),
    )
    return over(higher) + over(same)


class BackorderQueue:
    """Waiting lines in allocation order, each with its place in its product's queue
    (`position`), the units waiting up to and including it (`units_through`), its customer
    and its Mail Order Rule deadline and consent state (`deadline`, `consent_state`).

    Sliced (as Paginator does) it costs one query whatever the page: the page's line ids
    come from the queue index alone (a narrow scan, however deep the page), then only those
    lines are joined to their order, customer, product and compliance record and counted
    against their product's queue with index look-ups. count() is one index-only count.
    """

    ordered = True

    def __init__(self, *, product_id: int | None = None) -> None:
        self.product_id = product_id

    def _waiting(self) -> QuerySet[OrderLine]:
        lines = OrderLine.objects.filter(quantity_backordered__gt=0)
        if self.product_id is not None:
            lines = lines.filter(product_id=self.product_id)
        return lines.order_by(*QUEUE_ORDER)

    def _detailed(self, lines: QuerySet[OrderLine]) -> QuerySet[OrderLine]:
        return (
            lines.select_related("order__customer", "product")
            .annotate(
                position=_waiting_ahead(Count("id")),
                units_through=_waiting_ahead(Sum("quantity_backordered")),
                deadline=F("order__compliance__deadline"),
                consent_state=F("order__compliance__state"),
            )
            .order_by(*QUEUE_ORDER)
        )

    def _windowed(self) -> QuerySet[OrderLine]:
        """The same rows, numbered by window functions over each product's whole queue."""
        partition = [F("product_id")]
        queue_order = [F("priority").desc(), F("queued_at").asc(), F("id").asc()]
        return (
            self._waiting()
            .select_related("order__customer", "product")
            .annotate(
                position=Window(RowNumber(), partition_by=partition, order_by=queue_order),
                units_through=Window(
                    Sum("quantity_backordered"), partition_by=partition, order_by=queue_order
                ),
                deadline=F("order__compliance__deadline"),
                consent_state=F("order__compliance__state"),
            )
            .order_by(*QUEUE_ORDER)
        )

    def count(self) -> int:
        return self._waiting().count()

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, key: int) -> OrderLine: ...

    @overload
    def __getitem__(self, key: slice) -> list[OrderLine]: ...

    def __getitem__(self, key: int | slice) -> OrderLine | list[OrderLine]:
        if isinstance(key, int):
            if key < 0:
                raise IndexError("Negative indexing is not supported.")
            rows = self[key : key + 1]
            if not rows:
                raise IndexError("Queue index out of range.")
            return rows[0]
        if key.step is not None:
            raise ValueError("Slicing with a step is not supported.")
        if key.stop is None:
            # Open-ended: one pass of window functions over the queue beats a count per line.
            return list(self._windowed()[key])
        page = self._waiting().values("pk")[key]
        return list(self._detailed(OrderLine.objects.filter(pk__in=page)))

    def __iter__(self) -> Iterator[OrderLine]:
        return iter(self[:])


def backorder_queue(*, product_id: int | None = None) -> BackorderQueue:
    """Waiting lines in allocation order, each with its place in its product's queue, the units
    waiting ahead of it, its customer and its Mail Order Rule deadline and consent state.
    Slice it (or hand it to a Paginator): see BackorderQueue."""
    return BackorderQueue(product_id=product_id)


@dataclass(frozen=True)
class QueueRow:
    """One waiting line as the queue shows it."""

    line: OrderLine
    position: int
    units_ahead: int
    waited_days: int
    deadline: dt.date | None
    consent_state: str
    overdue: bool
    at_risk: bool

    @property
    def consent_label(self) -> str:
        return CONSENT_LABELS.get(self.consent_state, "")

    @property
    def consent_short(self) -> str:
        return CONSENT_SHORT.get(self.consent_state, self.consent_label)

    @property
    def consent_badge(self) -> str:
        return CONSENT_BADGES.get(self.consent_state, "")


def queue_rows(lines: Iterable[OrderLine], *, today: dt.date) -> list[QueueRow]:
    """Rows for lines from backorder_queue(): waited days, units ahead, deadline risk."""
    rows = []
    for line in lines:
        deadline: dt.date | None = getattr(line, "deadline", None)
        rows.append(
            QueueRow(
                line=line,
                position=getattr(line, "position", 0),
                units_ahead=getattr(line, "units_through", 0) - line.quantity_backordered,
                waited_days=waited_days(since=line.queued_at, today=today),
                deadline=deadline,
                consent_state=getattr(line, "consent_state", None) or "",
                overdue=deadline is not None and deadline < today,
                # The ETA (or the lack of one) misses the shipment deadline.
                at_risk=deadline is not None and (line.eta is None or line.eta > deadline),
            )
        )
    return rows


def queue_products() -> QuerySet[Product]:
    """Products with a queue, for the queue's product filter."""
    return (
        Product.objects.filter(order_lines__quantity_backordered__gt=0)
        .annotate(waiting=Count("order_lines"))
        .order_by("sku")
        .only("pk", "sku", "name")
    )


def queue_line(*, line_id: int) -> OrderLine:
    """A line that waits in its product's queue (DoesNotExist for any other line)."""
    return OrderLine.objects.select_related("order__customer", "product").get(
        pk=line_id, quantity_backordered__gt=0
    )


def cancelling_owes_refund(*, line: OrderLine) -> bool:
    """Whether cancelling units of the line would owe its customer a refund (they paid)."""
    return line.order.amount_paid > 0


# --- products ----------------------------------------------------------------------------


def availability_board(
    *,
    search: str = "",
    backordered_only: bool = False,
    low_stock_only: bool = False,
    supplier_id: int | None = None,
    policy: str = "",
) -> QuerySet[Product]:
    """Every product with its stock figures, a reorder suggestion and a low-stock flag."""
    products = product_replenishment().annotate(
        is_low=Case(
            When(
                Q(available__lte=F("safety_stock")) | Q(suggested_quantity__gt=0),
                then=Value(True),
            ),
            default=Value(False),
            output_field=BooleanField(),
        )
    )
    if search:
        products = products.filter(Q(sku__icontains=search) | Q(name__icontains=search))
    # Q() rather than keywords: these filter on annotations the type checker cannot see.
    if backordered_only:
        products = products.filter(Q(backordered__gt=0))
    if low_stock_only:
        products = products.filter(Q(is_low=True))
    if supplier_id is not None:
        products = products.filter(preferred_supplier_id=supplier_id)
    if policy == "preorder":
        products = products.filter(is_preorder=True)
    elif policy == "discontinued":
        products = products.filter(is_discontinued=True)
    elif policy:
        products = products.filter(
            backorder_policy=policy, is_preorder=False, is_discontinued=False
        )
    return products.order_by("sku")


def suppliers() -> QuerySet[Supplier]:
    return Supplier.objects.order_by("name").only("pk", "name")


def product_availability(*, product_id: int) -> Product:
    return availability_board().get(pk=product_id)


def product_open_purchase_lines(*, product_id: int) -> QuerySet[PurchaseOrderLine]:
    """The product's purchase-order lines with units still to arrive, earliest first."""
    return (
        open_purchase_lines()
        .filter(product_id=product_id)
        .select_related("purchase_order__supplier")
        .order_by("expected_date", "id")
    )


def product_stock_ledger(*, product_id: int) -> QuerySet[StockMovement]:
    return product_ledger(product_id=product_id).order_by("-created_at", "-id")


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


# --- shipping ----------------------------------------------------------------------------


def _line_units(column: str) -> Coalesce:
    return Coalesce(
        Subquery(
            OrderLine.objects.filter(order=OuterRef("pk"))
            .values("order_id")
            .annotate(units=Sum(column))
            .values("units")[:1]
        ),
        0,
        output_field=IntegerField(),
    )


def shipping_orders() -> QuerySet[Order]:
    """Orders with allocated and backordered units and whether they may ship now: a
    ship-complete order only once nothing is backordered."""
    return (
        order_list()
        .annotate(
            units_allocated=_line_units("quantity_allocated"),
            units_backordered=_line_units("quantity_backordered"),
            deadline=F("compliance__deadline"),
        )
        .annotate(
            ready_to_ship=Case(
                When(
                    Q(units_allocated__gt=0)
                    & (
                        ~Q(ship_preference=Order.ShipPreference.SHIP_COMPLETE)
                        | Q(units_backordered=0)
                    ),
                    then=Value(True),
                ),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
    )


def ready_to_ship() -> QuerySet[Order]:
    """Orders staff can ship now, priority orders first, then the oldest."""
    return (
        shipping_orders()
        .filter(Q(ready_to_ship=True))
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=OrderLine.objects.filter(quantity_allocated__gt=0).select_related(
                    "product"
                ),
                to_attr="allocated_lines",
            )
        )
        .order_by("-is_priority", "placed_at", "id")
    )


def order_for_shipping(*, order_id: int) -> Order:
    """One order with its lines, products and shipments (lines of each) for the ship pages."""
    return shipping_orders().prefetch_related("lines__product", "shipments__lines").get(pk=order_id)


def shipment_for_slip(*, order: Order, shipment_id: int | None) -> Shipment | None:
    """The shipment a packing slip describes: the one asked for, else the order's latest."""
    shipments = sorted(order.shipments.all(), key=lambda s: (s.shipped_at, s.pk), reverse=True)
    if shipment_id is None:
        return shipments[0] if shipments else None
    return next((s for s in shipments if s.pk == shipment_id), None)


def waited_days(*, since: dt.datetime, today: dt.date) -> int:
    """Whole store days a line has waited (business dates are store dates)."""
    return max(0, (today - store_today(since)).days)
