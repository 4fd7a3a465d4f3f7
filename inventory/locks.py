"""The only place inventory rows are locked.

Every write path locks Stock rows first, in primary-key order, and only then anything else
(orders, lines). A product's Stock row is the mutex for that product's order lines too: a
line's quantities change only while its product's Stock row is locked.
"""

from __future__ import annotations

from collections.abc import Iterable

from .models import Stock


def lock_stocks(*, product_ids: Iterable[int]) -> dict[int, Stock]:
    """Lock the Stock rows of these products (in pk order) and return them by product id."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = Stock.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
    return {stock.pk: stock for stock in rows}


def lock_stock(*, product_id: int) -> Stock:
    return lock_stocks(product_ids=[product_id])[product_id]
