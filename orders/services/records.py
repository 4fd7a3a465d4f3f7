"""Notes on an order's timeline: the rule's decisions and an unreachable customer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import DateField, Expression, F, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..locks import lock_order
from ..models import (
    SHIP_BY_NONE,
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


def orders_ship_by_store(*, order_ids: Iterable[int], ship_by: Subquery | Expression) -> int:
    """Store the Mail Order Rule's ship-by date on these orders where it changed, in one
    UPDATE: `ship_by` computes it for an order (a subquery over OuterRef("pk")), NULL when
    the rule holds it to none. Returns how many orders changed. Called in the transaction
    that changed the rule's records, so the stored date never disagrees with them."""
    ids = sorted(set(order_ids))
    if not ids:
        return 0
    date = DateField()
    return (
        Order.objects.filter(pk__in=ids)
        .annotate(
            stored_key=Coalesce(F("ship_by"), Value(SHIP_BY_NONE), output_field=date),
            ship_by_key=Coalesce(ship_by, Value(SHIP_BY_NONE), output_field=date),
        )
        .exclude(stored_key=F("ship_by_key"))
        .update(ship_by=ship_by)
    )
