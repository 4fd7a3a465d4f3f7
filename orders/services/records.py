"""Notes on an order's timeline: the rule's decisions and an unreachable customer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..locks import lock_order
from ..models import (
    Order,
    OrderEvent,
)
from ._common import _events_record, _user


@transaction.atomic
def order_flag_unreachable(*, order_id: int, reason: str) -> Order:
    """Flag that the customer cannot be reached by email (a hard bounce or a complaint)."""
    order = lock_order(order_id=order_id)
    if order.customer_unreachable_at is None:
        order.customer_unreachable_at = timezone.now()
        order.customer_unreachable_reason = reason[:200]
        order.save(update_fields=["customer_unreachable_at", "customer_unreachable_reason"])
        _events_record(
            [
                OrderEvent(
                    order=order,
                    kind=OrderEvent.Kind.NOTE,
                    message=f"Customer unreachable by email: {reason}"[:300],
                    data={"unreachable": reason},
                )
            ]
        )
    return order


@transaction.atomic
def order_rule_record(
    *, order: Order, message: str, data: dict[str, Any], actor: Any = None
) -> OrderEvent:
    """Record a Mail Order Rule decision (deadline, notice, consent) in the order's timeline."""
    return order_rule_records(records=[(order, message, data)], actor=actor)[0]


def order_rule_records(
    *, records: Sequence[tuple[Order, str, dict[str, Any]]], actor: Any = None
) -> list[OrderEvent]:
    """Record the rule's decisions on many orders (order, message, data) in one insert."""
    return _events_record(
        OrderEvent(
            order=order,
            kind=OrderEvent.Kind.MAIL_ORDER_RULE,
            message=message[:300],
            data=data,
            actor=_user(actor),
        )
        for order, message, data in records
    )
