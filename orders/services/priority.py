"""Prioritising: a line or a whole order moves to the front of its products' queues."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from inventory.locks import lock_stocks

from ..locks import lock_order
from ..models import (
    Order,
    OrderEvent,
    OrderLine,
)
from ._common import _events_record, _required_reason, _user
from .allocation import _refresh_products_locked


def _prioritise_lines(*, order: Order, lines: Iterable[OrderLine], reason: str, actor: Any) -> None:
    lines = [line for line in lines if line.quantity_open > 0]
    if not lines:
        raise ValidationError(f"Order {order.number} has nothing left to prioritise.")
    stocks = lock_stocks(product_ids=[line.product_id for line in lines])
    lock_order(order_id=order.pk)
    now = timezone.now()
    OrderLine.objects.filter(pk__in=[line.pk for line in lines]).update(priority=1)
    _events_record(
        [
            OrderEvent(
                order=order,
                kind=OrderEvent.Kind.PRIORITISED,
                message=f"Prioritised: {reason}",
                data={"reason": reason, "lines": [line.pk for line in lines]},
                actor=_user(actor),
            )
        ]
    )
    _refresh_products_locked(stocks=stocks, now=now, actor=actor, reason="after prioritising")


@transaction.atomic
def line_prioritise(*, line: OrderLine, reason: str, actor: Any = None) -> OrderLine:
    """Move a line to the front of its product's queue (among prioritised lines, by age)."""
    reason = _required_reason(reason, what="Prioritising")
    _prioritise_lines(order=line.order, lines=[line], reason=reason, actor=actor)
    line.refresh_from_db()
    return line


@transaction.atomic
def order_prioritise(*, order: Order, reason: str, actor: Any = None) -> Order:
    """Prioritise every open line of an order and flag the order."""
    reason = _required_reason(reason, what="Prioritising")
    _prioritise_lines(order=order, lines=order.lines.all(), reason=reason, actor=actor)
    Order.objects.filter(pk=order.pk).update(is_priority=True)
    order.is_priority = True
    return order
