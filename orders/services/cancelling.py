"""Cancelling lines or orders, and substituting a line's waiting units."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, PositiveIntegerField, Value, When
from django.utils import timezone

from config.formats import count_noun, format_date, format_money
from inventory.locks import lock_stocks
from inventory.models import (
    Product,
    Stock,
)
from inventory.stock import stock_allocate, stocks_allocate

from ..decisions import line_decision
from ..locks import lock_order, lock_orders
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
from .holding import _orders_hold_stock_mark, _orders_hold_stock_store
from .payments import _refund_obligations_create

# Who or what cancelled: the customer asked, the shop cannot ship, the product is gone.
CANCEL_CAUSES = ("customer", "shop", "discontinued", "mail_order_rule")


@dataclass(frozen=True)
class Cancellation:
    """Units to cancel on one order's lines (line id → units), and why. `at` is when the
    cancellation took effect (the refund right vests then); None means now."""

    order_id: int
    quantities: Mapping[int, int]
    reason: str
    cause: str = "customer"
    at: dt.datetime | None = None
    details: Mapping[str, Any] | None = None


@dataclass
class CancelBatchResult:
    """What a batch of cancellations did: the lines changed, one timeline event and at most
    one refund per order, and the products whose queues they changed."""

    lines: list[OrderLine] = field(default_factory=list)
    events: dict[int, OrderEvent] = field(default_factory=dict)
    refunds: dict[int, Refund] = field(default_factory=dict)
    product_ids: set[int] = field(default_factory=set)


def _cancel_batch_locked(
    *,
    cancellations: Sequence[Cancellation],
    orders: Mapping[int, Order],
    stocks: Mapping[int, Stock],
    actor: Any,
    refresh: bool,
) -> CancelBatchResult:
    """Cancel units of locked lines of locked orders: backordered units first, then allocated
    ones. One read of the lines, one update, one refund read and insert, one event per order;
    with `refresh`, each product's released units and ETAs are then refreshed once."""
    for cancellation in cancellations:
        if cancellation.cause not in CANCEL_CAUSES:
            raise ValidationError(f"Unknown cancellation cause '{cancellation.cause}'.")
    if len({c.order_id for c in cancellations}) != len(cancellations):
        raise ValidationError("Each order can be cancelled only once in a batch.")
    now = timezone.now()
    lines_of: dict[int, list[OrderLine]] = defaultdict(list)
    for line in OrderLine.objects.filter(
        order_id__in=[c.order_id for c in cancellations]
    ).select_related("product"):
        lines_of[line.order_id].append(line)
    result = CancelBatchResult()
    released: dict[int, int] = defaultdict(int)
    amounts: dict[int, Decimal] = {}
    chosen_of: dict[int, list[OrderLine]] = {}
    for cancellation in cancellations:
        order = orders[cancellation.order_id]
        chosen = [line for line in lines_of[order.pk] if line.pk in cancellation.quantities]
        if len(chosen) != len(cancellation.quantities):
            raise ValidationError(f"Order {order.number} has no such line to cancel.")
        amount = Decimal("0")
        for line in chosen:
            units = cancellation.quantities[line.pk]
            if units > line.quantity_open:
                raise ValidationError(
                    f"{line.product.sku}: only {line.quantity_open} of {line.quantity} can "
                    f"still be cancelled ({line.quantity_shipped} shipped, "
                    f"{line.quantity_cancelled} cancelled)."
                )
            from_allocated = max(0, units - line.backordered)
            line.quantity_cancelled += units
            line.quantity_allocated -= from_allocated
            released[line.product_id] += from_allocated
            amount += line.unit_price * units
        result.lines += chosen
        chosen_of[order.pk], amounts[order.pk] = chosen, amount
    _lines_quantities_write(result.lines)
    _orders_hold_stock_store(
        orders={pk: orders[pk] for pk in chosen_of}, lines_of=lines_of, product_ids=stocks
    )
    stocks_allocate(stocks=stocks, units={pid: -units for pid, units in released.items()}, now=now)
    # An order now closed owes everything paid (shipping included) except what the shipped
    # items alone would have cost under the store's prices and shipping rates.
    closed = [pk for pk in amounts if all(line.quantity_open == 0 for line in lines_of[pk])]
    table = active_shipping_rate() if closed else None
    for pk in closed:
        amounts[pk] = refund_owed_on_close(order=orders[pk], lines=lines_of[pk], table=table)
    result.refunds = _refund_obligations_create(
        owed=[
            (
                orders[c.order_id],
                amounts[c.order_id],
                f"Cancelled: {c.reason}",
                c.at or now,
                chosen_of[c.order_id][0] if len(chosen_of[c.order_id]) == 1 else None,
            )
            for c in cancellations
        ]
    )
    events = _events_record(
        _cancel_event(
            cancellation=c,
            order=orders[c.order_id],
            lines=chosen_of[c.order_id],
            refund=result.refunds.get(c.order_id),
            actor=actor,
        )
        for c in cancellations
    )
    result.events = {event.order_id: event for event in events}
    result.product_ids = set(released)
    if refresh:
        _refresh_products_locked(
            stocks={pid: stocks[pid] for pid in released},
            now=now,
            actor=actor,
            reason="released by a cancellation",
        )
    return result


