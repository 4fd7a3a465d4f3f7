"""The customer's status page, in words."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from orders.models import EtaSource, Order, OrderLine, OrderStatus
from orders.selectors import DateRange, line_eta_ranges, order_detail, store_today

# Built from the prefetched order only (no queries), so the template needs no logic.

STATUS_WORDS: dict[str, tuple[str, str]] = {
    OrderStatus.OPEN: (
        "Being prepared",
        "Everything you ordered is in stock and set aside for you. We are packing it now.",
    ),
    OrderStatus.BACKORDERED: (
        "Waiting for stock",
        "Some items are on backorder. Below is when we expect each of them to ship.",
    ),
    OrderStatus.PARTIALLY_SHIPPED: (
        "Partly shipped",
        "Part of your order is on its way. The rest follows as described below.",
    ),
    OrderStatus.SHIPPED: ("Shipped", "Everything you ordered is on its way."),
    OrderStatus.CANCELLED: (
        "Cancelled",
        "This order was cancelled. Any money owed back to you is shown below.",
    ),
}


@dataclass(frozen=True)
class ShippedPart:
    quantity: int
    shipped_at: dt.datetime
    carrier: str
    tracking_number: str
    shipping_method: str


@dataclass(frozen=True)
class LineView:
    line: OrderLine
    shipped: list[ShippedPart]
    eta_kind: str  # "po", "estimated", "release" or "unknown": picks the sentence
    waiting_word: str  # a preorder is shown as a preorder, never as a backorder
    allocated_waits_for_rest: bool
    eta_range: DateRange | None = None  # the supplier's record, when it has enough of one

    @property
    def backordered(self) -> int:
        return self.line.backordered


@dataclass(frozen=True)
class RefundView:
    amount: Decimal
    item: str
    due_date: dt.date
    issued_at: dt.datetime | None


@dataclass(frozen=True)
class StatusPage:
    order: Order
    status: str
    headline: str
    explanation: str
    ships_together: bool
    lines: list[LineView]
    refunds: list[RefundView]


def _eta_kind(line: OrderLine) -> str:
    if line.eta is None or line.eta_source in ("", EtaSource.UNKNOWN):
        return "unknown"
    if line.eta_source == EtaSource.PURCHASE_ORDER:
        return "po"
    if line.eta_source == EtaSource.RELEASE:
        return "release"
    return "estimated"


def _status_page(order: Order) -> StatusPage:
    lines = list(order.lines.all())
    names = {line.pk: line.product.name for line in lines}
    shipped: dict[int, list[ShippedPart]] = defaultdict(list)
    for shipment in sorted(order.shipments.all(), key=lambda s: (s.shipped_at, s.pk)):
        for shipment_line in shipment.lines.all():
            shipped[shipment_line.order_line_id].append(
                ShippedPart(
                    quantity=shipment_line.quantity,
                    shipped_at=shipment.shipped_at,
                    carrier=shipment.carrier,
                    tracking_number=shipment.tracking_number,
                    shipping_method=shipment.shipping_method,
                )
            )
    ships_complete = order.ship_preference == Order.ShipPreference.SHIP_COMPLETE
    anything_backordered = any(line.backordered for line in lines)
    status = str(getattr(order, "status", "") or OrderStatus.OPEN)
    ranges = line_eta_ranges(lines=lines, today=store_today())
    headline, explanation = STATUS_WORDS.get(status, (status.replace("_", " ").capitalize(), ""))
    return StatusPage(
        order=order,
        status=status,
        headline=headline,
        explanation=explanation,
        # Only worth saying while nothing has left yet.
        ships_together=ships_complete and status in (OrderStatus.OPEN, OrderStatus.BACKORDERED),
        lines=[
            LineView(
                line=line,
                shipped=shipped[line.pk],
                eta_kind=_eta_kind(line),
                waiting_word="preordered" if line.product.is_preorder else "on backorder",
                allocated_waits_for_rest=ships_complete and anything_backordered,
                eta_range=ranges.get(line.pk),
            )
            for line in lines
        ],
        refunds=[
            RefundView(
                amount=refund.amount,
                item=names.get(refund.order_line_id or 0, ""),
                due_date=refund.due_date,
                issued_at=refund.issued_at,
            )
            for refund in order.refunds.all()
        ],
    )


def customer_status_page(*, order_id: int) -> StatusPage:
    """Everything the customer's status page shows, in words, from one prefetched order."""
    return _status_page(order_detail(order_id=order_id))
