"""Cancelling lines or orders, and substituting a line's waiting units."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.formats import count_noun, format_date, format_money
from inventory.locks import lock_stocks
from inventory.models import (
    Product,
    Stock,
)
from inventory.stock import stock_allocate, stocks_allocate

from ..decisions import line_decision
from ..locks import lock_order
from ..models import (
    Order,
    OrderEvent,
    OrderLine,
    Refund,
)
from ..money import refund_owed_on_close
from ..selectors import (
    active_shipping_rate,
    waiting_units,
)
from ._common import _events_record, _positive_quantity, _required_reason, _user
from .allocation import _refresh_products_locked
from .eta import _eta_refresh_locked
from .payments import _refund_obligation_create

# Who or what cancelled: the customer asked, the shop cannot ship, the product is gone.
CANCEL_CAUSES = ("customer", "shop", "discontinued", "mail_order_rule")


def _cancel_locked(
    *,
    order: Order,
    quantities: Mapping[int, int],
    stocks: Mapping[int, Stock],
    reason: str,
    actor: Any,
    now: dt.datetime,
    cause: str,
    details: Mapping[str, Any] | None = None,
) -> tuple[list[OrderLine], Refund | None]:
    """Cancel units of locked lines: backordered units first, then allocated ones."""
    if cause not in CANCEL_CAUSES:
        raise ValidationError(f"Unknown cancellation cause '{cause}'.")
    lines = list(OrderLine.objects.filter(order=order, pk__in=quantities).select_related("product"))
    released: dict[int, int] = defaultdict(int)
    summary = []
    amount = Decimal("0")
    for line in lines:
        units = quantities[line.pk]
        if units > line.quantity_open:
            raise ValidationError(
                f"{line.product.sku}: only {line.quantity_open} of {line.quantity} can still be "
                f"cancelled ({line.quantity_shipped} shipped, {line.quantity_cancelled} cancelled)."
            )
        from_allocated = max(0, units - line.backordered)
        line.quantity_cancelled += units
        line.quantity_allocated -= from_allocated
        released[line.product_id] += from_allocated
        amount += line.unit_price * units
        summary.append({"sku": line.product.sku, "line": line.pk, "cancelled": units})
    OrderLine.objects.bulk_update(lines, ["quantity_cancelled", "quantity_allocated"])
    stocks_allocate(stocks=stocks, units={pid: -units for pid, units in released.items()}, now=now)
    all_lines = list(OrderLine.objects.filter(order=order))
    if all(line.quantity_open == 0 for line in all_lines):
        # The order is closed: owe everything paid (shipping included) except what the shipped
        # items alone would have cost under the store's prices and shipping rates.
        amount = refund_owed_on_close(order=order, lines=all_lines, table=active_shipping_rate())
    refund = _refund_obligation_create(
        order=order,
        amount=amount,
        reason=f"Cancelled: {reason}",
        now=now,
        line=lines[0] if len(lines) == 1 else None,
    )
    _events_record(
        [
            OrderEvent(
                order=order,
                kind=OrderEvent.Kind.CANCELLED,
                message=f"Cancelled {count_noun(sum(quantities.values()), 'unit')}: {reason}"
                + (
                    f"; refund of {format_money(refund.amount)} due by "
                    f"{format_date(refund.due_date)}"
                    if refund
                    else ""
                ),
                data={
                    "reason": reason,
                    "cause": cause,
                    "lines": summary,
                    "refund": str(refund.amount) if refund else None,
                    "refund_due": refund.due_date.isoformat() if refund else None,
                    **(details or {}),
                },
                actor=_user(actor),
            )
        ]
    )
    _refresh_products_locked(
        stocks={pid: stocks[pid] for pid in released},
        now=now,
        actor=actor,
        reason="released by a cancellation",
    )
    return lines, refund


@transaction.atomic
def line_cancel(
    *,
    line: OrderLine,
    reason: str,
    quantity: int | None = None,
    cause: str = "customer",
    actor: Any = None,
) -> OrderLine:
    """Cancel a line or part of it; released units go to the next waiting line.

    `cause` says who or what cancelled: the customer, the shop, or a discontinued product.
    """
    reason = _required_reason(reason, what="A cancellation")
    stocks = lock_stocks(product_ids=[line.product_id])
    order = lock_order(order_id=line.order_id)
    line.refresh_from_db()
    units = line.quantity_open if quantity is None else _positive_quantity(quantity)
    if units == 0:
        raise ValidationError("Nothing is left to cancel on this line.")
    lines, _ = _cancel_locked(
        order=order,
        quantities={line.pk: units},
        stocks=stocks,
        reason=reason,
        actor=actor,
        now=timezone.now(),
        cause=cause,
    )
    return lines[0]


@transaction.atomic
def order_cancel(
    *,
    order: Order,
    reason: str,
    cause: str = "customer",
    line_ids: Iterable[int] | None = None,
    at: dt.datetime | None = None,
    details: Mapping[str, Any] | None = None,
    actor: Any = None,
) -> Order:
    """Cancel everything not yet shipped on an order (or on the given lines).

    `at` is when the cancellation took effect (the refund right vests then), e.g. the end of
    the day a consent window closed; it defaults to now. `details` go into the timeline
    event (e.g. the ship-by date a rule cancellation missed).
    """
    reason = _required_reason(reason, what="A cancellation")
    product_ids = list(order.lines.values_list("product_id", flat=True))
    stocks = lock_stocks(product_ids=product_ids)
    order = lock_order(order_id=order.pk)
    chosen = None if line_ids is None else set(line_ids)
    quantities = {
        line.pk: line.quantity_open
        for line in order.lines.all()
        if line.quantity_open > 0 and (chosen is None or line.pk in chosen)
    }
    if not quantities:
        raise ValidationError(f"Order {order.number} has nothing left to cancel.")
    _cancel_locked(
        order=order,
        quantities=quantities,
        stocks=stocks,
        reason=reason,
        actor=actor,
        now=at or timezone.now(),
        cause=cause,
        details=details,
    )
    return order


@transaction.atomic
def line_substitute(
    *, line: OrderLine, substitute: Product, reason: str, actor: Any = None
) -> OrderLine:
    """The customer expressly accepted a substitute for a line's backordered units: the
    substitute takes them from stock at the original price, and the original units are
    cancelled (no refund is owed for them: they are paid for by the substitute)."""
    reason = _required_reason(reason, what="A substitution")
    stocks = lock_stocks(product_ids=[line.product_id, substitute.pk])
    order = lock_order(order_id=line.order_id)
    line = OrderLine.objects.select_related("product").get(pk=line.pk)
    units = line.backordered
    if units <= 0:
        raise ValidationError(f"{line.product.sku}: nothing is waiting on this line.")
    if substitute.pk == line.product_id or substitute.is_discontinued:
        raise ValidationError(f"{substitute.sku} cannot stand in for {line.product.sku}.")
    total, ahead = waiting_units(product_ids=[substitute.pk])
    decision = line_decision(
        product=substitute,
        quantity=units,
        available=stocks[substitute.pk].available,
        waiting_ahead=ahead[substitute.pk],
        waiting_total=total[substitute.pk],
        incoming=0,
    )
    if decision.backordered:
        raise ValidationError(f"{substitute.sku}: only {decision.take} in stock, {units} needed.")
    now = timezone.now()
    OrderLine.objects.filter(pk=line.pk).update(
        quantity_cancelled=F("quantity_cancelled") + units,
        quantity_substituted=F("quantity_substituted") + units,
    )
    new_line = OrderLine.objects.create(
        order=order,
        product=substitute,
        quantity=units,
        unit_price=line.unit_price,
        quantity_allocated=units,
        priority=line.priority,
        queued_at=now,
        last_allocated_at=now,
    )
    stock_allocate(stock=stocks[substitute.pk], units=units, now=now)
    _events_record(
        [
            OrderEvent(
                order=order,
                kind=OrderEvent.Kind.SUBSTITUTED,
                message=f"{units} × {substitute.sku} instead of {line.product.sku}: {reason}",
                data={
                    "line": line.pk,
                    "new_line": new_line.pk,
                    "sku": line.product.sku,
                    "substitute": substitute.sku,
                    "units": units,
                    "reason": reason,
                },
                actor=_user(actor),
            )
        ]
    )
    _eta_refresh_locked(product_id=line.product_id, now=now, reason="a line was substituted")
    return new_line