def _lines_quantities_write(lines: Sequence[OrderLine]) -> None:
    """Write the lines' new cancelled and allocated quantities in one UPDATE with one WHEN per
    distinct value (quantities are small numbers, so a handful), not one per line."""
    if not lines:
        return

    def by_value(name: str) -> Case:
        ids: dict[int, list[int]] = defaultdict(list)
        for line in lines:
            ids[getattr(line, name)].append(line.pk)
        return Case(
            *(When(pk__in=pks, then=Value(value)) for value, pks in sorted(ids.items())),
            default=F(name),
            output_field=PositiveIntegerField(),
        )

    OrderLine.objects.filter(pk__in=[line.pk for line in lines]).update(
        quantity_cancelled=by_value("quantity_cancelled"),
        quantity_allocated=by_value("quantity_allocated"),
    )


def _cancel_event(
    *,
    cancellation: Cancellation,
    order: Order,
    lines: Sequence[OrderLine],
    refund: Refund | None,
    actor: Any,
) -> OrderEvent:
    reason = cancellation.reason
    return OrderEvent(
        order=order,
        kind=OrderEvent.Kind.CANCELLED,
        message=f"Cancelled {count_noun(sum(cancellation.quantities.values()), 'unit')}: {reason}"
        + (
            f"; refund of {format_money(refund.amount)} due by {format_date(refund.due_date)}"
            if refund
            else ""
        ),
        data={
            "reason": reason,
            "cause": cancellation.cause,
            "lines": [
                {
                    "sku": line.product.sku,
                    "line": line.pk,
                    "cancelled": cancellation.quantities[line.pk],
                }
                for line in lines
            ],
            "refund": str(refund.amount) if refund else None,
            "refund_due": refund.due_date.isoformat() if refund else None,
            **(cancellation.details or {}),
        },
        actor=_user(actor),
    )


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
    """Cancel units of one locked order's lines (see _cancel_batch_locked); `now` is when the
    cancellation took effect."""
    result = _cancel_batch_locked(
        cancellations=[
            Cancellation(
                order_id=order.pk,
                quantities=quantities,
                reason=reason,
                cause=cause,
                at=now,
                details=details,
            )
        ],
        orders={order.pk: order},
        stocks=stocks,
        actor=actor,
        refresh=True,
    )
    return result.lines, result.refunds.get(order.pk)


@transaction.atomic
def lines_cancel_batch(
    *, cancellations: Sequence[Cancellation], actor: Any = None, refresh: bool = True
) -> CancelBatchResult:
    """Cancel lines of many orders at once: one timeline event, at most one refund and so one
    "order cancelled" email per order, and each product's queue refreshed once (released
    units handed on, ETAs recomputed) instead of once per order.

    Locks the stock of every line's product (by product id), then the orders (by id). With
    refresh=False the caller must call `cancellations_settle` for `product_ids` before its
    transaction ends (a run that cancels in several steps and refreshes once).
    """
    cancellations = [
        replace(c, reason=_required_reason(c.reason, what="A cancellation"))
        for c in sorted(cancellations, key=lambda c: c.order_id)
    ]
    if not cancellations:
        return CancelBatchResult()
    for cancellation in cancellations:
        if not cancellation.quantities:
            raise ValidationError("A cancellation needs at least one line.")
        for units in cancellation.quantities.values():
            _positive_quantity(units)
    order_ids = [c.order_id for c in cancellations]
    stocks = lock_stocks(
        product_ids=OrderLine.objects.filter(order_id__in=order_ids).values_list(
            "product_id", flat=True
        )
    )
    orders = lock_orders(order_ids=order_ids)
    missing = sorted(set(order_ids) - set(orders))
    if missing:
        raise ValidationError(f"No such order to cancel: {missing[0]}.")
    return _cancel_batch_locked(
        cancellations=cancellations, orders=orders, stocks=stocks, actor=actor, refresh=refresh
    )


@transaction.atomic
def cancellations_settle(*, product_ids: Iterable[int], actor: Any = None) -> None:
    """Hand the units released by `lines_cancel_batch(refresh=False)` to each product's queue
    and recompute its ETAs, once per product."""
    stocks = lock_stocks(product_ids=product_ids)
    _refresh_products_locked(
        stocks=stocks, now=timezone.now(), actor=actor, reason="released by a cancellation"
    )


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
    if not order.holds_stock:
        _orders_hold_stock_mark(order_ids=[order.pk])
        order.holds_stock = True
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
