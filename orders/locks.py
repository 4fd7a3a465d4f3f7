"""Row locks for orders, always taken after the Stock locks (see inventory/locks.py)."""

from __future__ import annotations

from .models import Order


def lock_order(*, order_id: int) -> Order:
    return Order.objects.select_for_update(of=("self",)).get(pk=order_id)
