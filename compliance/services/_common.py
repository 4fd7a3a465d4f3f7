"""What the rule's services share: the state names, the grace period, the lock order, the
order record and cancelling under the rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from config.calendar import end_of_store_day
from config.formats import format_date
from inventory.locks import lock_stocks
from inventory.models import Product, Stock
from orders.locks import lock_order
from orders.models import Order, OrderLine
from orders.services import (
    Cancellation,
    lines_cancel_batch,
    order_rule_record,
    order_rule_records,
    orders_ship_by_store,
)

from ..models import OrderCompliance
from ..selectors import ship_by_subquery

State = OrderCompliance.State
Branch = OrderCompliance.Branch
GRACE = dt.timedelta(days=30)


def _lock_stocks_then_order(*, order_id: int) -> Order:
    """Lock the stock rows of the order's products and of their substitutes (by product id),
    then the order: the lock order of every write path, so the engine or a customer's answer
    never deadlocks with staff shipping, receiving or cancelling the same products."""
    _lock_stocks_of_orders(order_ids=[order_id])
    return lock_order(order_id=order_id)


def _lock_stocks_of_orders(*, order_ids: Sequence[int]) -> dict[int, Stock]:
    """Lock the stock rows of these orders' products and of their substitutes, by product id.
    The substitutes are included because a substitution committed between reading the lines
    and locking adds a line of one of them; its stock row is then already held."""
    product_ids = list(
        OrderLine.objects.filter(order_id__in=order_ids).values_list("product_id", flat=True)
    )
    substitute_ids = Product.substitutes.through.objects.filter(
        from_product_id__in=set(product_ids)
    ).values_list("to_product_id", flat=True)
    return lock_stocks(product_ids=[*product_ids, *substitute_ids])


def _ship_by_store(*, order_ids: Iterable[int]) -> int:
    """Copy these orders' ship-by dates from their rule records onto the orders where they
    changed (one UPDATE): every service that changes a record's state, deadline or consented
    date calls it before it commits. Returns how many orders changed."""
    return orders_ship_by_store(order_ids=order_ids, ship_by=ship_by_subquery())


def _record(order: Order, message: str, **data: Any) -> None:
    order_rule_record(order=order, message=message, data={"rule": True, **data})


def _staff(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _fmt(day: dt.date | None) -> str:
    """A date as every screen shows it, for the order's timeline."""
    return format_date(day) if day else "no date"


@dataclass
class RuleBatch:
    """What a run over many orders defers to the end of the batch: the rule's cancellations,
    made together by one call, what each order records once its cancellation is made, and the
    products whose queues then need one refresh (released units, ETAs)."""

    cancellations: list[Cancellation] = field(default_factory=list)
    # The rule's state and record of each cancelled order, written once its lines are.
    cancelled: list[tuple[OrderCompliance, Order, str, dict[str, Any]]] = field(
        default_factory=list
    )
    products_to_refresh: set[int] = field(default_factory=set)

    def settle(self) -> None:
        """The orders' lines are cancelled: set their state and record why, in bulk."""
        now = timezone.now()
        for compliance, *_ in self.cancelled:
            compliance.state = State.CANCELLED
            compliance.cancel_at_end_of = None
            compliance.updated_at = now
        OrderCompliance.objects.filter(
            pk__in=[compliance.pk for compliance, *_ in self.cancelled]
        ).update(state=State.CANCELLED, cancel_at_end_of=None, updated_at=now)
        order_rule_records(
            records=[
                (order, message, {"rule": True, **data})
                for _, order, message, data in self.cancelled
            ]
        )


def _cancel_under_rule(
    *,
    order: Order,
    compliance: OrderCompliance,
    lines: Sequence[OrderLine],
    day: dt.date,
    why: str,
    batch: RuleBatch | None = None,
) -> None:
    """Cancel the covered unshipped lines as of the end of `day` and owe the refund; within a
    batch, at the end of the batch together with the other orders' cancellations."""
    alone = batch is None
    cancellation = Cancellation(
        order_id=order.pk,
        quantities={line.pk: line.quantity_open for line in lines},
        reason=why,
        cause="mail_order_rule",
        at=end_of_store_day(day),
        details={"ship_by": day.isoformat()},
    )
    batch = batch or RuleBatch()
    batch.cancellations.append(cancellation)
    # Later decisions of the batch on these products wait for their refreshed ETAs.
    batch.products_to_refresh |= {line.product_id for line in lines}
    batch.cancelled.append(
        (compliance, order, f"Cancelled under the Mail Order Rule: {why}", {"day": day.isoformat()})
    )
    if alone:
        lines_cancel_batch(cancellations=batch.cancellations)
        batch.settle()
