"""Row locks for orders, always taken after the Stock locks (see inventory/locks.py)."""

from __future__ import annotations

from collections.abc import Iterable

from .models import GoodwillRule, Order


def lock_order(*, order_id: int) -> Order:
    # NO KEY UPDATE: another transaction inserting a row that references this order (a
    # timeline event, a refund) takes KEY SHARE on it; a plain FOR UPDATE would block that
    # and deadlock two cancellations that hand units to each other's orders.
    return Order.objects.select_for_update(no_key=True, of=("self",)).get(pk=order_id)


def lock_orders(*, order_ids: Iterable[int]) -> dict[int, Order]:
    """Lock several orders (NO KEY UPDATE, in id order) in one statement, by id."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    rows = (
        Order.objects.select_for_update(no_key=True, of=("self",)).filter(pk__in=ids).order_by("pk")
    )
    return {order.pk: order for order in rows}


def lock_goodwill_rules(*, active_only: bool = True) -> list[GoodwillRule]:
    """Lock the goodwill rules (in id order): one applier at a time spends a rule's budget."""
    rules = GoodwillRule.objects.select_for_update(of=("self",)).order_by("pk")
    return list(rules.filter(is_active=True) if active_only else rules)


def lock_goodwill_rule(*, rule_id: int) -> GoodwillRule:
    """Lock one goodwill rule, active or not: a grant by hand spends its budget in turn with
    goodwill_apply (which locks every active rule)."""
    return GoodwillRule.objects.select_for_update(of=("self",)).get(pk=rule_id)
