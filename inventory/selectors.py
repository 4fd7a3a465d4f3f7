from __future__ import annotations

from django.db.models import F, QuerySet, Sum

from .models import Product, Stock, StockMovement


def product_list() -> QuerySet[Product]:
    """Products with their stock levels annotated (on_hand, allocated, available)."""
    return Product.objects.select_related("stock").annotate(
        on_hand=F("stock__on_hand"),
        allocated=F("stock__allocated"),
        available=F("stock__on_hand") - F("stock__allocated"),
    )


def product_ledger(*, product_id: int) -> QuerySet[StockMovement]:
    return StockMovement.objects.filter(product_id=product_id).select_related("created_by")


def stock_ledger_mismatches() -> list[tuple[int, str, int, int]]:
    """(product id, sku, on hand, ledger sum) for every product whose on hand ≠ its movements."""
    sums = dict(
        StockMovement.objects.values_list("product_id")
        .annotate(total=Sum("quantity"))
        .order_by()
        .values_list("product_id", "total")
    )
    return [
        (stock.pk, stock.product.sku, stock.on_hand, sums.get(stock.pk, 0))
        for stock in Stock.objects.select_related("product").order_by("pk")
        if stock.on_hand != sums.get(stock.pk, 0)
    ]


def products_without_stock() -> QuerySet[Product]:
    return Product.objects.filter(stock__isnull=True)
