"""Row locks for orders, always taken after the Stock locks (see inventory/locks.py)."""

from __future__ import annotations

from .models import Order


def lock_order(*, order_id: int) -> Order:
    # NO KEY UPDATE: another transaction inserting a row that references this order (a
    # timeline event, a refund) takes KEY SHARE on it; a plain FOR UPDATE would block that
    # and deadlock two cancellations that hand units to each other's orders.
    return Order.objects.select_for_update(no_key=True, of=("self",)).get(pk=order_id)
