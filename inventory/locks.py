"""The only place inventory rows are locked.

Every write path locks Stock rows first, in primary-key order, and only then anything else
(orders, lines). A product's Stock row is the mutex for that product's order lines too: a
line's quantities change only while its product's Stock row is locked.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models.functions import Lower

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


def lock_stocks_by_sku(*, skus: Iterable[str]) -> dict[str, Stock]:
    """Lock the Stock rows of the products with these SKUs (case-insensitive, in pk order) and
    return them by lower-cased SKU, each with its product (and preferred supplier) read in the
    same statement: one round trip where a product lookup and then its lock took two."""
    wanted = sorted({sku.lower() for sku in skus})
    if not wanted:
        return {}
    rows = (
        Stock.objects.select_for_update(of=("self",))
        .select_related("product__preferred_supplier")
        .annotate(sku_lower=Lower("product__sku"))
        .filter(sku_lower__in=wanted)
        .order_by("pk")
    )
    return {stock.sku_lower: stock for stock in rows}
